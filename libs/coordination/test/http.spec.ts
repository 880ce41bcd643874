import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  Body,
  Controller,
  Get,
  Injectable,
  Param,
  Post,
  type INestApplication,
} from '@nestjs/common';
import {
  ClientProxyFactory,
  MessagePattern,
  Payload,
  Transport,
  type ClientProxy,
} from '@nestjs/microservices';
import { IsInt, IsString, Min, MinLength } from 'class-validator';
import { lastValueFrom } from 'rxjs';
import request from 'supertest';
import { z } from 'zod';
import { KeelMetrics } from '@keel/core';
import {
  Bulkhead,
  CircuitBreaker,
  CircuitBreakerRegistry,
  CircuitOpenError,
  Fallback,
  Retry,
  Timed,
  Timeout,
  TimeoutError,
  Validate,
  ValidationFailedError,
  timeoutSignal,
} from '@keel/coordination';
import { freePort } from '../../../test/support/fault-servers.js';
import { barrier, bootApp, pause, type Barrier } from './support.js';

class CreateOrderDto {
  @IsString()
  @MinLength(3)
  customer!: string;

  @IsInt()
  @Min(1)
  qty!: number;
}

/** Holds `busy` inside its bulkhead slot until released; `entered` resolves once a call is in. */
let gate: { release: () => void; promise: Promise<void>; entered: Barrier } | undefined;
function newGate() {
  let release!: () => void;
  const promise = new Promise<void>((r) => (release = r));
  gate = { release, promise, entered: barrier() };
  return gate;
}

@Controller('orders')
class OrdersController {
  flakyCalls = 0;
  abortedBySignal = 0;

  @Post()
  @Validate()
  create(@Body() dto: CreateOrderDto) {
    return { received: dto instanceof CreateOrderDto, qty: dto.qty };
  }

  @Timed()
  @Get('flaky')
  @Retry({ maxAttempts: 3, delayMs: 1 })
  flaky() {
    this.flakyCalls++;
    if (this.flakyCalls % 3 !== 0) throw new Error('transient');
    return { calls: this.flakyCalls };
  }

  @Get('down')
  @CircuitBreaker({ name: 'http-down', consecutiveFailures: 2, openDurationMs: 60_000 })
  down(): never {
    throw new Error('dependency down');
  }

  @Get('slow')
  @Timeout(30)
  async slow() {
    try {
      await pause(10_000, timeoutSignal());
    } catch (error) {
      this.abortedBySignal++;
      throw error;
    }
  }

  @Get('busy/:id')
  @Bulkhead({ maxConcurrent: 1 })
  async busy(@Param('id') id: string) {
    gate?.entered.resolve();
    await gate?.promise;
    return { id };
  }

  @Get('quote')
  @Fallback({ price: 0, stale: true })
  @Retry({ maxAttempts: 2, delayMs: 1 })
  @Timeout(20)
  async quote() {
    await pause(1_000, timeoutSignal());
    return { price: 42 };
  }

  @MessagePattern('orders.create')
  @Validate(z.object({ customer: z.string().min(3), qty: z.number().int().min(1) }))
  createRpc(@Payload() payload: { customer: string; qty: number }) {
    return { ok: true, qty: payload.qty };
  }

  rpcCalls = 0;

  @MessagePattern('orders.flaky')
  @Timed()
  @Retry({ maxAttempts: 3, delayMs: 1 })
  @CircuitBreaker({ name: 'rpc-flaky', consecutiveFailures: 10 })
  @Timeout(1_000)
  @Bulkhead({ maxConcurrent: 2 })
  async flakyRpc() {
    this.rpcCalls++;
    if (this.rpcCalls % 3 !== 0) throw new Error('transient');
    return { calls: this.rpcCalls };
  }

  @MessagePattern('orders.degraded')
  @Fallback({ degraded: true })
  @CircuitBreaker({ name: 'rpc-degraded', consecutiveFailures: 1 })
  async degradedRpc(): Promise<never> {
    throw new Error('backend down');
  }

