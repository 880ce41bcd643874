import { Inject } from '@nestjs/common';
import type {
  AuditCategory,
  AuditChainHead,
  AuditCheckpoint,
  AuditLevel,
  AuditOutcome,
  AuditRecord,
  PreparedAuditEvent,
} from '../audit-event.js';

/**
 * Which events a query, an export or a report selects. Every field narrows; left out, it does
 * not. Times are inclusive of `from` and exclusive of `to`.
 * @publicApi
 */
export interface AuditFilter {
  readonly from?: Date;
  readonly to?: Date;
  readonly category?: AuditCategory | readonly AuditCategory[];
  /** An action, or a pattern with `*` wildcards: `'order.*'`. */
  readonly action?: string;
  readonly actor?: string;
  readonly tenant?: string;
  readonly resourceType?: string;
  readonly resourceId?: string;
  readonly outcome?: AuditOutcome | readonly AuditOutcome[];
  readonly level?: AuditLevel | readonly AuditLevel[];
  readonly correlationId?: string;
  readonly subject?: string;
  /** Events carrying this tag. */
  readonly tag?: string;
  readonly chain?: string;
}

/** A keyset position: the last row of the previous page. @publicApi */
export interface AuditPosition {
  readonly occurredAt: string;
  readonly id: string;
}

/** One page request of {@link AuditStore.query}, ordered by `(occurredAt, id)` ascending. @publicApi */
export interface AuditPageRequest {
  /** Rows strictly after this position. */
  readonly after?: AuditPosition;
  readonly limit: number;
}

/** One retention unit: a month of events (a PostgreSQL partition, a file of the file store). @publicApi */
export interface AuditPartition {
  /** Store-specific name: `keel_audit_events_2026_12`, `2026-12.ndjson`. */
  readonly name: string;
  /** First instant it holds (inclusive), UTC. */
  readonly from: Date;
  /** First instant it does not hold, UTC. */
  readonly to: Date;
}

/** Options of {@link AuditStore.append}. @publicApi */
export interface AppendOptions {
  /**
   * The batch may already be stored (an earlier attempt failed after its commit may have
   * happened): events whose id is present are skipped, not stored twice.
   */
  readonly retry?: boolean;
}

/**
 * Where events are stored and chained. Implemented by the PostgreSQL store (production) and
 * the file store (the embedded default); both pass `test/audit-store.contract.spec.ts`.
 * @publicApi
 */
export interface AuditStore {
  /** `'postgres'` or `'file'`, for logs and health. */
  readonly kind: string;
  /** Opens connections, creates what is missing (tables, the current month's partition). */
  init(): Promise<void>;
  /**
   * Appends events atomically — all or none — chaining each onto its chain's head with
   * `linkEvents` under a per-chain lock, so concurrent writers (processes too) never fork a
   * chain. Events of one chain keep their order in `events`.
   * @returns the stored records, in the order given (skipped duplicates left out).
   */
  append(events: readonly PreparedAuditEvent[], options?: AppendOptions): Promise<AuditRecord[]>;
  /** Rows matching `filter`, ordered by `(occurredAt, id)`, after `page.after`. */
  query(filter: AuditFilter, page: AuditPageRequest): Promise<AuditRecord[]>;
  /** Rows of one chain with `seq >= fromSeq`, ordered by seq (duplicates of a seq included). */
  readChain(chain: string, fromSeq: number, limit: number): Promise<AuditRecord[]>;
  /** The head the store keeps for every chain. */
  heads(): Promise<AuditChainHead[]>;
  appendCheckpoint(checkpoint: AuditCheckpoint): Promise<void>;
  /** Checkpoints of one chain (or all), oldest first. */
  checkpoints(chain?: string): Promise<AuditCheckpoint[]>;
  /** Retention units, oldest first. */
  partitions(): Promise<AuditPartition[]>;
  /** How many events of a partition match `filter` (retention asks about categories and holds). */
  countInPartition(partition: AuditPartition, filter: AuditFilter): Promise<number>;
  /**
   * The last event (highest seq) of every chain within a partition: what a purge of that
   * partition must anchor.
   */
  lastInPartition(partition: AuditPartition): Promise<AuditChainHead[]>;
  /** Removes a whole partition (a DROP for PostgreSQL, a file delete for the file store). */
  dropPartition(partition: AuditPartition): Promise<void>;
  /**
   * PostgreSQL only: writes events into the pending table through the caller's `manager`, so
   * they commit or roll back with the caller's transaction. The writer chains them later
   * ({@link AuditStore.drainPending}).
   */
  insertPending?(manager: AuditEntityManager, events: readonly PreparedAuditEvent[]): Promise<void>;
  /**
   * PostgreSQL only: in one transaction, chains up to `limit` pending events (oldest first) and
   * deletes them from the pending table — each is chained exactly once.
   */
  drainPending?(limit: number): Promise<AuditRecord[]>;
  /** Releases connections and files. Idempotent. */
  close(): Promise<void>;
}

/**
 * A TypeORM `EntityManager` (or `QueryRunner`), typed by the one method the store uses so that
 * @keel/audit's declarations never import `typeorm` (an optional peer).
 * @publicApi
 */
export interface AuditEntityManager {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

/** DI token of the {@link AuditStore} in use (a store token is named like its interface). */
export const AuditStore = Symbol('AuditStore');

/** Injects the {@link AuditStore} in use. @publicApi */
export const InjectAuditStore = (): ParameterDecorator => Inject(AuditStore);
