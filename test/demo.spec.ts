import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { AuditIntegrityService, AuditQueryService, type AuditRecord } from '@keel/audit';
import { KeelConfigError } from '@keel/core';
import { createDemoApp } from '../apps/demo/src/app.js';
import { MemoryTransport, MessageTransport } from '@keel/messaging';
import { PAYMENTS_TOPIC } from '../apps/demo/src/payments/payments.gateway.js';
import { OrdersService } from '../apps/demo/src/orders/orders.service.js';
import { freePort, startRedisServer, type RedisServerHandle } from './support/fault-servers.js';
import { databaseUrl, kafkaBrokers, redisUrl } from './support/services.js';
import { waitFor } from './support/wait-for.js';

// Every close would otherwise wait out the registry's default 2 s drain; draining has its own
// tests (libs/registry/test: registry.app.spec.ts, multi-process.spec.ts).
const configDir = mkdtempSync(join(tmpdir(), 'keel-demo-'));
const configFile = join(configDir, 'keel.yaml');
// Each test file's demo keeps its audit trail in its own directory (a file store serves one
// process; jest runs files in parallel workers).
writeFileSync(
  configFile,
  `registry:\n  drainMs: 0\naudit:\n  store:\n    type: file\n    directory: ${join(configDir, 'audit')}\n`,
);
const EMBEDDED = { PORT: '0', KEEL_CONFIG: configFile };

