/**
 * @keel/messaging against the Kafka test broker (KAFKA_BROKERS, default the test broker of
 * `scripts/test-services.mjs`), PostgreSQL (DATABASE_URL) and Redis (REDIS_URL):
 *
 * - `publish`: `EventBus.publish()` of 1 KB events, 64 in flight, vs a raw kafkajs producer
 *   with the same settings (idempotent, acks = all) sending the same records the same way;
 *   a raw producer sending batches of 100 is shown as the batched ceiling;
 * - `relay`: the outbox relay draining a backlog of `MESSAGING_BENCH_RELAY_EVENTS` (default
 *   100 000) events committed while the broker was down, vs raw kafkajs sending the same
 *   records in batches of 500;
 * - `outbox_add_overhead`: what `publishInTransaction` adds (p50, µs) to a transaction that
 *   inserts one business row, interleaved rounds;
 * - `consume_idempotent`: `MessagingServer` + `@Idempotent` (Redis) consuming a prefilled topic
 *   of `MESSAGING_BENCH_CONSUME_EVENTS` (default 8 000: the test broker keeps ~5 MiB per
 *   partition, so a larger topic loses its oldest records) vs a bare kafkajs `eachMessage`
 *   consumer, with Redis round trips per message from INFO commandstats.
 */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { Controller, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, Payload } from '@nestjs/microservices';
import { Module } from '@nestjs/common';
import { Redis } from 'ioredis';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { KeelCoreModule, loadKeelConfig } from '@keel/core';
import {
  EventBus,
  Idempotent,
  MessagingModule,
  MessagingServer,
  type KeelCloudEvent,
  type MessagingModuleOptions,
} from '@keel/messaging';
import { median, percentile, printTable, reportMetric } from './report.js';

const DATABASE_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const BROKERS = (process.env['KAFKA_BROKERS'] ?? testBrokers()).split(',');
const RELAY_EVENTS = Number(process.env['MESSAGING_BENCH_RELAY_EVENTS'] ?? 100_000);
const PUBLISH_EVENTS = Number(process.env['MESSAGING_BENCH_PUBLISH_EVENTS'] ?? 5_000);
const CONSUME_EVENTS = Number(process.env['MESSAGING_BENCH_CONSUME_EVENTS'] ?? 8_000);
const ROUNDS = Number(process.env['MESSAGING_BENCH_ROUNDS'] ?? 3);
const IN_FLIGHT = 64;
const DATA = { pad: 'x'.repeat(1_000 - 40), n: 0 }; // ~1 KB of JSON
const RUN_ID = `${process.pid}-${Date.now().toString(36)}`;

function testBrokers(): string {
  try {
    const env = JSON.parse(readFileSync('.test-services/env.json', 'utf8')) as Record<
      string,
      string
    >;
    return env['KAFKA_BROKERS'] ?? '127.0.0.1:19092';
  } catch {
    return '127.0.0.1:19092';
  }
}

const received = { count: 0, target: 0, startedAt: 0, lastId: '', done: (): void => undefined };
const CONSUME_TOPIC = `bench-consume-${RUN_ID}`;

@Controller()
class BenchConsumer {
  @EventPattern<Record<string, KeelCloudEvent>>(CONSUME_TOPIC)
  @Idempotent({ key: '{event.source}:{event.id}' })
  apply(@Payload() event: KeelCloudEvent) {
    if (received.count === 0) received.startedAt = performance.now();
    received.lastId = event.id;
    received.count += 1;
    if (received.count === received.target) received.done();
  }
}

async function boot(messaging: MessagingModuleOptions, consume = false): Promise<INestApplication> {
  @Module({
    imports: [
      KeelCoreModule.forRoot({
        serviceName: 'bench',
        redis: REDIS_URL,
        redisKeyPrefix: `bench-messaging-${RUN_ID}:`,
        config: loadKeelConfig({ env: {} }),
      }),
      MessagingModule.forRoot(messaging),
    ],
    controllers: consume ? [BenchConsumer] : [],
  })
  class BenchModule {}
  const app = await NestFactory.create(BenchModule, { logger: ['error'] });
  if (consume) {
    app.connectMicroservice({ strategy: app.get(MessagingServer) }, { inheritAppConfig: true });
    await app.startAllMicroservices();
  }
  await app.init();
  return app;
}

