import 'reflect-metadata';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, type INestApplication } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import {
  EventBus,
  MemoryTransport,
  MessageContext,
  MessageTransport,
  type KeelCloudEvent,
  type MessagingModuleOptions,
} from '@keel/messaging';
import { startKafkaBroker, type KafkaBrokerHandle } from '../../../test/support/fault-servers.js';
import { redisUrl, uniquePrefix } from '../../../test/support/services.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { startMessagingApp } from './support.js';

const TOPIC = uniquePrefix('parking');
const GROUP = uniquePrefix('parking-group');
const POISON = 'key-poison';
const FLAKY = 'key-flaky';
const OTHERS = 1_000;

interface Data {
  readonly seq: number;
  readonly publishedAt: number;
}
interface Processed {
  readonly key: string;
  readonly seq: number;
  readonly at: number;
  readonly latencyMs: number;
}

const processed: Processed[] = [];
const attemptsOfFlakyHead = { count: 0 };

@Controller()
class Listener {
  @EventPattern<string>(TOPIC)
  handle(@Payload() event: KeelCloudEvent<Data>, @Ctx() ctx: MessageContext) {
    const key = ctx.key!;
    if (key === POISON && event.data.seq === 0) throw new Error('poison: cannot apply');
    if (key === FLAKY && event.data.seq === 0 && ++attemptsOfFlakyHead.count < 4) {
      throw new Error(`flaky, attempt ${attemptsOfFlakyHead.count}`);
    }
    const at = Date.now();
    processed.push({ key, seq: event.data.seq, at, latencyMs: at - event.data.publishedAt });
  }
}

const consumer = {
  groupId: GROUP,
  fromBeginning: true,
  sessionTimeoutMs: 6_000,
  maxWaitTimeMs: 100,
  retryDelaysMs: [10], // two in-process attempts
  retryTopicDelaysMs: [1_000, 2_000], // then two retry-topic rounds, then the DLQ
};

function start(messaging: MessagingModuleOptions, redis: string | false) {
  return startMessagingApp({
    messaging,
    ...(redis !== false ? { redis } : {}),
    redisKeyPrefix: `${uniquePrefix('park')}:`,
    controllers: [Listener],
  });
}

/**
 * K's head (seq 0) always fails, J's fails three attempts and then succeeds on its first
 * retry round; each has four later records spread among 1 000 records of 50 other keys.
 */
async function publishAll(bus: EventBus): Promise<void> {
  const send = (key: string, seq: number) =>
    bus.publish(TOPIC, { type: 't', key, data: { seq, publishedAt: Date.now() } });
  await send(POISON, 0);
  await send(FLAKY, 0);
  let later = 1;
  for (let i = 0; i < OTHERS; i++) {
    if (i % 200 === 100) {
      await send(POISON, later);
      await send(FLAKY, later);
      later += 1;
    }
    await send(`other-${i % 50}`, Math.floor(i / 50));
  }
}

function expectPerKeyOrder(): void {
  const byKey = new Map<string, number[]>();
  for (const p of processed) byKey.set(p.key, [...(byKey.get(p.key) ?? []), p.seq]);
  for (const [key, seqs] of byKey) {
    expect(`${key}: ${seqs.join(',')}`).toBe(
      `${key}: ${[...seqs].sort((a, b) => a - b).join(',')}`,
    );
  }
  expect(byKey.get(POISON)).toEqual([1, 2, 3, 4, 5]);
  expect(byKey.get(FLAKY)).toEqual([0, 1, 2, 3, 4, 5]);
  expect([...byKey.keys()].filter((k) => k.startsWith('other-'))).toHaveLength(50);
}

function report(label: string): void {
  const others = processed.filter((p) => p.key.startsWith('other-')).map((p) => p.latencyMs);
  others.sort((a, b) => a - b);
  const pct = (q: number) => others[Math.min(others.length - 1, Math.floor(q * others.length))];
  const firstBehind = processed.find((p) => p.key === POISON)!;
  process.stdout.write(
    `parking [${label}]: ${others.length} records of other keys, latency p50 ${pct(0.5)} ms, ` +
      `p99 ${pct(0.99)} ms, max ${others.at(-1)} ms; the poison key's next record waited ` +
      `${firstBehind.latencyMs} ms behind its head's retry rounds\n`,
  );
}

const apps: INestApplication[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  processed.length = 0;
  attemptsOfFlakyHead.count = 0;
});

