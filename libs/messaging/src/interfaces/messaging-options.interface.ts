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
  readonly serviceName: string;
}
