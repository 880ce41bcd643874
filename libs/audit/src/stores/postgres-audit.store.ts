import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type {
  AuditChainHead,
  AuditCheckpoint,
  AuditRecord,
  PreparedAuditEvent,
} from '../audit-event.js';
import { createPgPool, dataSourcePgPool } from '@keel/core/internal';
import { AuditError } from '../audit.errors.js';
import {
  dataSourceWithoutPool,
  missingPostgresPeers,
  postgresStoreUnconfigured,
} from '../audit.messages.js';
import { GENESIS_HASH, linkBatch } from '../chain/chain-format.js';
import type { AuditDataSource, AuditSink } from '../interfaces/audit-options.interface.js';
import type {
  AppendOptions,
  AuditEntityManager,
  AuditFilter,
  AuditPageRequest,
  AuditPartition,
  AuditStore,
} from './audit.store.js';
import { monthBounds, monthOf } from './filter.js';
import {
  copyText,
  fromRow,
  toCopyLine,
  whereClause,
  type EventRow,
} from './postgres-audit.rows.js';
import {
  auditTables,
  EVENT_COLUMNS,
  hardeningStatements,
  partitionName,
  schemaStatements,
  type AuditTables,
} from './postgres-audit.sql.js';

/** What the store needs of a pg client: `pg` is an optional peer, typed here by shape. */
interface PgClient {
  query<R = Record<string, unknown>>(
    sql: string | object,
    values?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
  release(error?: Error | boolean): void;
  on(event: 'error', listener: () => void): void;
  off(event: 'error', listener: () => void): void;
}
interface PgPool {
  connect(): Promise<PgClient>;
  query<R = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<{ rows: R[] }>;
  end(): Promise<void>;
}

/** Options of the {@link PostgresAuditStore}. @publicApi */
export interface PostgresAuditStoreOptions {
  /** A `postgres://` URL; the store opens its own pool. */
  readonly url?: string;
  /** An initialized TypeORM `postgres` DataSource whose pg pool the store shares. */
  readonly dataSource?: AuditDataSource;
  /** @default 'keel_audit' */
  readonly tablePrefix?: string;
  /** Also install the append-only trigger and the INSERT/SELECT role. @default false */
  readonly hardening?: boolean;
  /** Receives every stored batch inside its transaction. */
  readonly sink?: AuditSink;
  /** Pool size when the store opens its own pool. @default 4 */
  readonly poolSize?: number;
  /**
   * Only read (verify, query, export): `init()` connects but creates nothing, so a SELECT-only
   * role will do — the `keel-audit` CLI opens the store this way. @default false
   */
  readonly readOnly?: boolean;
}

/**
 * The production store: PostgreSQL, monthly partitions, one head row per chain locked with
 * `SELECT … FOR UPDATE` while a batch is chained (replicas never fork a chain), rows written
 * with `COPY FROM STDIN` in the same transaction. `init()` creates the schema idempotently,
 * under an advisory lock; `auditMigrations()` ships the same schema as TypeORM migrations.
 * @publicApi
 */
export class PostgresAuditStore implements AuditStore {
  readonly kind = 'postgres';
  private readonly tables: AuditTables;
  private readonly prefix: string;
  private pool: PgPool | undefined;
  private ownsPool = false;
  private readonly knownMonths = new Set<string>();
  private copyFrom: ((sql: string) => NodeJS.WritableStream & object) | undefined;

  constructor(private readonly options: PostgresAuditStoreOptions) {
    this.prefix = options.tablePrefix ?? 'keel_audit';
    this.tables = auditTables(this.prefix);
  }