describe('per-key parking on the embedded transport', () => {
  it('parks a failing key on the retry topic while every other key flows on, keeps each key in order, and dead-letters the head', async () => {
    const app = await start({ consumer: { ...consumer, fromBeginning: false } }, false);
    apps.push(app);
    const memory = app.get<MemoryTransport>(MessageTransport);
    const dlqTopic = `${TOPIC}.${GROUP}.dlq`;
    await publishAll(app.get(EventBus));
    await waitFor(() => memory.records(dlqTopic).length === 1, { timeoutMs: 20_000 });
    const deadLetteredAt = memory.records(dlqTopic)[0]!.timestamp; // when it was written
    await waitFor(() => processed.length === OTHERS + 5 + 6, { timeoutMs: 20_000 });
    expectPerKeyOrder();
    // The poison key's later records ran only after its head left for the DLQ; other keys did not wait.
    expect(processed.find((p) => p.key === POISON)!.at).toBeGreaterThanOrEqual(deadLetteredAt);
    const othersBefore = processed.filter(
      (p) => p.key.startsWith('other-') && p.at <= deadLetteredAt,
    );
    expect(othersBefore).toHaveLength(OTHERS);
    expect(memory.records(dlqTopic)[0]!.headers).toMatchObject({
      'keel-dlt-original-topic': TOPIC,
      'keel-dlt-original-partition': '0',
      'keel-dlt-original-offset': '0',
      'keel-dlt-consumer-group': GROUP,
      'keel-dlt-exception-message': 'poison: cannot apply',
      'keel-dlt-attempts': '4',
    });
    report('embedded');
  }, 40_000);
});

describe('per-key parking on Kafka (a one-partition topic of a private test broker) with Redis', () => {
  let broker: KafkaBrokerHandle;
  const readers: Consumer[] = [];
  beforeAll(async () => {
    broker = await startKafkaBroker({ topics: { [TOPIC]: 1 } });
  }, 30_000);
  afterAll(async () => {
    for (const reader of readers) await reader.disconnect();
    await broker?.stop();
  });

  it('lets 1 000 records of other keys through while the poison key waits, then dead-letters it with every header', async () => {
    const app = await start({ kafka: { brokers: broker.brokers }, consumer }, redisUrl());
    apps.push(app);
    const kafka = new Kafka({
      clientId: uniquePrefix('dlq'),
      brokers: broker.brokers,
      logLevel: logLevel.NOTHING,
    });
    const reader = kafka.consumer({
      groupId: uniquePrefix('dlq-reader'),
      maxWaitTimeInMs: 100,
      sessionTimeout: 6000,
      heartbeatInterval: 1000,
    });
    readers.push(reader);
    const letters: { at: number; key: string | undefined; headers: Record<string, string> }[] = [];
    await reader.connect();
    await reader.subscribe({ topic: `${TOPIC}.${GROUP}.dlq`, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {}))
          headers[name] = String(value);
        // The producer's timestamp: when the server wrote the dead letter.
        letters.push({ at: Number(message.timestamp), key: message.key?.toString(), headers });
      },
    });
    await publishAll(app.get(EventBus));
    await waitFor(() => processed.length === OTHERS + 5 + 6, {
      timeoutMs: 60_000,
      message: 'every record but the poison head processed',
    });
    await waitFor(() => letters.length === 1, { timeoutMs: 30_000 });
    expectPerKeyOrder();
    const [letter] = letters;
    expect(letter!.key).toBe(POISON);
    expect(letter!.headers).toMatchObject({
      'keel-dlt-original-topic': TOPIC,
      'keel-dlt-original-partition': '0',
      'keel-dlt-original-offset': '0',
      'keel-dlt-consumer-group': GROUP,
      'keel-dlt-exception-code': 'Error',
      'keel-dlt-exception-message': 'poison: cannot apply',
      'keel-dlt-attempts': '4',
    });
    expect(letter!.headers['keel-dlt-exception-stacktrace']).toContain('poison');
    // Non-blocking: records of other keys published after the poison key's second record ran
    // before it; it ran only once its head had gone (≥ 3 s of retry rounds later).
    const poisonNext = processed.find((p) => p.key === POISON)!;
    expect(poisonNext.at).toBeGreaterThanOrEqual(letter!.at);
    expect(
      processed.filter((p) => p.key.startsWith('other-') && p.at < poisonNext.at).length,
    ).toBeGreaterThan(100);
    report('kafka + redis');
  }, 120_000);
});
