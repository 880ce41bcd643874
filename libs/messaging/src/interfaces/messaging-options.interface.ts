import type { InboxDataSource } from '../stores/postgres-inbox.store.js';

/** How a topic's events are laid out on the wire (CloudEvents Kafka binding). @publicApi */
export type CloudEventMode = 'binary' | 'structured';

/** Connection to Kafka (kafkajs). @publicApi */
export interface MessagingKafkaOptions {
  /** `host:port` list. @default core's `KAFKA_BROKERS` / YAML `kafka.brokers` */
  readonly brokers?: readonly string[];
  /** @default the service name */
  readonly clientId?: string;
  /** TLS to the brokers. @default false */
  readonly ssl?: boolean;
  readonly sasl?: {
    readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
    readonly username: string;
    readonly password: string;
  };
  /** How long a connection attempt may take, in milliseconds. @default 3000 */
  readonly connectionTimeoutMs?: number;
  /** kafkajs' retries of a failed connect or send (backoff from 300 ms; at least 1). @default 5 */
  readonly retries?: number;
}

/** Per-topic settings. @publicApi */
export interface MessagingTopicOptions {
  /** @default 'binary' */
  readonly mode?: CloudEventMode;
}

/** The transactional outbox and its relay. @publicApi */
export interface MessagingOutboxOptions {
  /** @default true when a database is configured (DATABASE_URL, `url` or `dataSource`) */
  readonly enabled?: boolean;
  /** A `postgres://` URL; the outbox opens its own small pool. @default core's DATABASE_URL */
  readonly url?: string;
  /** An initialized TypeORM postgres DataSource whose pool the outbox shares. */
  readonly dataSource?: { readonly isInitialized: boolean };
  /** Table prefix: the table is `<prefix>_outbox`. @default 'keel_messaging' */
  readonly tablePrefix?: string;
  /** How often the relay looks for rows when no commit woke it, in milliseconds. @default 250 */
  readonly pollIntervalMs?: number;
  /** Rows read per relay round. @default 500 */
  readonly batchSize?: number;
  /** First retry delay of a failed round, doubled up to `retryMaxMs`. @default 200 */
  readonly retryBaseMs?: number;
  /** @default 30000 */
  readonly retryMaxMs?: number;
}

/** How {@link MessagingServer} consumes: the group, the session, retries and time limits. @publicApi */
export interface MessagingConsumerOptions {
  /** The consumer group every replica of the service joins. @default the service name */
  readonly groupId?: string;
  /** A group with no committed offset starts at the oldest record instead of the newest. @default false */
  readonly fromBeginning?: boolean;
  /**
   * How long the group waits for a silent member before it rebalances, in milliseconds. Keel
   * heartbeats every third of it, also while a handler runs. At least 6000, Kafka's default
   * `group.min.session.timeout.ms` (a broker refuses a shorter one). @default 30000
   */
  readonly sessionTimeoutMs?: number;
  /** Longest the broker may hold an empty fetch, in milliseconds. @default 5000 */
  readonly maxWaitTimeMs?: number;
  /**
   * Partitions whose records are handled at the same time by one member; records of one
   * partition (and so of one key) always run one at a time, in order. Nest's ServerKafka
   * handles one partition at a time. @default 1
   */
  readonly partitionsConsumedConcurrently?: number;
  /**
   * Delays between the in-process attempts of a failed handler, in milliseconds: three delays
   * mean four attempts before the record is dead-lettered. @default [100, 200, 400]
   */
  readonly retryDelaysMs?: readonly number[];
  /**
   * Delays of the retry-topic rounds after the in-process attempts failed, in milliseconds: the
   * record goes to `<topic>.<group>.retry`, its key is parked (later records of the key wait
   * behind it there, other keys flow on), and each round runs it once when due; after the last,
   * the dead-letter topic. `[]` turns the retry topic off (straight to the dead-letter topic).
   * @default [1000, 10000, 60000]
   */
  readonly retryTopicDelaysMs?: readonly number[];
  /**
   * Longest one attempt of a handler may run, in milliseconds; then its `signal` aborts and the
   * attempt counts as failed (`KEEL_MESSAGING_HANDLER_TIMEOUT`). @default 300000
   */
  readonly maxProcessingMs?: number;
}

/** Where `@Idempotent` keeps its keys, and for how long. @publicApi */
export interface MessagingIdempotencyOptions {
  /**
   * `'redis'` (the fleet shares the keys), `'postgres'` (the inbox table, in the body's own
   * transaction) or `'memory'` (this process only). By default Redis when `KeelCoreModule`
   * has Redis, else memory.
   */
  readonly store?: 'memory' | 'redis' | 'postgres';
  /** How long a completed key is remembered, in milliseconds (7 days). @default 604800000 */
  readonly ttlMs?: number;
  /** How long a running call holds its key (renewed while it runs), in milliseconds. @default 30000 */
  readonly leaseMs?: number;
  /** Put before every key (after core's `redisKeyPrefix` in Redis). @default 'idem:' */
  readonly keyPrefix?: string;
  /** The inbox's `postgres://` URL. @default core's DATABASE_URL */
  readonly url?: string;
  /** An initialized TypeORM postgres DataSource: the inbox runs bodies in its transactions. */
  readonly dataSource?: InboxDataSource;
  /** Table prefix of the inbox: the table is `<prefix>_inbox`. @default 'keel_messaging' */
  readonly tablePrefix?: string;
  /** How often expired inbox rows are deleted, in milliseconds. @default 3600000 */
  readonly pruneIntervalMs?: number;
}

/** Options of `MessagingModule.forRoot()`. @publicApi */
export interface MessagingModuleOptions {
  /** Kafka; without brokers (here or in core's config) events stay in this process. */
  readonly kafka?: MessagingKafkaOptions;
  /** The CloudEvents `source` of every published event. @default a slash and the service name */
  readonly source?: string;
  /** Per-topic settings, by topic name. */
  readonly topics?: Readonly<Record<string, MessagingTopicOptions>>;
  /** An event larger than this (bytes, encoded) is sent, with a warning. @default 65536 */
  readonly warnAboveBytes?: number;
  readonly outbox?: MessagingOutboxOptions;
  readonly consumer?: MessagingConsumerOptions;
  readonly idempotency?: MessagingIdempotencyOptions;
}

/** The settings in force. @internal */
export interface MessagingSettings {
  readonly transport: 'kafka' | 'memory';
  readonly kafka: MessagingKafkaOptions & {
    readonly brokers: readonly string[];
    readonly clientId: string;
    readonly connectionTimeoutMs: number;
    readonly retries: number;
  };
  readonly source: string;
  readonly topics: Readonly<Record<string, MessagingTopicOptions>>;
  readonly warnAboveBytes: number;
  readonly outbox: Required<Omit<MessagingOutboxOptions, 'url' | 'dataSource' | 'enabled'>> &
    Pick<MessagingOutboxOptions, 'url' | 'dataSource'> & {
      readonly enabled: boolean;
      /** Asked for (enabled: true, url or dataSource), not only implied by DATABASE_URL. */
      readonly requested: boolean;
    };
  readonly consumer: Required<MessagingConsumerOptions> & { readonly heartbeatIntervalMs: number };
  readonly idempotency: Required<Omit<MessagingIdempotencyOptions, 'url' | 'dataSource'>> &
    Pick<MessagingIdempotencyOptions, 'url' | 'dataSource'>;
  readonly serviceName: string;
}
