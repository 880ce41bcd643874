import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Injectable, type INestApplication } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import pg from 'pg';
import { KeelCoreModule, KeelDecoratorError, KeelMetrics, loadKeelConfig } from '@keel/core';
import {
  EventBus,
  Idempotent,
  MemoryTransport,
  MessageTransport,
  MessagingModule,
  inboxTransaction,
  type KeelCloudEvent,
  type MessagingModuleOptions,
} from '@keel/messaging';
import {
  databaseUrl,
  kafkaBrokers,
  redisUrl,
  uniquePrefix,
} from '../../../test/support/services.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { startMessagingApp } from './support.js';

type Events = Record<string, KeelCloudEvent>;
const REDIS_TOPIC = uniquePrefix('idem-redis');
const PG_TOPIC = uniquePrefix('idem-pg');
const MEMORY_TOPIC = uniquePrefix('idem-memory');
const EFFECTS = uniquePrefix('effects').replaceAll('-', '_').toLowerCase().slice(0, 40);
const INBOX = uniquePrefix('inbox').replaceAll('-', '_').toLowerCase().slice(0, 40);

/** Every run of a handler body, by event id: the effects the inbox must keep to one each. */
const effects = new Map<string, number>();
const apply = (id: string) => effects.set(id, (effects.get(id) ?? 0) + 1);

@Controller()
class Listener {
  @EventPattern<Events>(REDIS_TOPIC)
  @Idempotent({ key: '{event.source}:{event.id}' })
  async onRedis(@Payload() event: KeelCloudEvent) {
    await new Promise((resolve) => setTimeout(resolve, 20)); // long enough to overlap a duplicate
    apply(event.id);
  }

  @EventPattern<Events>(PG_TOPIC)
  @Idempotent({ key: '{event.source}:{event.id}' })
  async onPostgres(@Payload() event: KeelCloudEvent) {
    await inboxTransaction()!.query(`INSERT INTO ${EFFECTS} (id) VALUES ($1)`, [event.id]);
    apply(event.id);
  }

  @EventPattern<Events>(MEMORY_TOPIC)
  @Idempotent({ key: '{event.id}' })
  onMemory(@Payload() event: KeelCloudEvent) {
    apply(event.id);
  }
}

@Injectable()
class Charges {
  runs = 0;
  @Idempotent({ key: 'charge:{requestId}' })
  async charge(requestId: string, gate?: Promise<void>): Promise<string> {
    this.runs += 1;
    await gate;
    return `charged ${requestId}`;
  }
}

function start(
  messaging: MessagingModuleOptions,
  core: { redis?: string; redisKeyPrefix?: string } = {},
): Promise<INestApplication> {
  return startMessagingApp({
    messaging,
    ...core,
    serviceName: 'ledger',
    controllers: [Listener],
    providers: [Charges],
  });
}

const consumer = (groupId: string) => ({
  groupId,
  fromBeginning: true,
  sessionTimeoutMs: 6_000,
  maxWaitTimeMs: 100,
  retryDelaysMs: [50, 100, 200],
  retryTopicDelaysMs: [],
});

const apps: INestApplication[] = [];
let admin: pg.Pool;
let kafka: Kafka;
let producer: Producer;

beforeAll(async () => {
  admin = new pg.Pool({ connectionString: databaseUrl(), max: 2 });
  await admin.query(`CREATE TABLE ${EFFECTS} (id text NOT NULL)`);
  kafka = new Kafka({
    clientId: uniquePrefix('raw'),
    brokers: kafkaBrokers(),
    logLevel: logLevel.NOTHING,
  });
  producer = kafka.producer();
  await producer.connect();
});
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});
afterAll(async () => {
  await producer.disconnect();
  await admin.query(`DROP TABLE IF EXISTS ${EFFECTS}`);
  await admin.query(`DROP TABLE IF EXISTS ${INBOX}_inbox`);
  await admin.end();
});

/** Publishes `n` events, then sends the first `again` of them a second time, byte for byte. */
async function publishWithDuplicates(bus: EventBus, topic: string, n: number, again: number) {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const { event } = await bus.publish(topic, {
      type: 'payment.settled',
      key: `p-${i % 5}`,
      data: { i },
    });
    ids.push(event.id);
  }
  const copies = ids.slice(0, again).map((id, i) => ({
    key: `p-${i % 5}`,
    value: JSON.stringify({ i }),
    headers: {
      ce_specversion: '1.0',
      ce_id: id,
      ce_source: '/ledger',
      ce_type: 'payment.settled',
      'content-type': 'application/json',
    },
  }));
  await producer.send({ topic, messages: copies });
  return ids;
}

