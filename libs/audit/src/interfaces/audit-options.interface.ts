import type { AuditCategory, AuditRecord } from '../audit-event.js';
import type { AuditStore } from '../stores/audit.store.js';

/**
 * A TypeORM `DataSource`, typed by shape (typeorm is an optional peer, never named in these
 * declarations). Pass the application's own to share its pool.
 * @publicApi
 */
export interface AuditDataSource {
  readonly isInitialized: boolean;
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

/**
 * Receives every batch of audit events **inside the transaction that stores them**, through
 * that transaction's `query()`: what it writes commits or rolls back with the events — never a
 * dual write. `@keel/messaging`'s `OutboxAuditSink` writes them to its outbox, so they reach a
 * Kafka topic at least once. A sink that throws fails the batch, which the writer retries.
 * @publicApi
 */
export interface AuditSink {
  /** Checked at startup: throws (stopping it) when the sink cannot work. */
  check?(): void | Promise<void>;
  write(
    transaction: { query(sql: string, parameters?: unknown[]): Promise<unknown> },
    records: readonly AuditRecord[],
  ): Promise<void>;
}

/** Where events are stored. @publicApi */
export type AuditStoreOption =
  | {
      readonly type: 'postgres';
      readonly url?: string;
      readonly dataSource?: AuditDataSource;
      /** The append-only trigger and the `<prefix>_writer` role (see `auditMigrations`). @default false */
      readonly hardening?: boolean;
      /** Also hands every stored batch to this sink, in the same transaction. */
      readonly sink?: AuditSink;
    }
  | { readonly type: 'file'; readonly directory?: string }
  | { readonly type: 'custom'; readonly store: AuditStore };

/**
 * When `record()` resolves, and so what a crash can lose:
 * - `async`: once the event is in the in-memory buffer (a crash loses what is buffered; a
 *   SIGTERM drains it);
 * - `sync`: once the batch holding the event has committed (a crash loses nothing
 *   acknowledged).
 * A `record(event, { manager })` call is transactional whatever the mode.
 * @publicApi
 */
export type AuditWriteMode = 'async' | 'sync';

/** The writer's buffer and batches. @publicApi */
export interface AuditWriterOptions {
  /** @default 'async' */
  readonly mode?: AuditWriteMode;
  /** Events the buffer holds before `onFull` applies. @default 100000 */
  readonly bufferSize?: number;
  /** What `record()` does when the buffer is full: wait for room, or drop (counted). @default 'block' */
  readonly onFull?: 'block' | 'drop';
  /** Largest batch written at once. @default 1000 */
  readonly batchSize?: number;
  /** Longest an event waits in the buffer before a flush, in milliseconds. @default 50 */
  readonly flushIntervalMs?: number;
  /** First retry delay of a failed batch, doubled up to `retryMaxMs`. @default 100 */
  readonly retryBaseMs?: number;
  /** @default 5000 */
  readonly retryMaxMs?: number;
  /** At shutdown, how long the buffer may take to drain. @default 30000 */
  readonly drainTimeoutMs?: number;
  /**
   * Async mode only: a local directory where each event is appended and fsync'd (group
   * commit) before `record()` resolves, so an acknowledged event survives a crash; events left
   * there are written again at the next start. One process per directory. @default none
   */
  readonly spoolDirectory?: string;
}

/** How events are split into chains. @publicApi */
export interface AuditChainOptions {
  /** One chain per tenant, or a fixed number of shards (the writer's instance picks one). @default 'shard' */
  readonly by?: 'tenant' | 'shard';
  /** Number of shards when `by` is `'shard'`. @default 16 */
  readonly shards?: number;
}

/** Signed checkpoints. @publicApi */
export interface AuditCheckpointOptions {
  /**
   * The signing key: an Ed25519 private key in PEM (signs with `ed25519`), or any other string
   * (at least 32 characters; signs with `hmac-sha256`). Without a key no checkpoint is written
   * and `verify` can check the chains but not detect a truncated tail.
   */
  readonly key?: string;
  /** Names the key in checkpoints, so keys can be rotated. @default 'default' */
  readonly keyId?: string;
  /** Ed25519 public key in PEM, to verify checkpoints; derived from `key` when left out. */
  readonly publicKey?: string;
  /** How often a checkpoint is written for every chain that grew, in milliseconds. @default 60000 */
  readonly intervalMs?: number;
  /** Also append every checkpoint, as one JSON line, to this file (out of the database's reach). */
  readonly file?: string;
}

/** Redaction of payloads. @publicApi */
export interface AuditRedactionOptions {
  /**
   * Keys masked wherever they appear (case-insensitive), besides the built-in list (passwords,
   * tokens, secrets, authorization, cookies, session ids, card numbers, connection strings).
   * @default []
   */
  readonly keys?: readonly string[];
  /** Dotted paths masked exactly: `'data.args.0.pin'`. @default [] */
  readonly paths?: readonly string[];
  /** Largest payload kept, in bytes of JSON; a larger one is cut with a marker. @default 16384 */
  readonly maxPayloadBytes?: number;
}

/** Per-category retention and legal holds. @publicApi */
export interface AuditRetentionOptions {
  /** Days kept when a category has no entry in `categories`. Unset: kept forever. */
  readonly defaultDays?: number;
  /** Days kept per category: `{ DATA_ACCESS: 90, DATA_CHANGE: 2555 }`. @default {} */
  readonly categories?: Readonly<Partial<Record<AuditCategory, number>>>;
  /** How often the purge runs, in milliseconds; 0 runs it only when called. @default 3600000 */
  readonly intervalMs?: number;
  /** Events of these tenants or resources are never purged. @default {} */
  readonly legalHold?: {
    readonly tenants?: readonly string[];
    readonly resources?: readonly { readonly type: string; readonly id?: string }[];
  };
}

/** An anomaly found by a rule. @publicApi */
export interface AuditAnomaly {
  /** The rule that fired: `failed-logins`, `rate-spike`, `off-hours`, `mass-export`, `privilege-change`. */
  readonly rule: string;
  /** What it is about: an actor, an IP, an action. */
  readonly key: string;
  readonly message: string;
  /** The event that completed the pattern. */
  readonly event: AuditRecord;
  /** The rule's measurements (count, rate, z-score…). */
  readonly details: Readonly<Record<string, number | string>>;
}

/** Anomaly rules evaluated as events arrive. @publicApi */
export interface AuditAnomalyOptions {
  /** @default true */
  readonly enabled?: boolean;
  /**
   * After an anomaly, how long the same rule stays quiet for the same key (actor, IP,
   * actor|action), in event time: a night of batch work is one off-hours anomaly per actor,
   * not one per event. 0 raises every occurrence. @default 600000
   */
  readonly suppressMs?: number;
  /** N failed logins by one actor or IP within a window. */
  readonly failedLogins?: {
    readonly threshold?: number;
    readonly windowMs?: number;
    readonly actions?: readonly string[];
  };
  /** A per-actor, per-action rate far above its rolling (EWMA) baseline. */
  readonly rateSpike?: {
    readonly zScore?: number;
    readonly minEvents?: number;
    readonly bucketMs?: number;
    readonly alpha?: number;
  };
  /** Access outside working hours (UTC). */
  readonly offHours?: {
    readonly startHour?: number;
    readonly endHour?: number;
    readonly weekends?: boolean;
    readonly categories?: readonly AuditCategory[];
  };
  /** An export or query returning more than `rows` rows. */
  readonly massExport?: { readonly rows?: number };
  /** Actions that change privileges (patterns with `*`). */
  readonly privilegeChange?: { readonly actions?: readonly string[] };
  /** Called for every anomaly (the anomaly is also recorded as a SECURITY event). */
  readonly onAnomaly?: (anomaly: AuditAnomaly) => void | Promise<void>;
}

/** Reports. @publicApi */
export interface AuditReportOptions {
  /** Tag of resources in scope of the SOX change report. @default 'sox' */
  readonly soxTag?: string;
  /** Tag of resources holding protected health information. @default 'phi' */
  readonly phiTag?: string;
  /**
   * Secret used to pseudonymise staff in GDPR subject reports (a keyed hash); a random one per
   * process when left out (pseudonyms then differ between processes and restarts).
   */
  readonly pseudonymKey?: string;
}

/**
 * Options of `AuditModule.forRoot()`. Each option may also come from the YAML section `audit`;
 * precedence, per key: `forRoot` > `KEEL_AUDIT_*` variables > YAML > default.
 * @publicApi
 */
export interface AuditModuleOptions {
  /**
   * Where events are stored.
   * @default PostgreSQL when `DATABASE_URL` is set, else the file store in `./.keel/audit`
   */
  readonly store?: AuditStoreOption;
  /** Categories added to the built-in ones (declare them on `AuditCategoryRegistry` too). @default [] */
  readonly categories?: readonly string[];
  readonly writer?: AuditWriterOptions;
  readonly chain?: AuditChainOptions;
  readonly checkpoints?: AuditCheckpointOptions;
  readonly redaction?: AuditRedactionOptions;
  readonly retention?: AuditRetentionOptions;
  readonly anomalies?: AuditAnomalyOptions;
  readonly reports?: AuditReportOptions;
  /** Table name prefix of the PostgreSQL store. @default 'keel_audit' */
  readonly tablePrefix?: string;
}

/** The settings in force. @internal */
export interface AuditSettings {
  readonly store: AuditStoreOption;
  readonly categories: readonly string[];
  readonly writer: Required<Omit<AuditWriterOptions, 'spoolDirectory'>> &
    Pick<AuditWriterOptions, 'spoolDirectory'>;
  readonly chain: Required<AuditChainOptions>;
  readonly checkpoints: AuditCheckpointOptions & {
    readonly keyId: string;
    readonly intervalMs: number;
  };
  readonly redaction: Required<AuditRedactionOptions>;
  readonly retention: AuditRetentionOptions & {
    readonly categories: Readonly<Record<string, number>>;
    readonly intervalMs: number;
  };
  readonly anomalies: AuditAnomalyOptions;
  readonly reports: Required<Omit<AuditReportOptions, 'pseudonymKey'>> &
    Pick<AuditReportOptions, 'pseudonymKey'>;
  readonly tablePrefix: string;
  readonly serviceName: string;
}