function rawKafka(): Kafka {
  return new Kafka({
    clientId: `bench-raw-${RUN_ID}`,
    brokers: BROKERS,
    logLevel: logLevel.NOTHING,
  });
}

async function rawProducer(kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 5,
    allowAutoTopicCreation: true,
  });
  await producer.connect();
  return producer;
}

/** Runs `count` sends, `IN_FLIGHT` at a time; returns sends per second. */
async function concurrently(count: number, send: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < count) await send(next++);
    }),
  );
  return count / ((performance.now() - started) / 1_000);
}

async function benchPublish(): Promise<void> {
  const app = await boot({ kafka: { brokers: BROKERS }, outbox: { enabled: false } });
  const bus = app.get(EventBus);
  const kafka = rawKafka();
  const producer = await rawProducer(kafka);
  const topic = `bench-publish-${RUN_ID}`;
  const value = JSON.stringify(DATA);
  const keel: number[] = [];
  const raw: number[] = [];
  const batched: number[] = [];
  await bus.publish(topic, { type: 'warm', data: DATA }); // topic created, producers connected
  await producer.send({ topic, acks: -1, messages: [{ value }] });
  for (let round = 0; round < ROUNDS; round++) {
    const subjects: [number[], () => Promise<number>][] = [
      [
        keel,
        () =>
          concurrently(PUBLISH_EVENTS, (i) =>
            bus.publish(topic, { type: 'bench', key: `k-${i % 100}`, data: DATA }),
          ),
      ],
      [
        raw,
        () =>
          concurrently(PUBLISH_EVENTS, (i) =>
            producer.send({
              topic,
              acks: -1,
              messages: [{ key: `k-${i % 100}`, value, headers: { ce_id: String(i) } }],
            }),
          ),
      ],
      [
        batched,
        async () => {
          const started = performance.now();
          for (let i = 0; i < PUBLISH_EVENTS; i += 100) {
            const messages = Array.from({ length: 100 }, (_, j) => ({
              key: `k-${(i + j) % 100}`,
              value,
            }));
            await producer.send({ topic, acks: -1, messages });
          }
          return PUBLISH_EVENTS / ((performance.now() - started) / 1_000);
        },
      ],
    ];
    const order = round % 2 === 0 ? subjects : [...subjects].reverse();
    for (const [into, subject] of order) into.push(await subject());
  }
  printTable(
    `publish: ${PUBLISH_EVENTS} events of 1 KB, ${IN_FLIGHT} in flight, ${ROUNDS} rounds (msgs/s, median)`,
    ['msgs/s'],
    [
      ['EventBus.publish', median(keel)],
      ['kafkajs send, one record per call', median(raw)],
      ['kafkajs send, 100 records per call (ceiling)', median(batched)],
    ],
  );
  reportMetric('messaging', 'publish', 'msgs/s', median(keel), {
    kafkajs: median(raw),
    kafkajs_batched: median(batched),
  });
  await producer.disconnect();
  await app.close();
}

function tableName(label: string): string {
  return `bench_${label}_${RUN_ID.replace(/[^a-z0-9]/gi, '_')}`.toLowerCase().slice(0, 40);
}