describe('@Idempotent behind MessagingServer on Kafka', () => {
  it('applies each event once across two consumers sharing Redis, duplicates sent again included', async () => {
    const core = { redis: redisUrl(), redisKeyPrefix: `${uniquePrefix('idem')}:` };
    // Two groups: each receives every record, as two members do during a rebalance — concurrent duplicates.
    for (const group of ['a', 'b']) {
      apps.push(
        await start(
          { kafka: { brokers: kafkaBrokers() }, consumer: consumer(uniquePrefix(group)) },
          core,
        ),
      );
    }
    const ids = await publishWithDuplicates(apps[0]!.get(EventBus), REDIS_TOPIC, 30, 10);
    // 30 events × 2 groups + 10 copies × 2 groups = 80 deliveries; each event applied once.
    await waitFor(() => ids.every((id) => effects.has(id)), { timeoutMs: 40_000 });
    const skipped = async () => {
      let total = 0;
      for (const app of apps) {
        const text = await app.get(KeelMetrics).render();
        for (const match of text.matchAll(
          /^keel_messaging_duplicates_skipped_total\{[^}]*\} (\d+)/gm,
        ))
          total += Number(match[1]);
      }
      return total;
    };
    await waitFor(async () => (await skipped()) >= 50, {
      timeoutMs: 40_000,
      message: '50 duplicates skipped',
    });
    expect(ids.map((id) => effects.get(id))).toEqual(ids.map(() => 1));
    expect(await skipped()).toBe(50);
  }, 90_000);

  it('applies each event once with the PostgreSQL inbox, its write committed with the key', async () => {
    const idempotency = { store: 'postgres' as const, url: databaseUrl(), tablePrefix: INBOX };
    for (const group of ['a', 'b']) {
      apps.push(
        await start({
          kafka: { brokers: kafkaBrokers() },
          consumer: consumer(uniquePrefix(group)),
          idempotency,
        }),
      );
    }
    const ids = await publishWithDuplicates(apps[0]!.get(EventBus), PG_TOPIC, 30, 10);
    await waitFor(() => ids.every((id) => effects.has(id)), { timeoutMs: 40_000 });
    await waitFor(
      async () => {
        const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${EFFECTS}`);
        if (rows[0].n < 30) throw new Error(`${rows[0].n} effect rows`);
        return true;
      },
      { message: '30 committed effect rows' },
    );
    // Give the 50 duplicate deliveries time to be skipped (or, wrongly, applied).
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const { rows } = await admin.query(`SELECT id, count(*)::int AS n FROM ${EFFECTS} GROUP BY id`);
    expect(rows).toHaveLength(30);
    expect(rows.every((row: { n: number }) => row.n === 1)).toBe(true);
    expect(ids.map((id) => effects.get(id))).toEqual(ids.map(() => 1));
  }, 90_000);
});

describe('@Idempotent on the embedded defaults', () => {
  it('skips a record delivered twice by the embedded transport', async () => {
    const app = await start({
      consumer: { ...consumer(uniquePrefix('memory')), fromBeginning: false },
    });
    apps.push(app);
    const memory = app.get<MemoryTransport>(MessageTransport);
    const { event } = await app.get(EventBus).publish(MEMORY_TOPIC, { type: 't', data: 1 });
    const record = memory.records(MEMORY_TOPIC)[0]!;
    await memory.send(MEMORY_TOPIC, [
      { key: record.key, value: record.value, headers: record.headers },
    ]);
    await waitFor(() => memory.records(MEMORY_TOPIC).length === 2 && effects.has(event.id));
    const next = await app.get(EventBus).publish(MEMORY_TOPIC, { type: 't', data: 2 });
    await waitFor(() => effects.has(next.event.id)); // the duplicate before it is done with
    expect(effects.get(event.id)).toBe(1);
  });

  it('works on a provider method: a repeat returns undefined, a concurrent one is refused with 409', async () => {
    const app = await start({});
    apps.push(app);
    const charges = app.get(Charges);
    expect(await charges.charge('r1')).toBe('charged r1');
    expect(await charges.charge('r1')).toBeUndefined();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const first = charges.charge('r2', gate);
    await waitFor(() => charges.runs === 2);
    await expect(charges.charge('r2')).rejects.toMatchObject({
      code: 'KEEL_MESSAGING_DUPLICATE_IN_PROGRESS',
      status: 409,
      retryAfterMs: expect.any(Number),
    });
    open();
    expect(await first).toBe('charged r2');
    expect(charges.runs).toBe(2);
  });

  it('stops startup when a key template names an unknown parameter or a TTL is not a duration', async () => {
    @Injectable()
    class Broken {
      @Idempotent({ key: '{nope}' })
      async a(id: string) {
        return id;
      }
      @Idempotent({ key: '{id}', ttlMs: -5 })
      async b(id: string) {
        return id;
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [
        KeelCoreModule.forRoot({ redis: false, config: loadKeelConfig({ env: {} }) }),
        MessagingModule.forRoot(),
      ],
      providers: [Broken],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    const error = await app.init().catch((e: unknown) => e);
    await app.close();
    expect(error).toBeInstanceOf(KeelDecoratorError);
    expect(String((error as Error).message)).toMatch(/Broken\.a.*nope|nope.*Broken\.a/s);
    expect(String((error as Error).message)).toMatch(
      /Broken\.b: ttlMs must be a positive whole number/,
    );
  });
});
