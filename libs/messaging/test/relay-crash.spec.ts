import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { KeelCoreModule, loadKeelConfig } from '@keel/core';
import { Idempotent, MessagingModule, MessagingServer, type KeelCloudEvent } from '@keel/messaging';
import pg from 'pg';
import { startFixture, type FixtureProcess } from '../../../test/support/child-process.js';
import { freePort } from '../../../test/support/fault-servers.js';
import {
  databaseUrl,
  kafkaBrokers,
  redisUrl,
  uniquePrefix,
} from '../../../test/support/services.js';
import { waitFor } from '../../../test/support/wait-for.js';

const RELAY = 'libs/messaging/test/fixtures/relay-process.ts';
const CONSUMER_TIMING = { maxWaitTimeInMs: 100, sessionTimeout: 6000, heartbeatInterval: 1000 };
const EVENTS = 600;
const KILLS = 10;

describe('outbox relay SIGKILLed mid-batch, 10 times (real PostgreSQL, the Kafka test broker)', () => {
  const children: FixtureProcess[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) await child.kill();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function sql<T>(text: string): Promise<T[]> {
    const client = new pg.Client({ connectionString: databaseUrl() });
    await client.connect();
    try {
      return (await client.query(text)).rows as T[];
    } finally {
      await client.end();
    }
  }

  it('loses nothing and keeps every key in order; resent events carry their first id, and behind @Idempotent apply once', async () => {
    const prefix = `km_crash_${process.pid}_${Math.random().toString(36).slice(2, 7)}`;
    cleanups.push(() => sql(`DROP TABLE IF EXISTS ${prefix}_outbox`));
    const topic = uniquePrefix('relay-crash');
    const env = {
      DATABASE_URL: databaseUrl(),
      KAFKA_BROKERS: kafkaBrokers().join(','),
      OUTBOX_PREFIX: prefix,
      TOPIC: topic,
    };
    const received: { id: string; key: string; n: number }[] = [];
    const kafka = new Kafka({
      clientId: uniquePrefix('c'),
      brokers: kafkaBrokers(),
      logLevel: logLevel.NOTHING,
    });
    const consumer: Consumer = kafka.consumer({ groupId: uniquePrefix('g'), ...CONSUMER_TIMING });
    cleanups.push(() => consumer.disconnect());
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        received.push({
          id: String(message.headers?.['ce_id']),
          key: message.key!.toString(),
          n: (JSON.parse(message.value!.toString()) as { n: number }).n,
        });
      },
    });

    const sentCount = async () =>
      (
        await sql<{ n: number }>(
          `SELECT count(*)::int AS n FROM ${prefix}_outbox WHERE sent_at IS NOT NULL`,
        )
      )[0]!.n;
    // The first process writes every event; its Kafka is unreachable, so its relay sends none.
    const deadPort = await freePort();
    const writer = startFixture(RELAY, {
      env: { ...env, KAFKA_BROKERS: `127.0.0.1:${deadPort}`, PUBLISH_COUNT: String(EVENTS) },
    });
    children.push(writer);
    await writer.waitForMessage((m) => m.event === 'published', 120_000);
    writer.signal('SIGKILL');
    await writer.exited();
    expect(await sentCount()).toBe(0);
    let kills = 0;
    // Then relay after relay is killed once it has marked a few more rows sent.
    while (kills < KILLS) {
      const before = await sentCount();
      if (before >= EVENTS) break;
      const relay = startFixture(RELAY, { env });
      children.push(relay);
      await relay.waitForMessage((m) => m.event === 'leading');
      await waitFor(async () => ((await sentCount()) > before ? true : undefined), {
        intervalMs: 5,
      });
      relay.signal('SIGKILL');
      await relay.exited();
      kills++;
    }
    // The last one runs to the end.
    const last = startFixture(RELAY, { env });
    children.push(last);
    await waitFor(async () => ((await sentCount()) === EVENTS ? true : undefined), {
      timeoutMs: 60_000,
    });
    await waitFor(
      async () => (new Set(received.map((r) => r.n)).size === EVENTS ? true : undefined),
      {
        timeoutMs: 60_000,
      },
    );

    // Nothing lost; every copy of an event carries the id it was written with.
    const ids = new Map<number, Set<string>>();
    for (const r of received) ids.set(r.n, (ids.get(r.n) ?? new Set()).add(r.id));
    expect([...ids.values()].filter((set) => set.size !== 1)).toEqual([]);
    expect(ids.size).toBe(EVENTS);
    // Per key, the first deliveries come in the order the events were written.
    for (let k = 0; k < 10; k++) {
      const ns = received.filter((r) => r.key === `k-${k}`).map((r) => r.n);
      const firsts = ns.filter((n, i) => ns.indexOf(n) === i);
      expect(firsts).toEqual([...firsts].sort((a, b) => a - b));
    }
    expect(kills).toBeGreaterThanOrEqual(3); // relays really were killed mid-stream
    // Duplicates (resent after a crash) are what an inbox removes: reported, not forbidden.
    process.stdout.write(
      `relay crash: ${kills} kills, ${received.length - EVENTS} duplicate deliveries of ${EVENTS}\n`,
    );

    // Behind @Idempotent, the same topic — duplicates included — applies each event once.
    const effects = new Map<number, number>();
    @Controller()
    class Inbox {
      @EventPattern<Record<string, KeelCloudEvent<{ n: number }>>>(topic)
      @Idempotent({ key: '{event.source}:{event.id}' })
      apply(@Payload() event: KeelCloudEvent<{ n: number }>) {
        effects.set(event.data.n, (effects.get(event.data.n) ?? 0) + 1);
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [
        KeelCoreModule.forRoot({
          serviceName: 'ledger',
          redis: redisUrl(),
          redisKeyPrefix: `${uniquePrefix('crash-inbox')}:`,
          config: loadKeelConfig({ env: {} }),
        }),
        MessagingModule.forRoot({
          kafka: { brokers: kafkaBrokers() },
          consumer: {
            groupId: uniquePrefix('crash-inbox'),
            fromBeginning: true,
            sessionTimeoutMs: 6_000,
            maxWaitTimeMs: 100,
          },
        }),
      ],
      controllers: [Inbox],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    app.connectMicroservice({ strategy: app.get(MessagingServer) }, { inheritAppConfig: true });
    cleanups.push(() => app.close());
    await app.startAllMicroservices();
    await app.init();
    await waitFor(() => effects.size === EVENTS, {
      timeoutMs: 60_000,
      message: 'every event applied',
    });
    // Every delivery the raw consumer saw has been offered to the handler by now or soon; give
    // the duplicates behind the last first copy time to arrive, then count.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect([...effects.values()].filter((count) => count !== 1)).toEqual([]);
  }, 300_000);
});
