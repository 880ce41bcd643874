import { RequestContext } from '@keel/core';
import { createPgPool } from '@keel/core/internal';
import { INBOX_TRANSACTION } from '../messaging.constants.js';
import { MessagingError } from '../messaging.errors.js';
import { inboxNeedsPg, inboxNotOpen } from '../messaging.messages.js';
import type { OutboxEntityManager } from './outbox.store.js';
import {
  storeUnavailable,
  type IdempotencyStore,
  type IdempotentOutcome,
  type IdempotentRun,
} from './idempotency.store.js';
import { inboxClaimSql, inboxSchema, inboxTable } from './postgres-inbox.sql.js';

interface PgClient {
  query<R = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<{ rows: R[] }>;
  release(destroy?: boolean): void;
}
interface PgPool {
  connect(): Promise<PgClient>;
  query<R = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<{ rows: R[] }>;
  end(): Promise<void>;
}

/** A TypeORM DataSource, by the shape the inbox uses (typeorm is an optional peer). @publicApi */
export interface InboxDataSource {
  readonly isInitialized: boolean;
  transaction<T>(run: (manager: OutboxEntityManager) => Promise<T>): Promise<T>;
}

/** Options of the {@link PostgresInboxStore}. @internal */
export interface PostgresInboxStoreOptions {
  readonly url?: string;
  readonly dataSource?: InboxDataSource;
  readonly tablePrefix: string;
}

/**
 * The inbox in PostgreSQL: the key is inserted **in the body's transaction**, and the body
 * runs inside it (its writes go through `inboxTransaction()`), so the key and the body's effects
 * commit together or not at all — exactly-once effects for writes to this database. With a
 * TypeORM DataSource the transaction is `dataSource.transaction()` and the body gets its
 * EntityManager; with a URL it is a `pg` client of the store's own pool.
 * @internal
 */
export class PostgresInboxStore implements IdempotencyStore {
  readonly kind = 'postgres';
  private pool: PgPool | undefined;
  private opening: Promise<void> | undefined;
  private readonly claimSql: string;

  constructor(private readonly options: PostgresInboxStoreOptions) {
    this.claimSql = inboxClaimSql(options.tablePrefix);
  }

  /** Creates the table if missing (and opens the pool for a URL); retried on the next call after a failure. */
  init(): Promise<void> {
    this.opening ??= this.open().catch((error: unknown) => {
      this.opening = undefined;
      throw error;
    });
    return this.opening;
  }

  async run<T>(request: IdempotentRun, body: () => Promise<T>): Promise<IdempotentOutcome<T>> {
    const failed = { inBody: false, error: undefined as unknown };
    try {
      await this.init();
      return await this.transaction(async (manager) => {
        const rows = (await manager.query(this.claimSql, [
          request.key,
          request.ttlMs,
        ])) as unknown[];
        if (rows.length === 0) return { ran: false, state: 'done' } as const;
        const value = await RequestContext.runWithValue(INBOX_TRANSACTION, manager, () =>
          body().catch((error: unknown) => {
            failed.inBody = true;
            failed.error = error;
            throw error;
          }),
        );
        return { ran: true, value } as const;
      });
    } catch (error) {
      // The body's error as it is; the store's own (connect, claim, commit) with a code.
      if (failed.inBody && error === failed.error) throw error;
      throw storeUnavailable(error);
    }
  }

  async prune(): Promise<number> {
    await this.init();
    const t = inboxTable(this.options.tablePrefix);
    const sql = `DELETE FROM ${t} WHERE key IN (SELECT key FROM ${t} WHERE expires_at <= clock_timestamp() LIMIT 10000)`;
    let total = 0;
    for (;;) {
      const deleted = await this.transaction(async (manager) => {
        const result = (await manager.query(
          `WITH gone AS (${sql} RETURNING 1) SELECT count(*)::int AS n FROM gone`,
        )) as { n: number }[];
        return result[0]?.n ?? 0;
      });
      total += deleted;
      if (deleted < 10_000) return total;
    }
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    this.opening = undefined;
    await pool?.end();
  }

  private async open(): Promise<void> {
    const { dataSource, url } = this.options;
    if (dataSource === undefined) {
      if (url === undefined)
        throw new MessagingError('KEEL_MESSAGING_IDEMPOTENCY_UNAVAILABLE', inboxNotOpen());
      const pg = await import('pg').catch((error: unknown) => {
        throw new MessagingError('KEEL_MESSAGING_IDEMPOTENCY_UNAVAILABLE', inboxNeedsPg(), {
          cause: error,
        });
      });
      this.pool = createPgPool<PgPool>(pg as never, { url, max: 10 });
    }
    await this.transaction(async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `keel-inbox-ddl:${inboxTable(this.options.tablePrefix)}`,
      ]);
      for (const statement of inboxSchema(this.options.tablePrefix)) await manager.query(statement);
    });
  }

  /** Runs `work` in one transaction of the DataSource, or of a client of the store's pool. */
  private async transaction<T>(work: (manager: OutboxEntityManager) => Promise<T>): Promise<T> {
    const { dataSource } = this.options;
    if (dataSource !== undefined) return dataSource.transaction(work);
    const pool = this.pool;
    if (pool === undefined)
      throw new MessagingError('KEEL_MESSAGING_IDEMPOTENCY_UNAVAILABLE', inboxNotOpen());
    const client = await pool.connect();
    const manager: OutboxEntityManager = {
      query: async (sql, parameters) => (await client.query(sql, parameters as unknown[])).rows,
    };
    try {
      await client.query('BEGIN');
      const result = await work(manager);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
