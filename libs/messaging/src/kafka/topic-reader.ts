import type { Kafka } from 'kafkajs';
import type { IncomingRecord } from './message-transport.js';

/** Options of {@link readTopic}. @internal */
export interface ReadTopicOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly clientId?: string;
  /** Called for every record, oldest first per partition. */
  readonly onRecord: (record: IncomingRecord) => void | Promise<void>;
}

/**
 * Reads a topic from its oldest record to the end it had when the read began, and returns. A
 * throwaway consumer group that commits nothing: reading a dead-letter topic moves no one's
 * offsets. Uses kafkajs, loaded on demand like the transport.
 * @internal
 */
export async function readTopic(options: ReadTopicOptions): Promise<number> {
  const kafkajs = (await import('kafkajs')).default;
  const kafka: Kafka = new kafkajs.Kafka({
    clientId: options.clientId ?? 'keel-messaging-cli',
    brokers: [...options.brokers],
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    const offsets = await admin.fetchTopicOffsets(options.topic);
    ends = new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
  const pending = new Set(
    [...ends].filter(([, high]) => high > 0n).map(([partition]) => partition),
  );
  if (pending.size === 0) return 0;
  const consumer = kafka.consumer({
    groupId: `keel-messaging-cli-${process.pid}-${Date.now()}`,
    maxWaitTimeInMs: 100,
    sessionTimeout: 6_000,
    heartbeatInterval: 1_000,
  });
  let read = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: options.topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.CRASH, (event) => reject(event.payload.error));
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const end = ends.get(partition) ?? 0n;
            if (BigInt(message.offset) >= end) return;
            read += 1;
            await options.onRecord(incomingRecord(options.topic, partition, message));
            if (BigInt(message.offset) + 1n >= end) {
              pending.delete(partition);
              if (pending.size === 0) resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return read;
}

/** A kafkajs message, by the fields read here (kafkajs is an optional peer, kept out of declarations). */
interface KafkaMessageLike {
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly timestamp: string;
  readonly headers?: Readonly<Record<string, Buffer | string | (Buffer | string)[] | undefined>>;
}

/** A kafkajs message as an {@link IncomingRecord}. @internal */
export function incomingRecord(
  topic: string,
  partition: number,
  message: KafkaMessageLike,
): IncomingRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key === null ? null : message.key.toString('utf8'),
    value: message.value,
    headers: decodeHeaders(message.headers),
    timestamp: Number(message.timestamp),
  };
}

/** kafkajs headers as strings: UTF-8, the first value of a repeated header. @internal */
export function decodeHeaders(
  // kafkajs' IHeaders, by shape: kafkajs is an optional peer and stays out of declarations.
  raw: Readonly<Record<string, Buffer | string | (Buffer | string)[] | undefined>> | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) headers[name] = first.toString();
  }
  return headers;
}
