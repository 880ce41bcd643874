/**
 * @keel/audit ingest and export against PostgreSQL (DATABASE_URL, default the shared test
 * database). Ingest: `PostgresAuditStore.append()` in batches of 1 000 with the hash chain, as the
 * writer calls it, against TypeORM `save()` one event at a time (what most NestJS audit
 * libraries do) and a raw batched multi-row INSERT of the same rows without a chain, in
 * interleaved rounds of one run. Each subject writes into its own table of the same shape.
 * `ingest_sustained` appends AUDIT_BENCH_SUSTAINED_ROWS (default 3 000 000) and reports the rate
 * over the last third; `export` streams every row as NDJSON through AuditQueryService.
 * `decorator_overhead` is what `@Audited` adds to an async provider method, in ns per call:
 * sequential awaited calls of the decorated and the undecorated method in interleaved rounds,
 * median of (decorated − plain), in a Nest application with AuditModule's defaults (async
 * writer, redaction, anomaly rules) and a store that takes batches and keeps nothing — the
 * request path only; what the writer does with a batch later is what `ingest` measures.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { DataSource, EntitySchema } from 'typeorm';
import { v7 } from 'uuid';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { KeelCoreModule, loadKeelConfig } from '@keel/core';
import {
  Audited,
  AuditModule,
  AuditQueryService,
  PostgresAuditStore,
  type AuditRecord,
  type AuditStore,
  type PreparedAuditEvent,
} from '@keel/audit';
import { median, printTable, reportMetric } from './report.js';

const URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROUNDS = Number(process.env['AUDIT_BENCH_ROUNDS'] ?? 5);
const SUSTAINED = Number(process.env['AUDIT_BENCH_SUSTAINED_ROWS'] ?? 3_000_000);

/** One event like a busy order service records: ~300 B of JSON payload. */
function event(i: number): PreparedAuditEvent {
  return {
    id: v7(),
    chain: `shard-${i % 4}`,
    occurredAt: new Date().toISOString(),
    service: 'orders',
    category: 'DATA_CHANGE',
    level: 'INFO',
    action: 'order.update',
    outcome: 'success',
    errorCode: null,
    actor: `user-${i % 500}`,
    tenant: `tenant-${i % 20}`,
    ip: '10.1.2.3',
    userAgent: 'Mozilla/5.0 (bench)',
    correlationId: `c-${i}`,
    resourceType: 'order',
    resourceId: `o-${i}`,
    subject: null,
    tags: ['sox'],
    durationMs: 3.25,
    data: {
      args: [{ orderId: `o-${i}`, customerId: `cu-${i % 1000}`, items: [{ sku: 'A-1', qty: 2 }] }],
      changes: { status: { before: 'new', after: 'paid' }, total: { before: 10, after: 12.5 } },
      note: 'x'.repeat(120),
    },
  };
}

/** The events table's columns, for the peers: the same row shape and the same indexes. */
const PEER_COLUMNS = {
  id: { type: 'uuid', primary: true },
  chain: { type: 'text' },
  seq: { type: 'bigint' },
  occurred_at: { type: 'timestamptz', primary: true },
  service: { type: 'text' },
  category: { type: 'text' },
  level: { type: 'text' },
  action: { type: 'text' },
  outcome: { type: 'text' },
  error_code: { type: 'text', nullable: true },
  actor: { type: 'text', nullable: true },
  tenant: { type: 'text', nullable: true },
  ip: { type: 'text', nullable: true },
  user_agent: { type: 'text', nullable: true },
  correlation_id: { type: 'text', nullable: true },
  resource_type: { type: 'text', nullable: true },
  resource_id: { type: 'text', nullable: true },
  subject: { type: 'text', nullable: true },
  tags: { type: 'text', array: true },
  duration_ms: { type: 'double precision', nullable: true },
  data: { type: 'jsonb', nullable: true },
  prev_hash: { type: 'text' },
  hash: { type: 'text' },
} as const;

