import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { AuditVerifier, PostgresAuditStore } from '@keel/audit';
import { startFixture, type FixtureProcess } from '../../../test/support/child-process.js';
import { databaseUrl } from '../../../test/support/services.js';
import { startTcpProxy, type TcpProxy } from '../../../test/support/tcp-proxy.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { dropTables, uniqueTablePrefix } from './support.js';

const LOAD = 'libs/audit/test/fixtures/audit-load-process.ts';
/** Events acknowledged while PostgreSQL is unreachable, before the signal. */
const WHILE_DOWN = 3_000;

describe('acknowledged events survive the process (real PostgreSQL, child processes)', () => {
  const children: FixtureProcess[] = [];
  const prefixes: string[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) await child.kill();
    for (const cleanup of cleanups.splice(0)) await cleanup();
    for (const prefix of prefixes.splice(0)) await dropTables(prefix);
  });

  /** PostgreSQL behind a proxy the test cuts: no batch can commit while it is cut. */
  async function proxiedDatabase(): Promise<{ proxy: TcpProxy; url: string }> {
    const direct = new URL(databaseUrl());
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(direct.port || 5432) });
    cleanups.push(() => proxy.close());
    const url = new URL(databaseUrl());
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    return { proxy, url: url.toString() };
  }

  function load(env: Record<string, string>): FixtureProcess {
    const child = startFixture(LOAD, { env });
    children.push(child);
    return child;
  }

  const acks = (child: FixtureProcess): number[] =>
    child.messages.filter((m) => typeof m.ack === 'number').map((m) => m.ack as number);

  /** Starts loading, lets some events commit, cuts PostgreSQL, waits for WHILE_DOWN more acks. */
  async function loadThroughOutage(env: Record<string, string>, proxy: TcpProxy) {
    const child = load(env);
    await child.waitForMessage((m) => m.ack === 500);
    await proxy.cut();
    const atCut = acks(child).length;
    await child.waitForMessage((m) => typeof m.ack === 'number' && m.ack >= atCut + WHILE_DOWN);
    return child;
  }

  /** Stored event numbers, and how many rows each has. */
  async function stored(prefix: string): Promise<Map<number, number>> {
    const client = new pg.Client({ connectionString: databaseUrl() });
    await client.connect();
    try {
      const { rows } = await client.query<{ id: string; n: number }>(
        `SELECT resource_id AS id, count(*)::int AS n FROM ${prefix}_events GROUP BY resource_id`,
      );
      return new Map(rows.map((r) => [Number(r.id.slice('ev-'.length)), r.n]));
    } finally {
      await client.end();
    }
  }

  async function expectChainsIntact(prefix: string): Promise<void> {
    const store = new PostgresAuditStore({
      url: databaseUrl(),
      tablePrefix: prefix,
      readOnly: true,
    });
    await store.init();
    try {
      const report = await new AuditVerifier(store).verify();
      expect(report.ok).toBe(true);
    } finally {
      await store.close();
    }
  }

  it('SIGTERM mid-load with PostgreSQL down: the drain retries until it is back — every acknowledged event is stored once', async () => {
    const prefix = uniqueTablePrefix();
    prefixes.push(prefix);
    const { proxy, url } = await proxiedDatabase();
    const child = await loadThroughOutage({ DATABASE_URL: url, AUDIT_PREFIX: prefix }, proxy);
    child.signal('SIGTERM');
    // Only the shutdown drain can store what was acknowledged during the outage.
    const before = await stored(prefix);
    expect(acks(child).filter((n) => !before.has(n)).length).toBeGreaterThanOrEqual(WHILE_DOWN);
    await proxy.restore();
    await child.exited();
    const acknowledged = acks(child);
    const rows = await stored(prefix);
    expect(acknowledged.filter((n) => rows.get(n) !== 1)).toEqual([]);
    expect([...rows.values()].filter((count) => count !== 1)).toEqual([]);
    await expectChainsIntact(prefix);
  });

  it('SIGKILL with writer.spoolDirectory while PostgreSQL is down: the next start stores every acknowledged event, none twice', async () => {
    const prefix = uniqueTablePrefix();
    prefixes.push(prefix);
    const spool = mkdtempSync(join(tmpdir(), 'keel-audit-spool-'));
    cleanups.push(() => rmSync(spool, { recursive: true, force: true }));
    const { proxy, url } = await proxiedDatabase();
    const env = { AUDIT_PREFIX: prefix, AUDIT_SPOOL: spool };
    const first = await loadThroughOutage({ ...env, DATABASE_URL: url }, proxy);
    first.signal('SIGKILL');
    await first.exited();
    const acknowledged = acks(first);
    // The crash lost the buffer: without the spool these events would be gone.
    const lost = await stored(prefix);
    expect(acknowledged.filter((n) => !lost.has(n)).length).toBeGreaterThanOrEqual(WHILE_DOWN);

    // The next process replays the spool, and records 500 new events of its own.
    const second = load({
      ...env,
      DATABASE_URL: databaseUrl(),
      AUDIT_START: '1000000',
      AUDIT_COUNT: '500',
    });
    await second.waitForMessage((m) => m.event === 'done');
    const rows = await waitFor(async () => {
      const now = await stored(prefix);
      return acknowledged.every((n) => now.has(n)) && now.size >= acknowledged.length + 500
        ? now
        : undefined;
    });
    expect(acknowledged.filter((n) => rows.get(n) !== 1)).toEqual([]);
    expect([...rows.values()].filter((count) => count !== 1)).toEqual([]);
    second.signal('SIGTERM');
    await second.exited();
    // Everything is stored, so the clean stop left no segment behind.
    expect(readdirSync(spool).filter((name) => name.startsWith('spool-'))).toEqual([]);
    await expectChainsIntact(prefix);
  });
});