describe('demo app', () => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  afterAll(() => rmSync(configDir, { recursive: true, force: true }));

  async function boot(env: Record<string, string>): Promise<INestApplication> {
    const created = await createDemoApp({
      env,
      logger: false,
      consumer: { maxWaitTimeMs: 100, sessionTimeoutMs: 6_000 },
    });
    app = created.app;
    await app.startAllMicroservices();
    await app.listen(0, '127.0.0.1');
    return app;
  }

  it('boots on embedded defaults and answers liveness and readiness', async () => {
    const server = (await boot(EMBEDDED)).getHttpServer();
    await request(server)
      .get('/health/live')
      .expect(200)
      .expect((res) => {
        expect(res.body.status).toBe('ok');
      });
    await request(server).get('/health/ready').expect(200);
  });

  it('records keel_method_duration_seconds for HTTP handlers and provider methods', async () => {
    const server = (await boot(EMBEDDED)).getHttpServer();
    const created = await request(server)
      .post('/orders')
      .send({ customerId: 'c-1', amountCents: 1250 })
      .set('x-correlation-id', 'corr-42')
      .expect(201);
    expect(created.headers['x-correlation-id']).toBe('corr-42');
    expect(created.body.correlationId).toBe('corr-42');
    await request(server).get(`/orders/${created.body.id}`).expect(200);
    await request(server).get('/orders/missing').expect(404);
    const metrics = await request(server).get('/metrics').expect(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.text).toMatch(
      /keel_method_duration_seconds_count\{service="orders",name="OrdersController\.create",outcome="success"\} 1/,
    );
    expect(metrics.text).toMatch(
      /keel_method_duration_seconds_count\{service="orders",name="OrdersService\.create",outcome="success"\} 1/,
    );
    expect(metrics.text).toMatch(
      /keel_method_duration_seconds_count\{service="orders",name="OrdersController\.find",outcome="http_404"\} 1/,
    );
  });

  it('validates input with @Validate and answers 400 listing every problem', async () => {
    const server = (await boot(EMBEDDED)).getHttpServer();
    const res = await request(server).post('/orders').send({ amountCents: -5 }).expect(400);
    const paths = (res.body.problems as { path: string }[]).map((p) => p.path).sort();
    expect(paths).toEqual(['body.amountCents', 'body.customerId']);
  });

  it('pays through retry, shared breaker and rate limit (200); a refused charge is 502, then the open breaker 503', async () => {
    const server = (await boot(EMBEDDED)).getHttpServer();
    const order = async () =>
      (
        await request(server)
          .post('/orders')
          .send({ customerId: 'c', amountCents: 100 })
          .expect(201)
      ).body as { id: string };

    const first = await order();
    // GET /orders/:id is cached: the second read is an in-process hit; paying evicts it.
    await request(server).get(`/orders/${first.id}`).expect(200);
    const cached = await request(server).get(`/orders/${first.id}`).expect(200);
    expect(cached.body.status).toBe('new');
    const paid = await request(server).post(`/orders/${first.id}/pay`).expect(200);
    expect(paid.body.status).toBe('paid');
    const read = await request(server).get(`/orders/${first.id}`).expect(200);
    expect(read.body.status).toBe('paid');
    const scraped = (await request(server).get('/metrics').expect(200)).text;
    expect(scraped).toMatch(
      /keel_cache_requests_total\{[^}]*name="order",result="hit_local"[^}]*\} 1/,
    );
    expect(scraped).toMatch(/keel_cache_requests_total\{[^}]*name="order",result="miss"[^}]*\} 2/);
    // The charge went through the fleet-wide `psp` rate limit.
    expect(scraped).toMatch(
      /keel_rate_limit_calls_total\{[^}]*name="psp",outcome="allowed"[^}]*\} 1/,
    );

    await request(server).put('/demo/payments-gateway').send({ mode: 'failing' }).expect(200);
    // A refused charge is the answer (after the retries), never a 2xx.
    const refused = await request(server)
      .post(`/orders/${(await order()).id}/pay`)
      .expect(502);
    expect(refused.body).toMatchObject({ code: 'PAYMENT_PROVIDER_FAILED' });
    // Enough failed attempts open the breaker; later calls fail fast with its code.
    const open = await waitFor(
      async () => {
        const res = await request(server).post(`/orders/${(await order()).id}/pay`);
        expect([502, 503]).toContain(res.status);
        return res.status === 503 ? res : undefined;
      },
      { timeoutMs: 20_000, message: 'the payments breaker to open' },
    );
    expect(open.body).toMatchObject({ code: 'KEEL_CIRCUIT_OPEN' });
    expect(Number(open.headers['retry-after'])).toBeGreaterThan(0);
    const breakers = (await request(server).get('/demo/breakers').expect(200)).body as {
      name: string;
      state: string;
    }[];
    expect(breakers.find((b) => b.name === 'payments')?.state).toBe('open');
    const metrics = await request(server).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/keel_breaker_state\{[^}]*name="payments"[^}]*\} 1/);
  });

  it('answers 202 payment-pending when the charge times out, and settles the order when the provider does', async () => {
    const demo = await boot(EMBEDDED);
    const server = demo.getHttpServer();
    const { body: created } = await request(server)
      .post('/orders')
      .send({ customerId: 'c-slow', amountCents: 100 })
      .expect(201);
    // Slower than every attempt of the payments policy (3 × 1 s): the outcome stays unknown.
    // (A charge that lands between attempts is found paid by the next one, and answers 200.)
    await request(server)
      .put('/demo/payments-gateway')
      .send({ mode: 'slow', slowMs: 5_000 })
      .expect(200);
    const pending = await request(server).post(`/orders/${created.id}/pay`).expect(202);
    expect(pending.body).toMatchObject({ id: created.id, status: 'payment-pending' });
    // The slow charge went through in the end: its payment.settled settles the order.
    await waitFor(
      () => demo.get(OrdersService).find(created.id as string).settledAt !== undefined,
      {
        timeoutMs: 15_000,
        message: 'the slow charge to settle',
      },
    );
  });

  /** The demo's audit events about these orders, once all are committed. */
  async function auditedOrders(target: INestApplication, ids: readonly string[]) {
    const queries = target.get(AuditQueryService);
    return waitFor(
      async () => {
        const found: AuditRecord[] = [];
        for await (const record of queries.records({ resourceType: 'order' }))
          if (ids.includes(record.resourceId ?? '')) found.push(record);
        return found.filter((r) => r.action === 'order.create').length >= ids.length
          ? found
          : undefined;
      },
      { timeoutMs: 10_000, message: 'audit events of the accepted orders' },
    );
  }

  it('records one audit event for every order it accepts, and none for a rejected one', async () => {
    const demo = await boot(EMBEDDED);
    const server = demo.getHttpServer();
    const ids: string[] = [];
    for (const customerId of ['c-1', 'c-2', 'c-3']) {
      const res = await request(server)
        .post('/orders')
        .set('x-correlation-id', `corr-${customerId}`)
        .send({ customerId, amountCents: 500 })
        .expect(201);
      ids.push(res.body.id as string);
    }
    await request(server).post('/orders').send({ customerId: '', amountCents: -1 }).expect(400);
    await request(server).get(`/orders/${ids[0]}`).expect(200);
    const events = await auditedOrders(demo, ids);
    const created = events.filter((e) => e.action === 'order.create');
    expect(created.map((e) => [e.resourceId, e.subject, e.correlationId, e.tags])).toEqual(
      ids.map((id, i) => [id, `c-${i + 1}`, `corr-c-${i + 1}`, ['sox']]),
    );
    expect(events.filter((e) => e.action === 'order.read').map((e) => e.resourceId)).toEqual([
      ids[0],
    ]);
    const rejected = await demo
      .get(AuditQueryService)
      .query({ action: 'order.create', subject: '' });
    expect(rejected.items).toEqual([]);
    expect((await demo.get(AuditIntegrityService).verify()).ok).toBe(true);
  });

  it('registers itself in the registry once listening', async () => {
    const demo = await boot({ ...EMBEDDED, KEEL_SERVICE_NAME: 'orders' });
    const server = demo.getHttpServer();
    const port = (server.address() as { port: number }).port;
    const instances = await waitFor(
      async () => {
        const list = (await request(server).get('/demo/instances').expect(200)).body as {
          address: { port: number };
        }[];
        return list.length > 0 ? list : undefined;
      },
      { message: 'the demo to register itself' },
    );
    expect(instances[0].address.port).toBe(port);
  });

  it('fails startup with one readable line per bad setting', async () => {
    const attempt = createDemoApp({
      env: { PORT: 'eighty', REDIS_URL: 'localhost:6379', KEEL_METRICS_DEFAULT: 'maybe' },
      logger: false,
    });
    await expect(attempt).rejects.toBeInstanceOf(KeelConfigError);
    await expect(attempt).rejects.toThrow(/3 problems/);
    // A module's own variable is validated by the module, once core's configuration is valid.
    const health = createDemoApp({
      env: { ...EMBEDDED, KEEL_HEALTH_TIMEOUT_MS: '-1' },
      logger: false,
    });
    await expect(health).rejects.toBeInstanceOf(KeelConfigError);
    await expect(health).rejects.toThrow(
      /KEEL_HEALTH_TIMEOUT_MS: must be a whole number from 10 to 60000 \(got '-1'\)/,
    );
  });

  it('exits with the problems listed when started from the command line with bad config', async () => {
    const main = new URL('../dist/apps/demo/src/main.js', import.meta.url);
    expect(existsSync(main)).toBe(true);
    const child = spawn(process.execPath, [main.pathname], {
      env: { PATH: process.env.PATH, PORT: 'eighty', KEEL_SERVCE_NAME: 'typo' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('Invalid Keel configuration (2 problems):');
    expect(stderr).toMatch(
      /^ {2}- PORT: must be a whole number from 0 to 65535 \(got 'eighty'\)$/m,
    );
    expect(stderr).toMatch(/^ {2}- KEEL_SERVCE_NAME: unknown Keel variable/m);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  /** Runs the built demo (`npm start`'s program) with only `env`; resolves once it exits. */
  async function runMain(
    env: Record<string, string>,
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const main = new URL('../dist/apps/demo/src/main.js', import.meta.url);
    expect(existsSync(main)).toBe(true);
    const child = spawn(process.execPath, [main.pathname], {
      env: { PATH: process.env.PATH, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    return { code, stdout, stderr };
  }

  it('exits with one line naming the database when DATABASE_URL points at a closed port', async () => {
    const port = await freePort();
    const password = 'hunter2-secret';
    const { code, stdout, stderr } = await runMain({
      PORT: '0',
      DATABASE_URL: `postgres://app:${password}@127.0.0.1:${port}/orders`,
    });
    expect(code).toBe(1);
    expect(stderr.split('\n').filter(Boolean)).toEqual([
      `orders: cannot connect to PostgreSQL at 127.0.0.1:${port}/orders (DATABASE_URL): ` +
        `connect ECONNREFUSED 127.0.0.1:${port}; is PostgreSQL running and listening there?`,
    ]);
    expect(stdout + stderr).not.toContain(password);
    // Nest never started: the database is checked before the application is built.
    expect(stdout).not.toContain('Starting Nest application');
  });

  it('exits with one line when the database accepts connections but never answers', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const { code, stderr } = await runMain({
        PORT: '0',
        DATABASE_URL: `postgres://app:hunter2-secret@127.0.0.1:${port}/orders`,
      });
      expect(code).toBe(1);
      expect(stderr.split('\n').filter(Boolean)).toEqual([
        `orders: cannot connect to PostgreSQL at 127.0.0.1:${port}/orders (DATABASE_URL): ` +
          'no answer within 5 s; is the host reachable from here?',
      ]);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("exits with one line, without the password, when PostgreSQL refuses the URL's role", async () => {
    const url = new URL(databaseUrl());
    url.username = 'no_such_role';
    url.password = 'hunter2-secret';
    const { code, stdout, stderr } = await runMain({ PORT: '0', DATABASE_URL: url.toString() });
    expect(code).toBe(1);
    expect(stderr.split('\n').filter(Boolean)).toEqual([
      `orders: cannot connect to PostgreSQL at ${url.hostname}:${url.port || '5432'}${url.pathname} ` +
        '(DATABASE_URL): role "no_such_role" does not exist; check the user name in the URL',
    ]);
    expect(stdout + stderr).not.toContain('hunter2-secret');
  });

  describe('with real Redis and PostgreSQL', () => {
    let redis: RedisServerHandle;
    beforeAll(async () => {
      redis = await startRedisServer();
    });
    afterAll(async () => {
      await redis.stop();
    });

    it('is ready with both up, and 503 naming Redis when its Redis stops', async () => {
      const server = (
        await boot({ ...EMBEDDED, REDIS_URL: redis.url, DATABASE_URL: databaseUrl() })
      ).getHttpServer();
      const ready = await request(server).get('/health/ready').expect(200);
      expect(ready.body.details.redis).toMatchObject({
        status: 'up',
        target: `127.0.0.1:${redis.port}`,
      });
      expect(ready.body.details.database).toMatchObject({ status: 'up', type: 'postgres' });

      await redis.stop();
      const down = await waitFor(
        async () => {
          const res = await request(server).get('/health/ready');
          return res.status === 503 ? res : undefined;
        },
        { timeoutMs: 20_000, message: 'readiness to turn 503' },
      );
      expect(down.body.status).toBe('error');
      expect(down.body.error.redis.status).toBe('down');
      expect(typeof down.body.error.redis.message).toBe('string');
      expect(down.body.details.database.status).toBe('up');
      // Liveness does not depend on Redis.
      await request(server).get('/health/live').expect(200);

      await redis.start();
      await waitFor(async () => (await request(server).get('/health/ready')).status === 200, {
        timeoutMs: 20_000,
        message: 'readiness to recover after Redis restarts',
      });
    });

    it('records the audit trail in PostgreSQL through its own DataSource', async () => {
      const demo = await boot({ ...EMBEDDED, REDIS_URL: redis.url, DATABASE_URL: databaseUrl() });
      const res = await request(demo.getHttpServer())
        .post('/orders')
        .send({ customerId: 'c-pg', amountCents: 700 })
        .expect(201);
      const [event] = await auditedOrders(demo, [res.body.id as string]);
      expect(event).toMatchObject({ action: 'order.create', subject: 'c-pg', service: 'orders' });
      const ready = await request(demo.getHttpServer()).get('/health/ready').expect(200);
      expect(ready.body.details.audit).toMatchObject({ status: 'up', store: 'postgres' });
    });

    it('never shows credentials in health output', async () => {
      const pass = 'hunter2-secret';
      const url = new URL(redisUrl());
      url.password = pass;
      // The shared Redis has no password: AUTH fails, so readiness is 503; the body must still
      // not leak the password.
      const created = await createDemoApp({
        env: { ...EMBEDDED, REDIS_URL: url.toString() },
        logger: false,
      });
      app = created.app;
      await app.listen(0, '127.0.0.1');
      const res = await request(app.getHttpServer()).get('/health/ready');
      // The Redis check did report (so there was something to leak), naming host and port only.
      expect(res.body.details.redis).toMatchObject({ target: `127.0.0.1:${url.port || '6379'}` });
      expect(JSON.stringify(res.body)).not.toContain(pass);
      expect(JSON.stringify(res.body)).not.toContain('redis://');
    });
  });

  it('publishes order.created, and applies payment.settled once however often it is delivered', async () => {
    const demo = await boot(EMBEDDED);
    const server = demo.getHttpServer();
    const orders = demo.get(OrdersService);
    const memory = demo.get<MemoryTransport>(MessageTransport);
    const { body: order } = await request(server)
      .post('/orders')
      .set('x-correlation-id', 'demo-corr-1')
      .send({ customerId: 'c-7', amountCents: 250 })
      .expect(201);
    const created = await waitFor(() =>
      orders.received.find(
        (r) => (r.event as { subject?: string }).subject === `order/${order.id}`,
      ),
    );
    expect(created.correlationId).toBe('demo-corr-1');
    expect(created.event).toMatchObject({ type: 'order.created', data: { id: order.id } });
    await request(server).post(`/orders/${order.id}/pay`).expect(200);
    await waitFor(() => orders.find(order.id).settledAt !== undefined);
    // The provider's event delivered again (a redelivery, a replay): not applied twice.
    const settled = memory.records(PAYMENTS_TOPIC).find((r) => r.key === order.id)!;
    await memory.send(PAYMENTS_TOPIC, [
      { key: settled.key, value: settled.value, headers: settled.headers },
    ]);
    const skipped = async () =>
      /keel_messaging_duplicates_skipped_total\{[^}]*\} (\d+)/.exec(
        (await request(server).get('/metrics').expect(200)).text,
      )?.[1];
    await waitFor(async () => (await skipped()) === '1');
    expect(orders.settlements).toBe(1);
  });

  describe('with Kafka', () => {
    it('carries the request’s correlation id through order.created on Kafka, and settles the order once', async () => {
      const demo = await boot({
        ...EMBEDDED,
        KAFKA_BROKERS: kafkaBrokers().join(','),
        KEEL_SERVICE_NAME: `orders-${Date.now()}`,
      });
      const server = demo.getHttpServer();
      const orders = demo.get(OrdersService);
      // The consumer group joins in a few seconds; orders created before that are read from
      // the newest offset on, so create them until one comes back.
      const received = await waitFor(
        async () => {
          const { body } = await request(server)
            .post('/orders')
            .set('x-correlation-id', 'kafka-corr')
            .send({ customerId: 'c-k', amountCents: 100 })
            .expect(201);
          await new Promise((resolve) => setTimeout(resolve, 300));
          return orders.received.find(
            (r) => (r.event as { subject?: string }).subject === `order/${body.id}`,
          );
        },
        { timeoutMs: 30_000, intervalMs: 200, message: 'order.created back from Kafka' },
      );
      expect(received.correlationId).toBe('kafka-corr');
      const id = (received.event as { data: { id: string } }).data.id;
      await request(server).post(`/orders/${id}/pay`).expect(200);
      await waitFor(() => orders.find(id).settledAt !== undefined, { timeoutMs: 30_000 });
      const metrics = await request(server).get('/metrics').expect(200);
      expect(metrics.text).toMatch(/name="OrdersController\.onOrderCreated",outcome="success"\}/);
      expect(metrics.text).toMatch(/name="OrdersService\.recordEvent",outcome="success"\}/);
    });
  });
});
