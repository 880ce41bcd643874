import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { KeelCoreModule, RequestContext, loadKeelConfig } from '@keel/core';
import {
  EventBus,
  MemoryTransport,
  MessageTransport,
  MessagingModule,
  OutboxRelay,
  type MessagingModuleOptions,
} from '@keel/messaging';
import { startKafkaBroker, type KafkaBrokerHandle } from '../../../test/support/fault-servers.js';
import { databaseUrl, kafkaBrokers, uniquePrefix } from '../../../test/support/services.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { PostgresOutboxStore } from '../src/stores/postgres-outbox.store.js';
import { runKeelMessaging } from '../src/cli/dlq-command.js';

const CONSUMER_TIMING = { maxWaitTimeInMs: 100, sessionTimeout: 6000, heartbeatInterval: 1000 };

interface Received {
  readonly key: string | null;
  readonly id: string;
  readonly correlationId: string | undefined;
  readonly n: number;
}

describe('transactional outbox (real PostgreSQL, the Kafka test broker)', () => {
  const apps: INestApplicationContext[] = [];
  const consumers: Consumer[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const consumer of consumers.splice(0)) await consumer.disconnect();
    for (const app of apps.splice(0)) await app.close();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function uniqueTablePrefix(): string {
    const prefix = `km_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    cleanups.push(async () => {
      const client = new pg.Client({ connectionString: databaseUrl() });
      await client.connect();
      await client.query(`DROP TABLE IF EXISTS ${prefix}_outbox`);
      await client.end();
    });
    return prefix;
  }

  async function dataSource(): Promise<DataSource> {
    const ds = await new DataSource({ type: 'postgres', url: databaseUrl() }).initialize();
    cleanups.push(() => ds.destroy());
    return ds;
  }

  async function boot(options: MessagingModuleOptions): Promise<INestApplicationContext> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        KeelCoreModule.forRoot({
          serviceName: 'orders',
          redis: false,
          config: loadKeelConfig({ env: { DATABASE_URL: databaseUrl() } }),
        }),
        MessagingModule.forRoot(options),
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    apps.push(app);
    return app;
  }

  async function consume(brokers: string[], topic: string): Promise<Received[]> {
    const kafka = new Kafka({ clientId: uniquePrefix('t'), brokers, logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: uniquePrefix('g'), ...CONSUMER_TIMING });
    consumers.push(consumer);
    const into: Received[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        into.push({
          key: message.key?.toString() ?? null,
          id: String(message.headers?.['ce_id']),
          correlationId: message.headers?.['ce_correlationid']?.toString(),
          n: (JSON.parse(message.value!.toString()) as { n: number }).n,
        });
      },
    });
    return into;
  }

  it('publishes what a committed transaction wrote, never what a rolled-back one did, with the context of the write', async () => {
    const tablePrefix = uniqueTablePrefix();
    const topic = uniquePrefix('outbox');
    const app = await boot({ kafka: { brokers: kafkaBrokers() }, outbox: { tablePrefix } });
    const bus = app.get(EventBus);
    const db = await dataSource();
    const committed = await RequestContext.run({ correlationId: 'corr-commit' }, () =>
      db.transaction((manager) =>
        bus.publishInTransaction(manager, topic, {
          type: 'order.created',
          key: 'o-1',
          data: { n: 1 },
        }),
      ),
    );
    await expect(
      db.transaction(async (manager) => {
        await bus.publishInTransaction(manager, topic, {
          type: 'order.created',
          key: 'o-2',
          data: { n: 2 },
        });
        throw new TypeError('business rule failed');
      }),
    ).rejects.toThrow('business rule failed');
    const received = await consume(kafkaBrokers(), topic);
    await waitFor(async () => (received.length > 0 ? received : undefined));
    // The relay publishes the event as written: its id and the writer's correlation id, not the relay's.
    expect(received[0]).toEqual({
      key: 'o-1',
      id: committed.event.id,
      correlationId: 'corr-commit',
      n: 1,
    });
    const rows = (await db.query(
      `SELECT key, sent_at IS NOT NULL AS sent FROM ${tablePrefix}_outbox`,
    )) as {
      key: string;
      sent: boolean;
    }[];
    await waitFor(async () => {
      const now = (await db.query(
        `SELECT count(*)::int AS n FROM ${tablePrefix}_outbox WHERE sent_at IS NOT NULL`,
      )) as { n: number }[];
      return now[0]!.n === 1 ? true : undefined;
    });
    expect(rows.map((r) => r.key)).toEqual(['o-1']);
    expect(app.get(OutboxRelay).leading).toBe(true);
  });

  it('Kafka down while 200 events are committed: all delivered once it is back, in order per key', async () => {
    const broker: KafkaBrokerHandle = await startKafkaBroker({ topics: { 'outbox.fault': 2 } });
    cleanups.push(() => broker.stop());
    const tablePrefix = uniqueTablePrefix();
    const app = await boot({
      kafka: { brokers: broker.brokers, retries: 1, connectionTimeoutMs: 500 },
      outbox: { tablePrefix, retryBaseMs: 50, retryMaxMs: 500 },
    });
    const bus = app.get(EventBus);
    const db = await dataSource();
    await broker.command('down 1');
    const published: string[] = [];
    for (let n = 0; n < 200; n++) {
      const event = await db.transaction((manager) =>
        bus.publishInTransaction(manager, 'outbox.fault', {
          type: 'tick',
          key: `k-${n % 10}`,
          data: { n },
        }),
      );
      published.push(event.event.id);
    }
    const waiting = (await db.query(
      `SELECT count(*)::int AS n FROM ${tablePrefix}_outbox WHERE sent_at IS NULL`,
    )) as { n: number }[];
    expect(waiting[0]!.n).toBeGreaterThan(150); // Kafka is down: the events wait in the outbox
    await broker.command('up 1');
    await waitFor(
      async () => {
        const left = (await db.query(
          `SELECT count(*)::int AS n, max(last_error) AS e FROM ${tablePrefix}_outbox WHERE sent_at IS NULL`,
        )) as { n: number; e: string }[];
        if (process.env.DEBUG_OUTBOX) console.log(left[0]);
        return left[0]!.n === 0 ? true : undefined;
      },
      { timeoutMs: 60_000, message: 'the outbox to drain' },
    );
    const received = await consume(broker.brokers, 'outbox.fault');
    await waitFor(
      async () => (new Set(received.map((r) => r.id)).size === 200 ? true : undefined),
      {
        timeoutMs: 60_000,
      },
    );
    expect(new Set(received.map((r) => r.id))).toEqual(new Set(published));
    for (let k = 0; k < 10; k++) {
      const ns = received.filter((r) => r.key === `k-${k}`).map((r) => r.n);
      const firsts = ns.filter((n, i) => ns.indexOf(n) === i);
      expect(firsts).toEqual([...firsts].sort((a, b) => a - b));
    }
  }, 120_000);

  it('one relay leads the fleet; when it stops, another takes over and relays what follows', async () => {
    const tablePrefix = uniqueTablePrefix();
    const topic = 'orders';
    const options = { outbox: { tablePrefix, pollIntervalMs: 50 } };
    const a = await boot(options);
    const b = await boot(options);
    await waitFor(async () =>
      a.get(OutboxRelay).leading !== b.get(OutboxRelay).leading ? true : undefined,
    );
    const [leader, follower] = a.get(OutboxRelay).leading ? [a, b] : [b, a];
    const db = await dataSource();
    const first = await db.transaction((manager) =>
      leader.get(EventBus).publishInTransaction(manager, topic, { type: 'x', data: { n: 1 } }),
    );
    const leaderTransport = leader.get<MemoryTransport>(MessageTransport);
    await waitFor(async () => (leaderTransport.records(topic).length === 1 ? true : undefined));
    expect(follower.get<MemoryTransport>(MessageTransport).records(topic)).toEqual([]);
    expect(leaderTransport.records(topic)[0]!.headers['ce_id']).toBe(first.event.id);

    await leader.close();
    apps.splice(apps.indexOf(leader), 1);
    const second = await db.transaction((manager) =>
      follower.get(EventBus).publishInTransaction(manager, topic, { type: 'x', data: { n: 2 } }),
    );
    const followerTransport = follower.get<MemoryTransport>(MessageTransport);
    await waitFor(async () => (followerTransport.records(topic).length >= 1 ? true : undefined), {
      timeoutMs: 10_000,
    });
    expect(follower.get(OutboxRelay).leading).toBe(true);
    expect(followerTransport.records(topic).map((r) => r.headers['ce_id'])).toEqual([
      second.event.id,
    ]);
  });

  it('rejects a stale relay’s "mark sent" once its lock was taken away, and the new leader sends the row', async () => {
    const tablePrefix = uniqueTablePrefix();
    const a = new PostgresOutboxStore({ url: databaseUrl(), tablePrefix });
    const b = new PostgresOutboxStore({ url: databaseUrl(), tablePrefix });
    cleanups.push(
      () => a.close(),
      () => b.close(),
    );
    await a.init();
    await b.init();
    expect(await a.tryLead('relay')).toBe(true);
    expect(await b.tryLead('relay')).toBe(false);
    const writer = new pg.Client({ connectionString: databaseUrl() });
    await writer.connect();
    cleanups.push(() => writer.end());
    await a.add({ query: (text, values) => writer.query(text, values as unknown[]) }, [
      {
        id: '0190f5c2-0000-7000-8000-000000000001',
        topic: 'orders',
        key: 'k',
        value: '{}',
        headers: {},
      },
    ]);
    const [row] = await a.unsent(10);
    expect(row).toBeDefined();
    // The lock is forced away: an operator (or a network partition) ends the leader's session
    // after it read the row and before it marked it sent.
    const { rows } = await writer.query(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
        WHERE pid <> pg_backend_pid() AND query LIKE $1`,
      [`%FROM ${tablePrefix}_outbox WHERE sent_at IS NULL%ORDER BY n%`],
    );
    expect(rows.map((r: { ok: boolean }) => r.ok)).toEqual([true]);
    await waitFor(async () => ((await b.tryLead('relay')) ? true : undefined));
    // The stale relay's write is refused: its session — the fence — is gone.
    await expect(a.markSent([row!.n])).rejects.toThrow();
    const stillUnsent = await b.unsent(10);
    expect(stillUnsent.map((r) => r.id)).toEqual(['0190f5c2-0000-7000-8000-000000000001']);
    await b.markSent([stillUnsent[0]!.n]);
    expect(await b.unsent(10)).toEqual([]);
  });

  it('sets aside a row Kafka refuses for good as a dead row, sends the rest, and requeues it from the CLI', async () => {
    const broker: KafkaBrokerHandle = await startKafkaBroker({ topics: { 'outbox.dead': 1 } });
    cleanups.push(() => broker.stop());
    const tablePrefix = uniqueTablePrefix();
    const app = await boot({
      kafka: { brokers: broker.brokers, retries: 1 },
      outbox: { tablePrefix, pollIntervalMs: 50, retryBaseMs: 50, retryMaxMs: 200 },
    });
    const bus = app.get(EventBus);
    const db = await dataSource();
    // The next two produce requests are refused as too large: the run of three, then its head alone.
    await broker.command('errors 0 2 10'); // 10: MESSAGE_TOO_LARGE
    const events = await db.transaction(async (manager) => [
      await bus.publishInTransaction(manager, 'outbox.dead', {
        type: 't',
        key: 'a',
        data: { n: 1 },
      }),
      await bus.publishInTransaction(manager, 'outbox.dead', {
        type: 't',
        key: 'b',
        data: { n: 2 },
      }),
      await bus.publishInTransaction(manager, 'outbox.dead', {
        type: 't',
        key: 'c',
        data: { n: 3 },
      }),
    ]);
    const received = await consume(broker.brokers, 'outbox.dead');
    await waitFor(() => (received.length >= 2 ? true : undefined), { timeoutMs: 30_000 });
    expect(received.map((r) => r.n)).toEqual([2, 3]);
    const out: string[] = [];
    const io = {
      stdout: (text: string) => out.push(text),
      stderr: (text: string) => out.push(text),
      env: { DATABASE_URL: databaseUrl() },
    };
    expect(
      await runKeelMessaging(['outbox', 'list', '--table-prefix', tablePrefix, '--json'], io),
    ).toBe(0);
    const dead = out.map((line) => JSON.parse(line) as { id: string; last_error: string });
    expect(dead).toEqual([expect.objectContaining({ id: events[0]!.event.id })]);
    expect(dead[0]!.last_error).toMatch(/larger than the max message size/);
    out.length = 0;
    expect(
      await runKeelMessaging(
        ['outbox', 'requeue', '--table-prefix', tablePrefix, '--id', events[0]!.event.id],
        io,
      ),
    ).toBe(0);
    expect(out.join('')).toContain('requeued 1 dead rows');
    await waitFor(() => (received.length === 3 ? true : undefined), { timeoutMs: 30_000 });
    expect(received.map((r) => r.id)).toEqual([
      events[1]!.event.id,
      events[2]!.event.id,
      events[0]!.event.id,
    ]);
  }, 60_000);
});
