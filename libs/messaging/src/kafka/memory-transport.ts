import type { MessageTransport, OutgoingRecord } from './message-transport.js';

/** A record kept by the {@link MemoryTransport}, with its position in the topic. @publicApi */
export interface StoredRecord extends OutgoingRecord {
  readonly topic: string;
  readonly offset: number;
  readonly timestamp: number;
}

/** Called for every record sent to a topic, in order. @publicApi */
export type RecordListener = (record: StoredRecord) => void;

/**
 * The embedded transport (no `KAFKA_BROKERS`): every topic is an in-memory log of the records
 * sent to it, readable with `records(topic)` and followed with `subscribe(topic, listener)`, so a
 * service and its tests run without Kafka. Nothing survives the process.
 * @publicApi
 */
export class MemoryTransport implements MessageTransport {
  readonly kind = 'memory';
  private readonly topics = new Map<string, StoredRecord[]>();
  private readonly listeners = new Map<string, Set<RecordListener>>();

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

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
