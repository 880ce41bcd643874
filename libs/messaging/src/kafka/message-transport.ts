/** One record as the event bus sends it: the CloudEvents Kafka binding's key, value, headers. @publicApi */
export interface OutgoingRecord {
  readonly key: string | null;
  /** A string, or the bytes of a record passed on unchanged (a dead letter of a malformed one). */
  readonly value: string | Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

/** One record as a consumer receives it. @publicApi */
export interface IncomingRecord {
  readonly topic: string;
  readonly partition: number;
  /** Kafka's offset, as a decimal string (offsets are 64-bit). */
  readonly offset: string;
  readonly key: string | null;
  /** The bytes as received (kafkajs), or the string sent (embedded transport); `null` for a tombstone. */
  readonly value: string | Buffer | null;
  /** Header values decoded as UTF-8; a repeated header keeps its first value. */
  readonly headers: Readonly<Record<string, string>>;
  /** Milliseconds since the epoch, as the producer or broker stamped it. */
  readonly timestamp: number;
}

/**
 * A consumer group's subscription. The transport calls `onRecord` for one record of a
 * partition at a time, in offset order, and commits a record's offset only after `onRecord`
 * has resolved; a rejection redelivers the record.
 * @publicApi
 */
export interface ConsumerSubscription {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** A group with no committed offset starts at the oldest record (else at the newest). */
  readonly fromBeginning: boolean;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /** Longest the broker may hold an empty fetch. */
  readonly maxWaitTimeMs: number;
  /** Partitions processed at once (records of one partition stay one at a time). @default 1 */
  readonly partitionsConsumedConcurrently?: number;
  /** `heartbeat()` keeps the member in its group while a long record is processed. */
  readonly onRecord: (record: IncomingRecord, heartbeat: () => Promise<void>) => Promise<void>;
}

/** A running consumer. @publicApi */
export interface ConsumerHandle {
  /** `joining` until the group has assigned partitions; `crashed` after a fatal client error. */
  state(): 'joining' | 'joined' | 'crashed' | 'stopped';
  /** Stops fetching, lets the record in hand finish, commits, leaves the group. */
  stop(): Promise<void>;
}

/**
 * What the event bus publishes through and the messaging server consumes from. Kafka's client
 * stays behind this one small interface — kafkajs today, whose maintainer has asked for
 * successors (kafkajs#1603) — and the embedded transport implements it too.
 * @publicApi
 */
export interface MessageTransport {
  readonly kind: 'kafka' | 'memory';
  /** True while the producer is connected (always, for the embedded transport). */
  readonly connected: boolean;
  /** Connects; safe to call again after a failure. */
  connect(): Promise<void>;
  /** Sends records to one topic; resolves once the broker has acknowledged all of them. */
  send(topic: string, records: readonly OutgoingRecord[]): Promise<void>;
  /** Joins a consumer group; resolves once the consumer runs (partitions may come later). */
  consume(subscription: ConsumerSubscription): Promise<ConsumerHandle>;
  close(): Promise<void>;
}

/** DI token of the {@link MessageTransport}. @publicApi */
export const MessageTransport = Symbol('MessageTransport');
