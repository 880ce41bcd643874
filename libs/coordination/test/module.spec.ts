import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Injectable, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  KeelConfigError,
  KeelCoreModule,
  KeelDecoratorError,
  KeelMetrics,
  loadKeelConfig,
} from '@keel/core';
import {
  CircuitBreaker,
  CircuitBreakerRegistry,
  CoordinationHealthIndicator,
  CoordinationModule,
  Retry,
  Timeout,
  Validate,
  ValidationFailedError,
  type RetryEvent,
} from '@keel/coordination';
import { bootApp } from './support.js';

const retries: RetryEvent[] = [];

@Injectable()
class Payments {
  attempts = 0;

  @Retry('payments')
  @CircuitBreaker('payments')
  async charge(fail: boolean) {
    this.attempts++;
    if (fail) throw new Error('gateway down');
    return 'charged';
  }

  @Retry()
  async usesDefault() {
    this.attempts++;
    throw new Error('always');
  }

  @CircuitBreaker('payments')
  async refund() {
    return 'refunded';
  }

  @Validate('createOrder')
  async create(order: { qty: number; note?: string }) {
    return order;
  }

  @Timeout()
  async defaultTimeout() {
    return 'in time';
  }
}

describe('CoordinationModule configuration', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    retries.length = 0;
    await app?.close();
    app = undefined;
  });

  const policies = {
    default: {
      retry: { maxAttempts: 2, delayMs: 1, onRetry: (e: RetryEvent) => retries.push(e) },
      timeout: 1_000,
    },
    payments: {
      retry: { maxAttempts: 4 },
      circuitBreaker: { consecutiveFailures: 20, critical: true },
    },
  };
  const validation = {
    createOrder: {
      type: 'object',
      required: ['qty'],
      properties: { qty: { type: 'integer', minimum: 1 }, note: { type: 'string', default: '' } },
    },
  };

  it('named policies extend the default; methods naming one breaker share it', async () => {
    app = await bootApp({ providers: [Payments] }, { coordination: { policies, validation } });
    const payments = app.get(Payments);
    await expect(payments.charge(true)).rejects.toThrow('gateway down');
    expect(payments.attempts).toBe(4); // payments.retry.maxAttempts
    expect(retries.map((r) => r.attempt)).toEqual([1, 2, 3]); // onRetry from the default
    expect(retries[0]).toMatchObject({ method: 'Payments.charge', delayMs: 1 });
    payments.attempts = 0;
    await expect(payments.usesDefault()).rejects.toThrow('always');
    expect(payments.attempts).toBe(2); // default.retry.maxAttempts
    const registry = app.get(CircuitBreakerRegistry);
    expect(registry.list().map((b) => b.name)).toEqual(['payments']);
    expect(registry.get('payments')?.counters.failures).toBe(4);
    await expect(payments.refund()).resolves.toBe('refunded');
    expect(registry.get('payments')?.counters.successes).toBe(1);
    await expect(payments.defaultTimeout()).resolves.toBe('in time');
  });

  it('named JSON Schema rule sets validate, apply defaults and coerce', async () => {
    app = await bootApp({ providers: [Payments] }, { coordination: { policies, validation } });
    const payments = app.get(Payments);
    await expect(payments.create({ qty: '3' as unknown as number })).resolves.toEqual({
      qty: 3,
      note: '',
    });
    const error = await payments.create({ qty: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationFailedError);
    expect((error as ValidationFailedError).problems).toEqual([
      { path: 'order.qty', message: 'must be >= 1' },
    ]);
  });

  it('forRootAsync takes options from a factory', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        KeelCoreModule.forRoot({ config: loadKeelConfig({ env: {} }), redis: false }),
        CoordinationModule.forRootAsync({ useFactory: async () => ({ policies, validation }) }),
      ],
      providers: [Payments],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    const payments = app.get(Payments);
    await expect(payments.charge(true)).rejects.toThrow('gateway down');
    expect(payments.attempts).toBe(4);
  });

  it('reads policies and rule sets from the YAML file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keel-coordination-'));
    const file = join(dir, 'keel.yaml');
    writeFileSync(
      file,
      [
        'coordination:',
        '  policies:',
        '    default:',
        '      retry: { maxAttempts: 2, delayMs: 1 }',
        '      timeout: 500',
        '    payments:',
        '      retry: { maxAttempts: 3 }',
        '  validation:',
        '    createOrder: { type: object, required: [qty], properties: { qty: { type: integer } } }',
      ].join('\n'),
    );
    app = await bootApp(
      { providers: [Payments] },
      { core: { config: loadKeelConfig({ env: {}, file }) } },
    );
    const payments = app.get(Payments);
    await expect(payments.charge(true)).rejects.toThrow('gateway down');
    expect(payments.attempts).toBe(3);
    await expect(payments.create({} as { qty: number })).rejects.toBeInstanceOf(
      ValidationFailedError,
    );
  });

  it('an unknown named policy or rule set fails at startup, naming class and method', async () => {
    const boot = bootApp(
      { providers: [Payments] },
      { coordination: { policies: { default: { timeout: 100 } } } },
    );
    await expect(boot).rejects.toThrow(KeelDecoratorError);
    const message = String(
      await bootApp(
        { providers: [Payments] },
        { coordination: { policies: { default: { timeout: 100 } } } },
      ).catch((e: unknown) => (e as Error).message),
    );
    expect(message).toMatch(/Payments\.charge: @Retry\('payments'\) names an unknown policy/);
    expect(message).toMatch(
      /Payments\.create: @Validate\('createOrder'\) names an unknown rule set/,
    );
  });

  it('invalid inline options fail at startup', async () => {
    @Injectable()
    class Bad {
      @Retry({ maxAttempts: 0 })
      async run() {}
    }
    await expect(bootApp({ providers: [Bad] })).rejects.toThrow(
      /Bad\.run: @Retry options are invalid: maxAttempts/,
    );
  });

  it('invalid configuration fails with one line per problem', async () => {
    const error = await bootApp(
      { providers: [] },
      {
        coordination: {
          policies: {
            default: { retry: { maxAttempts: -1, backoff: 'sometimes' as 'constant' } },
            other: { circuitBreaker: { failureRateThreshold: 150 } },
          },
        },
      },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeelConfigError);
    expect((error as KeelConfigError).problems).toEqual([
      expect.stringMatching(
        /^CoordinationModule\.policies\.default\.retry\.maxAttempts \(forRoot\)/,
      ),
      expect.stringMatching(/^CoordinationModule\.policies\.default\.retry\.backoff \(forRoot\)/),
      expect.stringMatching(
        /^CoordinationModule\.policies\.other\.circuitBreaker\.failureRateThreshold \(forRoot\)/,
      ),
    ]);
  });

  it('health: up, degraded while a breaker is open, down for a critical one; metrics exported', async () => {
    @Injectable()
    class Deps {
      @CircuitBreaker({ name: 'search', consecutiveFailures: 1 })
      async search() {
        throw new Error('x');
      }
    }
    app = await bootApp(
      { providers: [Payments, Deps] },
      { coordination: { policies, validation } },
    );
    const health = app.get(CoordinationHealthIndicator);
    await expect(health.check()).resolves.toEqual({
      status: 'up',
      details: { breakers: { payments: 'closed', search: 'closed' } },
    });
    await expect(app.get(Deps).search()).rejects.toThrow('x');
    await expect(health.check()).resolves.toMatchObject({
      status: 'degraded',
      details: { breakers: { search: 'open' } },
    });
    await app.get(CircuitBreakerRegistry).isolate('payments');
    await expect(health.check()).resolves.toMatchObject({
      status: 'down',
      details: { breakers: { payments: 'isolated' } },
    });
    await expect(app.get(Deps).search()).rejects.toThrow(/Circuit breaker 'search' is open/);
    const metrics = await app.get(KeelMetrics).render();
    expect(metrics).toMatch(/keel_breaker_state\{[^}]*name="search"[^}]*\} 1/);
    expect(metrics).toMatch(/keel_breaker_state\{[^}]*name="payments"[^}]*\} 1/);
    expect(metrics).toMatch(
      /keel_breaker_calls_total\{[^}]*name="search"[^}]*outcome="failure"[^}]*\} 1/,
    );
    expect(metrics).toMatch(
      /keel_breaker_calls_total\{[^}]*name="search"[^}]*outcome="rejected"[^}]*\} 1/,
    );
    await app.get(CircuitBreakerRegistry).reset('payments');
    await expect(health.check()).resolves.toMatchObject({ status: 'degraded' });
  });
});
