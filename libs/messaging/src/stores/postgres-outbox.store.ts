import { createPgPool, dataSourcePgPool } from '@keel/core/internal';
import { MessagingError } from '../messaging.errors.js';
import {
  outboxDataSourceWithoutPool,
  outboxDisabled,
  outboxNeedsPg,
  outboxNotOpen,
  relayNotLeading,
} from '../messaging.messages.js';
import type { OutgoingRecord } from '../kafka/message-transport.js';
import type { OutboxEntityManager, OutboxRow } from './outbox.store.js';
import { outboxSchema, outboxTable } from './postgres-outbox.sql.js';

interface PgClient {
  query<R = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<{ rows: R[] }>;
  release(destroy?: boolean): void;
  on(event: 'error', listener: (error: Error) => void): void;
}
interface PgPool {
  connect(): Promise<PgClient>;
  query<R = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<{ rows: R[] }>;
  end(): Promise<void>;
}

/** A TypeORM DataSource, by the shape the store uses (typeorm is an optional peer). @publicApi */
export interface OutboxDataSource {
  readonly isInitialized: boolean;
}

/** Options of the {@link PostgresOutboxStore}. @internal */
export interface PostgresOutboxStoreOptions {
  readonly url?: string;
  readonly dataSource?: OutboxDataSource;
  readonly tablePrefix: string;
}

/**
 * The outbox in PostgreSQL. Writes go through the caller's EntityManager (so they commit or roll
 * back with the business change); the relay reads and marks rows on one dedicated session that
 * holds the relay's advisory lock — a relay that lost its session (and so its lock) cannot mark
 * anything: the fence is the session itself.
 * @internal
 */
export class PostgresOutboxStore {
  private pool: PgPool | undefined;
  private ownsPool = false;
  private readonly table: string;
  private leader: PgClient | undefined;
  /** Why the outbox is off although configured (it could not open), or `undefined`. */
  disabledReason: string | undefined;
  /** Called when a transaction that added rows commits (NOTIFY on the leader's session). */
  onNotify: (() => void) | undefined;

  constructor(private readonly options: PostgresOutboxStoreOptions) {
    this.table = outboxTable(options.tablePrefix);
  }

