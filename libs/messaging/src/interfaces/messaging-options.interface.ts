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
  /** kafkajs' retries of a failed connect or send (exponential backoff from 300 ms). @default 5 */
  readonly retries?: number;
}

/** Per-topic settings. @publicApi */
export interface MessagingTopicOptions {
  /** @default 'binary' */
  readonly mode?: CloudEventMode;
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
  readonly serviceName: string;
}