async function benchRelay(): Promise<void> {
  const prefix = tableName('relay');
  const topic = `bench-relay-${RUN_ID}`;
  // A broker that refuses connections while the backlog is written: the relay backs off.
  const app = await boot({
    kafka: { brokers: ['127.0.0.1:1'], retries: 1, connectionTimeoutMs: 200 },
    outbox: {
      url: DATABASE_URL,
      tablePrefix: prefix,
      retryBaseMs: 50,
      retryMaxMs: 200,
      batchSize: 1_000,
    },
  });
  const db = await new DataSource({
    type: 'postgres',
    url: DATABASE_URL,
    poolSize: 4,
  }).initialize();
  const bus = app.get(EventBus);
  for (let i = 0; i < RELAY_EVENTS; i += 500) {
    await db.transaction(async (manager) => {
      for (let j = 0; j < 500 && i + j < RELAY_EVENTS; j++) {
        await bus.publishInTransaction(manager, topic, {
          type: 'bench',
          key: `k-${(i + j) % 100}`,
          data: DATA,
        });
      }
    });
  }
  await app.close();
  // The same table, now with a reachable broker: the relay starts on a backlog of RELAY_EVENTS.
  const started = performance.now();
  const relay = await boot({
    kafka: { brokers: BROKERS },
    outbox: { url: DATABASE_URL, tablePrefix: prefix, batchSize: 1_000 },
  });
  const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
  for (;;) {
    const { rows } = await admin.query(
      `SELECT count(*)::int AS n FROM ${prefix}_outbox WHERE sent_at IS NULL`,
    );
    if (rows[0].n === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const keel = RELAY_EVENTS / ((performance.now() - started) / 1_000);
  await relay.close();
  // Peer: raw kafkajs sending the very rows, 500 per call, read straight from the table.
  const { rows } = await admin.query(`SELECT key, headers, value FROM ${prefix}_outbox ORDER BY n`);
  const kafka = rawKafka();
  const producer = await rawProducer(kafka);
  const rawStarted = performance.now();
  for (let i = 0; i < rows.length; i += 500) {
    const messages = rows
      .slice(i, i + 500)
      .map((r: { key: string; headers: Record<string, string>; value: string }) => ({
        key: r.key,
        value: r.value,
        headers: r.headers,
      }));
    await producer.send({ topic, acks: -1, messages });
  }
  const raw = rows.length / ((performance.now() - rawStarted) / 1_000);
  await producer.disconnect();
  await admin.query(`DROP TABLE IF EXISTS ${prefix}_outbox`);
  await admin.end();
  await db.destroy();
  printTable(
    `relay: drain a backlog of ${RELAY_EVENTS} outbox events (msgs/s; boot included for Keel)`,
    ['msgs/s'],
    [
      ['OutboxRelay (leader, mark sent)', keel],
      ['kafkajs send of the same rows, 500 per call, no marking', raw],
    ],
  );
  reportMetric('messaging', 'relay', 'msgs/s', keel, { kafkajs: raw });
}

async function benchOutboxAdd(): Promise<void> {
  const prefix = tableName('add');
  const business = tableName('orders');
  const app = await boot({
    kafka: { brokers: ['127.0.0.1:1'], retries: 1, connectionTimeoutMs: 200 },
    outbox: {
      url: DATABASE_URL,
      tablePrefix: prefix,
      pollIntervalMs: 600_000,
      retryBaseMs: 60_000,
      retryMaxMs: 60_000,
    },
  });
  const db = await new DataSource({
    type: 'postgres',
    url: DATABASE_URL,
    poolSize: 1,
  }).initialize();
  await db.query(`CREATE TABLE ${business} (id serial PRIMARY KEY, total int NOT NULL)`);
  const bus = app.get(EventBus);
  const plain = () => db.transaction((m) => m.query(`INSERT INTO ${business} (total) VALUES (1)`));
  const withOutbox = () =>
    db.transaction(async (m) => {
      await m.query(`INSERT INTO ${business} (total) VALUES (1)`);
      await bus.publishInTransaction(m, 'orders', { type: 'order.created', data: DATA });
    });
  const timings = { plain: [] as number[], outbox: [] as number[] };
  for (let i = 0; i < 200; i++) await (i % 2 ? plain() : withOutbox()); // warm-up
  for (let i = 0; i < 4_000; i++) {
    const [name, work] =
      i % 2 === 0 ? (['plain', plain] as const) : (['outbox', withOutbox] as const);
    const started = performance.now();
    await work();
    timings[name].push((performance.now() - started) * 1_000);
  }
  const overhead = percentile(timings.outbox, 50) - percentile(timings.plain, 50);
  printTable(
    'outbox_add_overhead: one transaction inserting one row, alternated 2 000 times each (µs)',
    ['p50', 'p99'],
    [
      ['transaction', percentile(timings.plain, 50), percentile(timings.plain, 99)],
      [
        'transaction + publishInTransaction',
        percentile(timings.outbox, 50),
        percentile(timings.outbox, 99),
      ],
    ],
  );
  reportMetric('messaging', 'outbox_add_overhead', 'µs', overhead, {});
  await db.query(`DROP TABLE IF EXISTS ${business}`);
  await db.query(`DROP TABLE IF EXISTS ${prefix}_outbox`);
  await db.destroy();
  await app.close();
}

async function evalCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let calls = 0;
  // Round trips only: the commands a script runs inside Redis are counted by commandstats too.
  for (const match of info.matchAll(/^cmdstat_(evalsha|eval):calls=(\d+)/gm))
    calls += Number(match[2]);
  return calls;
}

async function benchConsume(): Promise<void> {
  const kafka = rawKafka();
  const producer = await rawProducer(kafka);
  const app0 = await boot({ kafka: { brokers: BROKERS }, outbox: { enabled: false } });
  const bus = app0.get(EventBus);
  await concurrently(CONSUME_EVENTS, (i) =>
    bus.publish(CONSUME_TOPIC, { type: 'bench', key: `k-${i % 100}`, data: DATA }),
  );
  await app0.close();
  await producer.disconnect();
  // Bare kafkajs consumer over the same records.
  const bare = kafka.consumer({
    groupId: `bench-bare-${RUN_ID}`,
    maxWaitTimeInMs: 100,
    sessionTimeout: 6_000,
    heartbeatInterval: 1_000,
  });
  let bareCount = 0;
  let bareStarted = 0;
  const bareDone = new Promise<number>((resolve) => {
    void bare.connect().then(async () => {
      await bare.subscribe({ topic: CONSUME_TOPIC, fromBeginning: true });
      await bare.run({
        eachMessage: async () => {
          if (bareCount === 0) bareStarted = performance.now();
          bareCount += 1;
          if (bareCount === CONSUME_EVENTS)
            resolve(CONSUME_EVENTS / ((performance.now() - bareStarted) / 1_000));
        },
      });
    });
  });
  const bareRate = await bareDone;
  await bare.disconnect();
  // MessagingServer with @Idempotent on Redis: one partition at a time (Nest's default), then 4.
  const redis = new Redis(REDIS_URL);
  const keelRun = async (partitions: number) => {
    const callsBefore = await evalCalls(redis);
    received.count = 0;
    received.target = CONSUME_EVENTS;
    const done = new Promise<number>((resolve) => {
      received.done = () =>
        resolve(CONSUME_EVENTS / ((performance.now() - received.startedAt) / 1_000));
    });
    const app = await boot(
      {
        kafka: { brokers: BROKERS },
        outbox: { enabled: false },
        consumer: {
          groupId: `bench-keel-${partitions}-${RUN_ID}`,
          fromBeginning: true,
          sessionTimeoutMs: 6_000,
          maxWaitTimeMs: 100,
          partitionsConsumedConcurrently: partitions,
        },
        idempotency: { keyPrefix: `idem-${partitions}:` },
      },
      true,
    );
    const rate = await done;
    const calls = ((await evalCalls(redis)) - callsBefore) / CONSUME_EVENTS;
    await app.close();
    return { rate, calls };
  };
  const one = await keelRun(1);
  const four = await keelRun(4);
  redis.disconnect();
  const keelRate = one.rate;
  const calls = one.calls;
  printTable(
    `consume_idempotent: ${CONSUME_EVENTS} records of 1 KB, from the first record (msgs/s)`,
    ['msgs/s', 'Redis calls/msg'],
    [
      ['MessagingServer + @Idempotent (Redis)', keelRate, calls],
      ['  the same, partitionsConsumedConcurrently: 4', four.rate, four.calls],
      ['kafkajs eachMessage, no dedupe', bareRate, 0],
    ],
  );
  reportMetric('messaging', 'consume_idempotent', 'msgs/s', keelRate, { kafkajs: bareRate });
  reportMetric('messaging', 'consume_idempotent_4_partitions', 'msgs/s', four.rate, {
    kafkajs: bareRate,
  });
  reportMetric('messaging', 'consume_redis_calls_per_message', 'calls', calls, {});
}

const PARTS: Record<string, () => Promise<void>> = {
  publish: benchPublish,
  outbox_add: benchOutboxAdd,
  relay: benchRelay,
  consume: benchConsume,
};

export async function run(): Promise<void> {
  // MESSAGING_BENCH_PARTS=publish,consume runs some parts only.
  const only = process.env['MESSAGING_BENCH_PARTS']?.split(',');
  for (const [name, part] of Object.entries(PARTS)) {
    if (only === undefined || only.includes(name)) await part();
  }
}
