import type {
  ConsumerHandle,
  ConsumerSubscription,
  IncomingRecord,
  MessageTransport,
  OutgoingRecord,
} from './message-transport.js';

/** A record kept by the {@link MemoryTransport}, with its position in the topic. @publicApi */
export interface StoredRecord extends OutgoingRecord {
  readonly topic: string;
  readonly offset: number;
  readonly timestamp: number;
}

/** Called for every record sent to a topic, in order. @publicApi */
export type RecordListener = (record: StoredRecord) => void;

/** How long a rejected record waits before it is delivered again (a Kafka consumer's restart). */
const REDELIVERY_DELAY_MS = 100;

/**
 * The embedded transport (no `KAFKA_BROKERS`): every topic is an in-memory log of the records
 * sent to it, readable with `records(topic)` and followed with `subscribe(topic, listener)`, so a
 * service and its tests run without Kafka. Consumer groups work as on Kafka with one partition
 * per topic: each group sees every record once, in order, from its committed offset. Nothing
 * survives the process.
 * @publicApi
 */
export class MemoryTransport implements MessageTransport {
  readonly kind = 'memory';
  readonly connected = true;
  private readonly topics = new Map<string, StoredRecord[]>();
  private readonly listeners = new Map<string, Set<RecordListener>>();
  /** Next offset to deliver, per consumer group and topic: the group's committed offset. */
  private readonly committed = new Map<string, number>();

  async connect(): Promise<void> {}

  async send(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
    let log = this.topics.get(topic);
    if (log === undefined) this.topics.set(topic, (log = []));
    const stored = records.map((record): StoredRecord => ({
      ...record,
      topic,
      offset: log.length,
      timestamp: Date.now(),
    }));
    for (const record of stored) {
      log.push(record);
      // Delivered on a later turn of the event loop, as a broker would: after the publisher's
      // await has resumed, never inside it; setImmediate keeps the topic's order.
      for (const listener of this.listeners.get(topic) ?? []) setImmediate(() => listener(record));
    }
  }

  /** Every record sent to `topic` so far, oldest first. */
  records(topic: string): readonly StoredRecord[] {
    return this.topics.get(topic) ?? [];
  }

  /** Calls `listener` with every record sent to `topic` from now on; returns the unsubscribe. */
  subscribe(topic: string, listener: RecordListener): () => void {
    let set = this.listeners.get(topic);
    if (set === undefined) this.listeners.set(topic, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  async consume(subscription: ConsumerSubscription): Promise<ConsumerHandle> {
    const readers = subscription.topics.map((topic) => this.startReader(subscription, topic));
    let state: 'joined' | 'stopped' = 'joined';
    return {
      state: () => state,
      stop: async () => {
        state = 'stopped';
        await Promise.all(readers.map((reader) => reader.stop()));
      },
    };
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }

  /** One topic of one group: delivers from the committed offset, one record at a time. */
  private startReader(subscription: ConsumerSubscription, topic: string) {
    const slot = `${subscription.groupId}\u0000${topic}`;
    if (!this.committed.has(slot)) {
      this.committed.set(slot, subscription.fromBeginning ? 0 : this.records(topic).length);
    }
    let stopped = false;
    let running: Promise<void> | undefined;
    const heartbeat = async () => {};
    const drain = async () => {
      for (;;) {
        const offset = this.committed.get(slot)!;
        const stored = this.records(topic)[offset];
        if (stopped || stored === undefined) return;
        try {
          await subscription.onRecord(incoming(stored), heartbeat);
          this.committed.set(slot, offset + 1);
        } catch {
          await new Promise((resolve) => setTimeout(resolve, REDELIVERY_DELAY_MS));
        }
      }
    };
    const wake = () => {
      running ??= drain().finally(() => {
        running = undefined;
        // A record sent while the last one was in hand is picked up here.
        if (!stopped && this.records(topic).length > this.committed.get(slot)!) wake();
      });
    };
    const unsubscribe = this.subscribe(topic, wake);
    setImmediate(wake);
    return {
      stop: async () => {
        stopped = true;
        unsubscribe();
        await running;
      },
    };
  }
}

function incoming(stored: StoredRecord): IncomingRecord {
  return {
    topic: stored.topic,
    partition: 0,
    offset: String(stored.offset),
    key: stored.key,
    value: stored.value,
    headers: stored.headers,
    timestamp: stored.timestamp,
  };
}