  async init(): Promise<void> {
    if (this.pool !== undefined) return;
    this.pool = await this.openPool();
    if (this.options.readOnly === true) return;
    const copy = (await importPeer('pg-copy-streams')) as {
      from: (sql: string) => NodeJS.WritableStream;
    };
    this.copyFrom = copy.from as never;
    const statements = [
      ...schemaStatements(this.prefix),
      ...(this.options.hardening ? hardeningStatements(this.prefix) : []),
    ];
    await this.transaction(async (client) => {
      // Two replicas starting together would race on CREATE … IF NOT EXISTS (a unique
      // violation in pg_type); one advisory lock per prefix serializes them.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `keel-audit-ddl:${this.prefix}`,
      ]);
      for (const statement of statements) await client.query(statement);
    });
    await this.options.sink?.check?.();
  }

  async append(
    events: readonly PreparedAuditEvent[],
    options: AppendOptions = {},
  ): Promise<AuditRecord[]> {
    if (events.length === 0) return [];
    if (this.options.readOnly === true) {
      throw new AuditError(
        'KEEL_AUDIT_UNSUPPORTED',
        'this PostgreSQL audit store was opened read-only',
      );
    }
    await this.ensurePartitions(events);
    return this.transaction((client) => this.appendWithin(client, events, options.retry === true));
  }

  async insertPending(
    manager: AuditEntityManager,
    events: readonly PreparedAuditEvent[],
  ): Promise<void> {
    if (events.length === 0) return;
    await manager.query(
      `INSERT INTO ${this.tables.pending} (id, event) SELECT * FROM unnest($1::uuid[], $2::jsonb[])`,
      [events.map((e) => e.id), events.map((e) => JSON.stringify(e))],
    );
  }

  async drainPending(limit: number): Promise<AuditRecord[]> {
    const pool = this.requirePool();
    const peek = await pool.query<{ occurred_at: string }>(
      `SELECT event->>'occurredAt' AS occurred_at FROM ${this.tables.pending} ORDER BY n LIMIT $1`,
      [limit],
    );
    if (peek.rows.length === 0) return [];
    await this.ensureMonths(peek.rows.map((r) => monthOf(r.occurred_at)));
    return this.transaction(async (client) => {
      const { rows } = await client.query<{ id: string; event: PreparedAuditEvent }>(
        `SELECT id, event FROM ${this.tables.pending} ORDER BY n LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [limit],
      );
      if (rows.length === 0) return [];
      await this.ensureMonths(rows.map((r) => monthOf(r.event.occurredAt)));
      // retry: a pending event is never half-moved (same transaction), but be safe on ids.
      const records = await this.appendWithin(
        client,
        rows.map((r) => r.event),
        true,
      );
      await client.query(`DELETE FROM ${this.tables.pending} WHERE id = ANY($1::uuid[])`, [
        rows.map((r) => r.id),
      ]);
      return records;
    });
  }

  async query(filter: AuditFilter, page: AuditPageRequest): Promise<AuditRecord[]> {
    const { sql, values } = whereClause(filter, page.after);
    values.push(page.limit);
    const { rows } = await this.requirePool().query<EventRow>(
      `SELECT * FROM ${this.tables.events} ${sql} ORDER BY occurred_at, id LIMIT $${values.length}`,
      values,
    );
    return rows.map(fromRow);
  }

  async readChain(chain: string, fromSeq: number, limit: number): Promise<AuditRecord[]> {
    const { rows } = await this.requirePool().query<EventRow>(
      `SELECT * FROM ${this.tables.events} WHERE chain = $1 AND seq >= $2 ORDER BY seq, id LIMIT $3`,
      [chain, fromSeq, limit],
    );
    return rows.map(fromRow);
  }

  async heads(): Promise<AuditChainHead[]> {
    const { rows } = await this.requirePool().query<{ chain: string; seq: string; hash: string }>(
      `SELECT chain, seq, hash FROM ${this.tables.heads} WHERE seq > 0 ORDER BY chain`,
    );
    return rows.map((r) => ({ chain: r.chain, seq: Number(r.seq), hash: r.hash }));
  }

  async appendCheckpoint(c: AuditCheckpoint): Promise<void> {
    await this.requirePool().query(
      `INSERT INTO ${this.tables.checkpoints} (chain, from_seq, to_seq, count, last_hash, created_at,
        reason, previous_signature, algorithm, key_id, signature)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        c.chain,
        c.fromSeq,
        c.toSeq,
        c.count,
        c.lastHash,
        c.createdAt,
        c.reason,
        c.previousSignature,
        c.algorithm,
        c.keyId,
        c.signature,
      ],
    );
  }

  async checkpoints(chain?: string): Promise<AuditCheckpoint[]> {
    const { rows } = await this.requirePool().query<Record<string, string>>(
      `SELECT * FROM ${this.tables.checkpoints} WHERE $1::text IS NULL OR chain = $1 ORDER BY n`,
      [chain ?? null],
    );
    return rows.map((r) => ({
      chain: r['chain']!,
      fromSeq: Number(r['from_seq']),
      toSeq: Number(r['to_seq']),
      count: Number(r['count']),
      lastHash: r['last_hash']!,
      createdAt: r['created_at']!,
      reason: r['reason'] as AuditCheckpoint['reason'],
      previousSignature: r['previous_signature']!,
      algorithm: r['algorithm'] as AuditCheckpoint['algorithm'],
      keyId: r['key_id']!,
      signature: r['signature']!,
    }));
  }

  async partitions(): Promise<AuditPartition[]> {
    const { rows } = await this.requirePool().query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = $1 ORDER BY c.relname`,
      [this.tables.events],
    );
    const pattern = new RegExp(`^${this.tables.events}_(\\d{4})_(\\d{2})$`);
    return rows.flatMap(({ name }) => {
      const match = pattern.exec(name);
      return match === null ? [] : [{ name, ...monthBounds(`${match[1]}-${match[2]}`) }];
    });
  }

  async countInPartition(partition: AuditPartition, filter: AuditFilter): Promise<number> {
    const { sql, values } = whereClause(
      { ...filter, from: partition.from, to: partition.to },
      undefined,
    );
    const { rows } = await this.requirePool().query<{ n: string }>(
      `SELECT count(*) AS n FROM ${this.tables.events} ${sql}`,
      values,
    );
    return Number(rows[0]?.n ?? 0);
  }

  async lastInPartition(partition: AuditPartition): Promise<AuditChainHead[]> {
    const known = await this.partitions();
    if (!known.some((p) => p.name === partition.name)) return [];
    const { rows } = await this.requirePool().query<{ chain: string; seq: string; hash: string }>(
      `SELECT DISTINCT ON (chain) chain, seq, hash FROM ${partition.name} ORDER BY chain, seq DESC`,
    );
    return rows.map((r) => ({ chain: r.chain, seq: Number(r.seq), hash: r.hash }));
  }

  async dropPartition(partition: AuditPartition): Promise<void> {
    const known = await this.partitions();
    if (!known.some((p) => p.name === partition.name)) return;
    await this.requirePool().query(`DROP TABLE IF EXISTS ${partition.name}`);
    this.knownMonths.delete(monthOf(partition.from.toISOString()));
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    if (pool !== undefined && this.ownsPool) await pool.end();
  }

  /** The tables this store writes (for tests and the CLI). */
  tableNames(): AuditTables {
    return this.tables;
  }

  private async appendWithin(
    client: PgClient,
    events: readonly PreparedAuditEvent[],
    retry: boolean,
  ): Promise<AuditRecord[]> {
    const chains = [...new Set(events.map((e) => e.chain))].sort();
    await client.query(
      `INSERT INTO ${this.tables.heads} (chain, seq, hash) SELECT unnest($1::text[]), 0, $2 ON CONFLICT DO NOTHING`,
      [chains, GENESIS_HASH],
    );
    const { rows: heads } = await client.query<{ chain: string; seq: string; hash: string }>(
      `SELECT chain, seq, hash FROM ${this.tables.heads} WHERE chain = ANY($1::text[]) ORDER BY chain FOR UPDATE`,
      [chains],
    );
    const fresh = retry ? await this.withoutStored(client, events) : events;
    const byChain = new Map(heads.map((h) => [h.chain, { seq: Number(h.seq), hash: h.hash }]));
    const linked = linkBatch(fresh, (chain) => byChain.get(chain));
    if (linked.length === 0) return [];
    await this.copyRows(client, linked);
    // In the batch's own transaction: the sink's writes commit or roll back with the events.
    await this.options.sink?.write(
      { query: async (sql, parameters) => (await client.query(sql, parameters)).rows },
      linked,
    );
    const last = new Map<string, AuditRecord>();
    for (const record of linked) last.set(record.chain, record);
    await client.query(
      `UPDATE ${this.tables.heads} h SET seq = v.seq, hash = v.hash
        FROM unnest($1::text[], $2::bigint[], $3::text[]) AS v(chain, seq, hash) WHERE h.chain = v.chain`,
      [
        [...last.keys()],
        [...last.values()].map((r) => r.seq),
        [...last.values()].map((r) => r.hash),
      ],
    );
    return linked;
  }

  private async withoutStored(
    client: PgClient,
    events: readonly PreparedAuditEvent[],
  ): Promise<readonly PreparedAuditEvent[]> {
    const times = events.map((e) => e.occurredAt).sort();
    const { rows } = await client.query<{ id: string }>(
      `SELECT id FROM ${this.tables.events} WHERE id = ANY($1::uuid[]) AND occurred_at BETWEEN $2 AND $3`,
      [events.map((e) => e.id), times[0], times.at(-1)],
    );
    const stored = new Set(rows.map((r) => r.id));
    return stored.size === 0 ? events : events.filter((e) => !stored.has(e.id));
  }

  private async copyRows(client: PgClient, records: readonly AuditRecord[]): Promise<void> {
    const stream = client.query(
      this.copyFrom!(`COPY ${this.tables.events} (${EVENT_COLUMNS.join(', ')}) FROM STDIN`),
    ) as unknown as NodeJS.WritableStream;
    await pipeline(Readable.from(copyText(records.map(toCopyLine))), stream);
  }

  private async ensurePartitions(events: readonly PreparedAuditEvent[]): Promise<void> {
    await this.ensureMonths(events.map((e) => monthOf(e.occurredAt)));
  }

  private async ensureMonths(months: readonly string[]): Promise<void> {
    const missing = [...new Set(months)].filter((m) => !this.knownMonths.has(m));
    if (missing.length === 0) return;
    await this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `keel-audit-ddl:${this.prefix}`,
      ]);
      for (const month of missing) {
        const { from, to } = monthBounds(month);
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${partitionName(this.prefix, month)} PARTITION OF ${this.tables.events}
            FOR VALUES FROM ('${from.toISOString()}') TO ('${to.toISOString()}')`,
        );
      }
    });
    for (const month of missing) this.knownMonths.add(month);
  }

  private async transaction<T>(work: (client: PgClient) => Promise<T>): Promise<T> {
    const client = await this.requirePool().connect();
    // A checked-out client whose connection drops emits 'error'; unheard, that crashes the
    // process. The query in flight rejects anyway, and the writer retries the batch.
    const ignore = () => undefined;
    client.on('error', ignore);
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      // A broken connection must not go back to the pool.
      client.release(error instanceof Error ? error : true);
      throw error;
    } finally {
      client.off('error', ignore);
    }
  }

  private requirePool(): PgPool {
    if (this.pool === undefined) {
      throw new AuditError(
        'KEEL_AUDIT_UNAVAILABLE',
        'the PostgreSQL audit store is not open (init() not called, or closed)',
      );
    }
    return this.pool;
  }

  private async openPool(): Promise<PgPool> {
    if (this.options.dataSource !== undefined) {
      const master = dataSourcePgPool<PgPool>(this.options.dataSource);
      if (master === undefined) {
        throw new AuditError('KEEL_AUDIT_UNAVAILABLE', dataSourceWithoutPool());
      }
      return master;
    }
    if (this.options.url === undefined)
      throw new AuditError('KEEL_AUDIT_UNAVAILABLE', postgresStoreUnconfigured());
    const pg = (await importPeer('pg')) as {
      default: { Pool: new (config: object) => PgPool };
    };
    this.ownsPool = true;
    return createPgPool(pg, { url: this.options.url, max: this.options.poolSize ?? 4 });
  }
}

/** Loads an optional peer, or says which packages to install. */
async function importPeer(name: 'pg' | 'pg-copy-streams'): Promise<unknown> {
  try {
    return name === 'pg' ? await import('pg') : await import('pg-copy-streams');
  } catch (error) {
    throw new AuditError('KEEL_AUDIT_UNAVAILABLE', missingPostgresPeers({ missing: name }), {
      cause: error,
    });
  }
}