  /** Opens the pool and creates the table if missing; after a failure, the next call tries again. */
  async init(): Promise<void> {
    if (this.pool !== undefined) return;
    const pool = await this.openPool();
    try {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
          `keel-outbox-ddl:${this.table}`,
        ]);
        for (const statement of outboxSchema(this.options.tablePrefix))
          await client.query(statement);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    } catch (error) {
      if (this.ownsPool) await pool.end().catch(() => undefined);
      throw error;
    }
    this.pool = pool;
  }

  /** Inserts the records in the caller's transaction. */
  async add(
    manager: OutboxEntityManager,
    rows: readonly (OutgoingRecord & { id: string; topic: string })[],
  ): Promise<void> {
    const values: unknown[] = [];
    const tuples = rows.map((row) => {
      values.push(row.id, row.topic, row.key, JSON.stringify(row.headers), row.value);
      const i = values.length;
      return `($${i - 4}, $${i - 3}, $${i - 2}, $${i - 1}::jsonb, $${i})`;
    });
    await manager.query(
      `INSERT INTO ${this.table} (id, topic, key, headers, value) VALUES ${tuples.join(', ')}`,
      values,
    );
    // Delivered by PostgreSQL when (and only if) the caller's transaction commits: the relays
    // wake at once instead of at their next poll.
    await manager.query('SELECT pg_notify($1, $2)', [this.channel, '']);
  }

  /** The NOTIFY channel of this outbox. */
  get channel(): string {
    return `${this.table}_added`;
  }

  /** Tries to become the relay: true while this process holds the lock on its own session. */
  async tryLead(name: string): Promise<boolean> {
    if (this.leader !== undefined) return true;
    const client = await this.requirePool().connect();
    client.on('error', () => undefined); // a dropped session surfaces on the next query
    try {
      const { rows } = await client.query<{ ok: boolean }>(
        'SELECT pg_try_advisory_lock(hashtext($1)) AS ok',
        [`keel-outbox-relay:${this.table}:${name}`],
      );
      if (rows[0]?.ok === true) {
        await client.query(`LISTEN ${this.channel}`);
        (client as unknown as { on(e: 'notification', l: () => void): void }).on(
          'notification',
          () => this.onNotify?.(),
        );
        this.leader = client;
        return true;
      }
      client.release();
      return false;
    } catch (error) {
      client.release(true);
      throw error;
    }
  }

  /** The oldest unsent rows, on the leader's session. */
  async unsent(limit: number): Promise<OutboxRow[]> {
    const { rows } = await this.requireLeader().query<{
      n: string;
      id: string;
      topic: string;
      key: string | null;
      headers: Record<string, string>;
      value: string;
    }>(
      `SELECT n, id, topic, key, headers, value FROM ${this.table} WHERE sent_at IS NULL AND dead_at IS NULL ORDER BY n LIMIT $1`,
      [limit],
    );
    return rows;
  }

  /** Marks rows sent, on the leader's session: it fails if that session (and its lock) is gone. */
  async markSent(ns: readonly string[]): Promise<void> {
    await this.requireLeader().query(
      `UPDATE ${this.table} SET sent_at = clock_timestamp(), attempts = attempts + 1 WHERE n = ANY($1::bigint[])`,
      [ns],
    );
  }

  /** Sets a row Kafka refused for good aside (on the leader's session): it is no longer sent. */
  async markDead(n: string, error: string): Promise<void> {
    await this.requireLeader().query(
      `UPDATE ${this.table} SET dead_at = clock_timestamp(), attempts = attempts + 1, last_error = $2 WHERE n = $1`,
      [n, error.slice(0, 1_000)],
    );
  }

  /** Counts a failed attempt on rows (kept for the next round). */
  async markFailed(ns: readonly string[], error: string): Promise<void> {
    await this.requireLeader().query(
      `UPDATE ${this.table} SET attempts = attempts + 1, last_error = $2 WHERE n = ANY($1::bigint[])`,
      [ns, error.slice(0, 1_000)],
    );
  }

  /** Unsent rows and the age of the oldest, for health and metrics. */
  async backlog(): Promise<{ count: number; oldestMs: number }> {
    const { rows } = await this.requirePool().query<{ count: string; oldest_ms: number | null }>(
      `SELECT count(*) AS count, (extract(epoch FROM clock_timestamp() - min(created_at)) * 1000)::float8 AS oldest_ms
         FROM ${this.table} WHERE sent_at IS NULL AND dead_at IS NULL`,
    );
    return { count: Number(rows[0]?.count ?? 0), oldestMs: Math.round(rows[0]?.oldest_ms ?? 0) };
  }

  /** Deletes rows sent longer ago than `olderThanMs`. */
  async prune(olderThanMs: number): Promise<void> {
    await this.requirePool().query(
      `DELETE FROM ${this.table} WHERE sent_at < clock_timestamp() - make_interval(secs => $1)`,
      [olderThanMs / 1_000],
    );
  }

  /** Gives up leadership (the lock goes with the session). */
  async resign(): Promise<void> {
    const leader = this.leader;
    this.leader = undefined;
    // Destroying the session releases the advisory lock whatever state it is in.
    leader?.release(true);
  }

  /** True when this store currently leads. */
  get leading(): boolean {
    return this.leader !== undefined;
  }

  async close(): Promise<void> {
    await this.resign();
    const pool = this.pool;
    this.pool = undefined;
    if (pool !== undefined && this.ownsPool) await pool.end();
  }

  private requirePool(): PgPool {
    if (this.pool === undefined) {
      throw new MessagingError('KEEL_MESSAGING_UNAVAILABLE', outboxNotOpen());
    }
    return this.pool;
  }

  private requireLeader(): PgClient {
    if (this.leader === undefined) {
      throw new MessagingError('KEEL_MESSAGING_UNAVAILABLE', relayNotLeading());
    }
    return this.leader;
  }

  private async openPool(): Promise<PgPool> {
    if (this.options.dataSource !== undefined) {
      const master = dataSourcePgPool<PgPool>(this.options.dataSource);
      if (master === undefined) {
        throw new MessagingError('KEEL_MESSAGING_UNAVAILABLE', outboxDataSourceWithoutPool());
      }
      return master;
    }
    if (this.options.url === undefined) {
      throw new MessagingError('KEEL_MESSAGING_UNAVAILABLE', outboxDisabled());
    }
    let pg: { default: { Pool: new (config: object) => PgPool } };
    try {
      pg = (await import('pg')) as unknown as typeof pg;
    } catch (error) {
      throw new MessagingError('KEEL_MESSAGING_UNAVAILABLE', outboxNeedsPg(), { cause: error });
    }
    this.ownsPool = true;
    return createPgPool(pg, { url: this.options.url, max: 3 });
  }
}
