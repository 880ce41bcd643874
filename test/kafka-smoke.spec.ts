// Proves the Kafka test broker works for kafkajs: plain and idempotent producers, consumer groups,
// headers, and fault injection through a private broker's control channel.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Kafka,
  Partitioners,
  logLevel,
  type Admin,
  type Consumer,
  type KafkaConfig,
  type Producer,
} from 'kafkajs';

import { startKafkaBroker, type KafkaBrokerHandle } from './support/fault-servers.js';
import { kafkaBrokers, uniquePrefix } from './support/services.js';
import { waitFor } from './support/wait-for.js';

// The mock answers an empty fetch only after maxWaitTimeInMs and holds a first group join ~3 s.
const CONSUMER_TIMING = { maxWaitTimeInMs: 100, sessionTimeout: 6000, heartbeatInterval: 1000 };

interface Received {
  key: string | undefined;
  value: string | undefined;
  headers: Record<string, string>;
  partition: number;
}

function kafkaClient(brokers: string[], extra: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: uniquePrefix('client'),
    brokers,
    logLevel: logLevel.NOTHING,
    ...extra,
  });
}

async function consumeInto(consumer: Consumer, topic: string, into: Received[]): Promise<void> {
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(message.headers ?? {})) {
        headers[name] = String(value);
      }
      into.push({
        key: message.key?.toString(),
        value: message.value?.toString(),
        headers,
        partition,
      });
    },
  });
}

describe('Kafka test broker (shared)', () => {
  let kafka: Kafka;
  const producers: Producer[] = [];
  const consumers: Consumer[] = [];

  beforeAll(() => {
    kafka = kafkaClient(kafkaBrokers());
  });

  afterAll(async () => {
    await Promise.all([...producers, ...consumers].map((client) => client.disconnect()));
  });

  it('carries keys, values and headers from a producer to a consumer group', async () => {
    const topic = uniquePrefix('smoke');
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    producers.push(producer);
    await producer.connect();
    const sent = Array.from({ length: 6 }, (_, i) => ({
      key: `order-${i}`,
      value: JSON.stringify({ n: i }),
      headers: { 'x-correlation-id': `corr-${i}`, traceparent: `00-${'a'.repeat(32)}-${i}` },
    }));
    await producer.send({ topic, messages: sent });

    const received: Received[] = [];
    const consumer = kafka.consumer({ groupId: uniquePrefix('group'), ...CONSUMER_TIMING });
    consumers.push(consumer);
    await consumeInto(consumer, topic, received);
    await waitFor(() => received.length >= sent.length, {
      timeoutMs: 20_000,
      message: `${sent.length} messages on ${topic}`,
    });

    const byKey = new Map(received.map((m) => [m.key, m]));
    expect(received).toHaveLength(sent.length);
    for (const message of sent) {
      expect(byKey.get(message.key)).toMatchObject({
        value: message.value,
        headers: message.headers,
      });
    }
    // Auto-created topics get 4 partitions; keyed messages spread over more than one.
    expect(new Set(received.map((m) => m.partition)).size).toBeGreaterThan(1);
  });

  it('accepts an idempotent producer (controller id is set in Metadata)', async () => {
    const topic = uniquePrefix('idempotent');
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    producers.push(producer);
    await producer.connect();

    const [first] = await producer.send({ topic, messages: [{ key: 'k', value: 'one' }] });
    const [second] = await producer.send({ topic, messages: [{ key: 'k', value: 'two' }] });

    expect(first).toMatchObject({ topicName: topic, errorCode: 0 });
    expect(second).toMatchObject({ topicName: topic, errorCode: 0, partition: first!.partition });
    expect(BigInt(second!.baseOffset!)).toBe(BigInt(first!.baseOffset!) + 1n);
  });
});

describe('Kafka test broker (private, fault injection)', () => {
  let broker: KafkaBrokerHandle;
  let kafka: Kafka;
  let admin: Admin;
  const producers: Producer[] = [];

  beforeAll(async () => {
    broker = await startKafkaBroker({ topics: { 'fault.orders': 1 } });
    // No retries, so a send during the outage fails fast instead of outliving it.
    kafka = kafkaClient(broker.brokers, { retry: { retries: 0 } });
    admin = kafkaClient(broker.brokers).admin();
    await admin.connect();
  });

  afterAll(async () => {
    await Promise.all([...producers, admin].map((client) => client?.disconnect()));
    await broker?.stop();
  });

  const endOffset = async (topic: string, partition = 0): Promise<string | undefined> =>
    (await admin.fetchTopicOffsets(topic)).find((p) => p.partition === partition)?.high;

  it('fails a send while the broker is down and succeeds once it is back', async () => {
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    producers.push(producer);
    await producer.connect();
    await producer.send({ topic: 'fault.orders', messages: [{ value: 'before' }] });

    await broker.command('down 1');
    await expect(
      producer.send({ topic: 'fault.orders', messages: [{ value: 'during' }] }),
    ).rejects.toThrow();

    await broker.command('up 1');
    // kafkajs reconnects lazily: retry the send until the reconnect has happened.
    await waitFor(
      () =>
        producer.send({ topic: 'fault.orders', messages: [{ value: 'after' }] }).then(() => true),
      { timeoutMs: 15_000, message: 'a send after the broker came back' },
    );
    expect(await endOffset('fault.orders')).toBe('2');
  });

  it('retries injected produce errors without duplicating the idempotent write', async () => {
    const topic = uniquePrefix('fault-errors');
    await broker.command(`topic ${topic} 1`);
    const producer = kafkaClient(broker.brokers).producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    producers.push(producer);
    await producer.connect();

    // ApiKey 0 is Produce: the next two requests fail with a retriable error, the third lands.
    await broker.command('errors 0 2 NOT_LEADER_FOR_PARTITION');
    const [result] = await producer.send({ topic, messages: [{ value: 'exactly-once' }] });

    expect(result).toMatchObject({ errorCode: 0, baseOffset: '0' });
    expect(await endOffset(topic)).toBe('1');
  });

  it('answers control commands and rejects bad ones', async () => {
    await expect(broker.command('ping')).resolves.toBe('pong');
    await expect(broker.command('rtt 1 0')).resolves.toBe('');
    await expect(broker.command('down 99')).rejects.toThrow(/rejected "down 99"/);
    await expect(broker.command('no-such-command')).rejects.toThrow(/bad command/);
  });
});