/** A peer row: what the peers store, without a chain (prev_hash and hash left empty). */
function peerRow(e: PreparedAuditEvent, seq: number): Record<string, unknown> {
  return {
    id: e.id,
    chain: e.chain,
    seq,
    occurred_at: e.occurredAt,
    service: e.service,
    category: e.category,
    level: e.level,
    action: e.action,
    outcome: e.outcome,
    error_code: e.errorCode,
    actor: e.actor,
    tenant: e.tenant,
    ip: e.ip,
    user_agent: e.userAgent,
    correlation_id: e.correlationId,
    resource_type: e.resourceType,
    resource_id: e.resourceId,
    subject: e.subject,
    tags: e.tags,
    duration_ms: e.durationMs,
    data: e.data,
    prev_hash: '',
    hash: '',
  };
}

interface Subjects {
  readonly store: PostgresAuditStore;
  readonly dataSource: DataSource;
  readonly pool: pg.Pool;
  readonly rawTable: string;
}

async function keelIngest(s: Subjects, n: number): Promise<number> {
  const events = Array.from({ length: n }, (_, i) => event(i));
  const start = performance.now();
  // One batch at a time, as the writer sends them (two in flight measured slower here:
  // PostgreSQL's side of the COPY, not the hashing, sets the pace on two cores).
  for (let i = 0; i < n; i += 1_000) await s.store.append(events.slice(i, i + 1_000));
  return n / ((performance.now() - start) / 1_000);
}

async function typeormSave(s: Subjects, n: number): Promise<number> {
  const repository = s.dataSource.getRepository('bench_audit_typeorm');
  const start = performance.now();
  for (let i = 0; i < n; i++) await repository.save(peerRow(event(i), i));
  return n / ((performance.now() - start) / 1_000);
}

async function rawBatchInsert(s: Subjects, n: number): Promise<number> {
  const columns = Object.keys(PEER_COLUMNS);
  const start = performance.now();
  for (let i = 0; i < n; i += 500) {
    const values: unknown[] = [];
    const tuples: string[] = [];
    for (let k = 0; k < 500 && i + k < n; k++) {
      const row = peerRow(event(i + k), i + k);
      tuples.push(
        `(${columns.map((c) => `$${values.push(c === 'data' ? JSON.stringify(row[c]) : row[c])}`).join(',')})`,
      );
    }
    await s.pool.query(
      `INSERT INTO ${s.rawTable} (${columns.join(',')}) VALUES ${tuples.join(',')}`,
      values,
    );
  }
  return n / ((performance.now() - start) / 1_000);
}

async function sustained(store: PostgresAuditStore, rows: number): Promise<number> {
  const batch = 1_000;
  let lastThirdStart = 0;
  const third = Math.floor((rows * 2) / 3);
  const start = performance.now();
  for (let i = 0; i < rows; i += batch) {
    if (i >= third && lastThirdStart === 0) lastThirdStart = performance.now();
    await store.append(Array.from({ length: batch }, (_, k) => event(i + k)));
  }
  const elapsed = performance.now() - (lastThirdStart || start);
  return (rows - third) / (elapsed / 1_000);
}

async function exportRate(
  store: PostgresAuditStore,
): Promise<{ rows: number; perSecond: number; rssGrowthMb: number }> {
  const queries = new AuditQueryService(
    store,
    { categories: [] } as never,
    { record: async () => undefined } as never,
  );
  let rows = 0;
  let peakRss = 0;
  const baseRss = process.memoryUsage().rss;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) rows += 1;
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      done();
    },
  });
  const start = performance.now();
  await pipeline(queries.export({}, 'ndjson'), sink);
  return {
    rows,
    perSecond: rows / ((performance.now() - start) / 1_000),
    rssGrowthMb: (peakRss - baseRss) / 2 ** 20,
  };
}