  @MessagePattern('orders.open')
  @CircuitBreaker({ name: 'rpc-open', consecutiveFailures: 1, openDurationMs: 60_000 })
  async openRpc(): Promise<never> {
    throw new Error('backend down');
  }

  @MessagePattern('orders.slow')
  @Timeout(20)
  async slowRpc() {
    await pause(10_000, timeoutSignal());
  }
}

@Injectable()
class PricingService {
  attempts = 0;

  @Fallback('cached')
  @CircuitBreaker({
    name: 'pricing',
    minimumCalls: 2,
    windowSize: 4,
    failureRateThreshold: 50,
    openDurationMs: 60_000,
  })
  @Retry({ maxAttempts: 3, delayMs: 1 })
  @Validate({ params: { sku: z.string().regex(/^[A-Z]{3}$/) } })
  @Timeout(500)
  async price(sku: string, fail: boolean) {
    this.attempts++;
    if (fail) throw new Error('pricing backend down');
    return { sku, price: 10 };
  }

  cached(sku: string, _fail: boolean, error: unknown) {
    return { sku, price: 9, cached: true, because: (error as Error).name };
  }
}

describe('coordination decorators in a Nest application', () => {
  let app: INestApplication | undefined;
  let client: ClientProxy | undefined;
  afterEach(async () => {
    gate?.release();
    gate = undefined;
    await client?.close();
    client = undefined;
    await app?.close();
    app = undefined;
  });

  const start = async () => {
    app = await bootApp({ controllers: [OrdersController], providers: [PricingService] });
    return app;
  };

  it('HTTP: @Validate → 400 with every problem; the handler gets the transformed DTO', async () => {
    const server = (await start()).getHttpServer();
    const bad = await request(server).post('/orders').send({ customer: 'x', qty: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ statusCode: 400, code: 'KEEL_VALIDATION_FAILED' });
    expect(bad.body.problems.map((p: { path: string }) => p.path).sort()).toEqual([
      'dto.customer',
      'dto.qty',
    ]);
    const good = await request(server).post('/orders').send({ customer: 'acme', qty: 2 });
    expect(good.status).toBe(201);
    expect(good.body).toEqual({ received: true, qty: 2 });
  });

  it('HTTP: @Retry re-invokes the handler', async () => {
    const a = await start();
    const res = await request(a.getHttpServer()).get('/orders/flaky');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ calls: 3 });
    const metrics = await a.get(KeelMetrics).render();
    expect(metrics).toMatch(
      /keel_retry_attempts_total\{[^}]*name="OrdersController.flaky"[^}]*\} 2/,
    );
    expect(metrics).toMatch(
      /keel_method_duration_seconds_count\{[^}]*name="OrdersController.flaky"[^}]*outcome="success"[^}]*\} 1/,
    );
  });

  it('HTTP: an open breaker → 503 with Retry-After', async () => {
    const a = await start();
    const server = a.getHttpServer();
    expect((await request(server).get('/orders/down')).status).toBe(500);
    expect((await request(server).get('/orders/down')).status).toBe(500);
    const rejected = await request(server).get('/orders/down');
    expect(rejected.status).toBe(503);
    expect(rejected.body.code).toBe('KEEL_CIRCUIT_OPEN');
    expect(Number(rejected.headers['retry-after'])).toBeGreaterThan(50);
    expect(a.get(CircuitBreakerRegistry).get('http-down')?.state).toBe('open');
  });

  it('HTTP: @Timeout → 504, and the cooperative signal is aborted', async () => {
    const a = await start();
    const res = await request(a.getHttpServer()).get('/orders/slow');
    expect(res.status).toBe(504);
    expect(res.body.code).toBe('KEEL_TIMEOUT');
    expect(a.get(OrdersController).abortedBySignal).toBe(1);
  });

  it('HTTP: a full bulkhead → 503 with Retry-After', async () => {
    const server = (await start()).getHttpServer();
    const { entered } = newGate();
    const first = request(server)
      .get('/orders/busy/1')
      .then((r) => r);
    await entered.promise; // the first request holds the only slot
    const second = await request(server).get('/orders/busy/2');
    expect(second.status).toBe(503);
    expect(second.body.code).toBe('KEEL_BULKHEAD_REJECTED');
    expect(second.headers['retry-after']).toBeDefined();
    gate!.release();
    expect((await first).status).toBe(200);
  });

  it('HTTP: fallback wraps retry and timeout', async () => {
    const res = await request((await start()).getHttpServer()).get('/orders/quote');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ price: 0, stale: true });
  });

  it('microservice handlers: RPC errors carry the status, code and problems', async () => {
    const a = await start();
    const port = await freePort();
    // A hybrid application shares its global filters with the microservice only when asked to.
    a.connectMicroservice(
      { transport: Transport.TCP, options: { host: '127.0.0.1', port } },
      { inheritAppConfig: true },
    );
    await a.startAllMicroservices();
    client = ClientProxyFactory.create({
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port },
    });
    await expect(
      lastValueFrom(client.send('orders.create', { customer: 'acme', qty: 1 })),
    ).resolves.toEqual({ ok: true, qty: 1 });
    const error = await lastValueFrom(
      client.send('orders.create', { customer: 'x', qty: 0 }),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 400, code: 'KEEL_VALIDATION_FAILED' });
    expect((error as { problems: { path: string }[] }).problems.map((p) => p.path).sort()).toEqual([
      'payload.customer',
      'payload.qty',
    ]);
    const timeout = await lastValueFrom(client.send('orders.slow', {})).catch((e: unknown) => e);
    expect(timeout).toMatchObject({ statusCode: 504, code: 'KEEL_TIMEOUT' });
    // The full stack on a message handler: retry re-invokes it, fallback answers, breaker rejects.
    await expect(lastValueFrom(client.send('orders.flaky', {}))).resolves.toEqual({ calls: 3 });
    await expect(lastValueFrom(client.send('orders.degraded', {}))).resolves.toEqual({
      degraded: true,
    });
    await expect(lastValueFrom(client.send('orders.open', {}))).rejects.toMatchObject({
      message: 'Internal server error',
    });
    await expect(lastValueFrom(client.send('orders.open', {}))).rejects.toMatchObject({
      statusCode: 503,
      code: 'KEEL_CIRCUIT_OPEN',
    });
    expect(await a.get(KeelMetrics).render()).toMatch(
      /keel_method_duration_seconds_count\{[^}]*name="OrdersController.flakyRpc"[^}]*outcome="success"[^}]*\} 1/,
    );
  });

  it('provider methods: validate, retry, breaker and fallback compose', async () => {
    const a = await start();
    const pricing = a.get(PricingService);
    await expect(pricing.price('ABC', false)).resolves.toEqual({ sku: 'ABC', price: 10 });
    await expect(pricing.price('bad', false)).rejects.toBeInstanceOf(ValidationFailedError);
    expect(pricing.attempts).toBe(1);
    pricing.attempts = 0;
    // The first attempt fails and opens the breaker (1 failure of 2 calls = 50 %); the retry is
    // refused, a CircuitOpenError is never retried, and the fallback turns it into a value.
    await expect(pricing.price('ABC', true)).resolves.toMatchObject({
      cached: true,
      because: 'CircuitOpenError',
    });
    expect(pricing.attempts).toBe(1);
    await expect(pricing.price('ABC', false)).resolves.toMatchObject({
      cached: true,
      because: 'CircuitOpenError',
    });
    expect(pricing.attempts).toBe(1);
    expect(a.get(CircuitBreakerRegistry).get('pricing')?.state).toBe('open');
  });

  it('errors are Keel errors that survive as instances', async () => {
    const a = await start();
    const ctl = a.get(OrdersController);
    await expect(ctl.slow()).rejects.toBeInstanceOf(TimeoutError);
    expect(() => ctl.down()).toThrow('dependency down');
    expect(() => ctl.down()).toThrow('dependency down');
    expect(() => ctl.down()).toThrow(CircuitOpenError);
  });
});