async function open(): Promise<Subjects & { prefix: string }> {
  const prefix = `kbench_${randomBytes(3).toString('hex')}`;
  const store = new PostgresAuditStore({ url: URL, tablePrefix: prefix });
  await store.init();
  const schema = new EntitySchema({
    name: 'bench_audit_typeorm',
    tableName: `${prefix}_typeorm`,
    columns: PEER_COLUMNS as never,
  });
  const dataSource = await new DataSource({
    type: 'postgres',
    url: URL,
    entities: [schema],
    synchronize: true,
  }).initialize();
  const pool = new pg.Pool({ connectionString: URL, max: 2 });
  const rawTable = `${prefix}_raw`;
  await pool.query(`CREATE TABLE ${rawTable} (LIKE ${prefix}_typeorm INCLUDING ALL)`);
  return { prefix, store, dataSource, pool, rawTable };
}

async function close(s: Subjects & { prefix: string }): Promise<void> {
  for (const t of ['events', 'heads', 'pending', 'checkpoints', 'typeorm', 'raw']) {
    await s.pool.query(`DROP TABLE IF EXISTS ${s.prefix}_${t} CASCADE`);
  }
  await s.store.close();
  await s.dataSource.destroy();
  await s.pool.end();
}

@Injectable()
class Orders {
  async plain(id: string, dto: { total: number }): Promise<number> {
    return dto.total + id.length;
  }

  @Audited({
    action: 'order.update',
    category: 'DATA_CHANGE',
    resource: { type: 'order', id: '{id}' },
  })
  async audited(id: string, dto: { total: number }): Promise<number> {
    return dto.total + id.length;
  }

  @Audited({
    action: 'order.update',
    category: 'DATA_CHANGE',
    resource: { type: 'order', id: '{id}' },
    capture: { args: true },
  })
  async withArgs(id: string, dto: { total: number }): Promise<number> {
    return dto.total + id.length;
  }
}

/** Takes every batch and keeps nothing: the decorator benchmark measures the request path. */
function discardingStore(): AuditStore {
  const none = async () => [];
  return {
    kind: 'discard',
    init: async () => undefined,
    append: async (events) =>
      events.map((e, i): AuditRecord => ({ ...e, seq: i + 1, prevHash: '', hash: '' })),
    query: none,
    readChain: none,
    heads: none,
    appendCheckpoint: async () => undefined,
    checkpoints: none,
    partitions: none,
    countInPartition: async () => 0,
    lastInPartition: none,
    dropPartition: async () => undefined,
    close: async () => undefined,
  };
}

interface CallCost {
  /** Median latency of one awaited call: what a request waits. */
  readonly p50: number;
  /** Wall time per call over the round, the writer's and the anomaly rules' work included. */
  readonly amortised: number;
}

interface DecoratorCosts {
  readonly plain: CallCost;
  /** Keel minus plain, median over rounds. */
  readonly audited: CallCost;
  readonly withArgs: CallCost;
}

async function timeCalls(fn: () => Promise<number>, calls: number): Promise<CallCost> {
  const latencies = new Float64Array(calls);
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    latencies[i] = Number(process.hrtime.bigint() - t0);
    // A server's event loop turns between requests (I/O); a loop of awaits that never yields
    // would starve the writer's flush (setImmediate) and let the buffer fill.
    if ((i & 63) === 63) await yieldToLoop();
  }
  const amortised = Number(process.hrtime.bigint() - start) / calls;
  latencies.sort();
  return { p50: latencies[calls >> 1]!, amortised };
}

async function decoratorOverhead(): Promise<DecoratorCosts> {
  @Module({
    imports: [
      KeelCoreModule.forRoot({
        serviceName: 'bench',
        redis: false,
        config: loadKeelConfig({ env: {} }),
      }),
      AuditModule.forRoot({ store: { type: 'custom', store: discardingStore() } }),
    ],
    providers: [Orders],
  })
  class DecoratorBenchModule {}
  const app = await NestFactory.createApplicationContext(DecoratorBenchModule, { logger: false });
  await app.init();
  const orders = app.get(Orders);
  const dto = { total: 12.5 };
  const subjects = {
    plain: () => orders.plain('o-1', dto),
    audited: () => orders.audited('o-1', dto),
    withArgs: () => orders.withArgs('o-1', dto),
  };
  const names = Object.keys(subjects) as (keyof typeof subjects)[];
  for (const name of names) await timeCalls(subjects[name], 20_000); // warm-up, JIT
  const perRound = {
    plain: [] as CallCost[],
    audited: [] as CallCost[],
    withArgs: [] as CallCost[],
  };
  for (let round = 0; round < ROUNDS * 2; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + round) % names.length]!;
      perRound[name].push(await timeCalls(subjects[name], 50_000));
    }
  }
  await app.close();
  const added = (name: 'audited' | 'withArgs', field: keyof CallCost) =>
    median(perRound[name].map((cost, i) => cost[field] - perRound.plain[i]![field]));
  const overhead = (name: 'audited' | 'withArgs'): CallCost => ({
    p50: added(name, 'p50'),
    amortised: added(name, 'amortised'),
  });
  return {
    plain: {
      p50: median(perRound.plain.map((c) => c.p50)),
      amortised: median(perRound.plain.map((c) => c.amortised)),
    },
    audited: overhead('audited'),
    withArgs: overhead('withArgs'),
  };
}

export async function run(): Promise<void> {
  const decorator = await decoratorOverhead();
  printTable(
    `@Audited on an async provider method (${ROUNDS * 2} interleaved rounds × 50 000 calls, medians)`,
    ['p50 ns/call', 'amortised ns/call'],
    [
      ['undecorated method', decorator.plain.p50, decorator.plain.amortised],
      ['@Audited adds (resource template)', decorator.audited.p50, decorator.audited.amortised],
      [
        '@Audited adds, capture: { args: true }',
        decorator.withArgs.p50,
        decorator.withArgs.amortised,
      ],
    ],
  );
  // The request path: what a call waits (p50). The amortised figure adds the writer's batches
  // and the anomaly rules, which run on the same thread between requests.
  reportMetric('audit', 'decorator_overhead', 'ns', decorator.audited.p50, {});
  reportMetric('audit', 'decorator_overhead_capture_args', 'ns', decorator.withArgs.p50, {});
  reportMetric('audit', 'decorator_cost_amortised', 'ns', decorator.audited.amortised, {});
  // Only the request path (no PostgreSQL needed): AUDIT_BENCH_DECORATOR_ONLY=1.
  if (process.env['AUDIT_BENCH_DECORATOR_ONLY'] === '1') return;
  const s = await open();
  try {
    const keel: number[] = [];
    const save: number[] = [];
    const raw: number[] = [];
    for (let r = 0; r <= ROUNDS; r++) {
      // Rotated so that load drifting over the run falls on every subject alike.
      const order = [
        () => keelIngest(s, 50_000),
        () => typeormSave(s, 2_000),
        () => rawBatchInsert(s, 50_000),
      ];
      const results = [0, 0, 0];
      for (let k = 0; k < 3; k++) {
        const index = (k + r) % 3;
        results[index] = await order[index]!();
      }
      if (r === 0) continue; // warm-up
      keel.push(results[0]!);
      save.push(results[1]!);
      raw.push(results[2]!);
    }
    printTable(
      'ingest (events/s, medians of interleaved rounds)',
      ['events/s'],
      [
        ['keel append (chain, COPY, batches of 1000)', median(keel)],
        ['TypeORM save() per event', median(save)],
        ['raw batched INSERT (500 rows, no chain)', median(raw)],
      ],
    );
    reportMetric('audit', 'ingest', 'events/s', median(keel), {
      typeorm_save: median(save),
      raw_batch_insert: median(raw),
    });
    const sustainedRate = await sustained(s.store, SUSTAINED);
    printTable(
      `ingest_sustained (${SUSTAINED.toLocaleString('en-US')} rows)`,
      ['events/s over the last third'],
      [['keel', sustainedRate]],
    );
    reportMetric('audit', 'ingest_sustained', 'events/s', sustainedRate, {});
    const exported = await exportRate(s.store);
    printTable(
      'export (NDJSON through AuditQueryService)',
      ['rows', 'rows/s', 'RSS growth MB'],
      [['keel', exported.rows, exported.perSecond, exported.rssGrowthMb]],
    );
    reportMetric('audit', 'export', 'rows/s', exported.perSecond, {});
  } finally {
    await close(s);
  }
}
