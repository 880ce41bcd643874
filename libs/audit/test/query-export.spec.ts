import { describe, expect, it } from '@jest/globals';
import { text } from 'node:stream/consumers';
import pg from 'pg';
import { AuditQueryService, type AuditEventInput, type AuditStore } from '@keel/audit';
import { startFixture, type FixtureProcess } from '../../../test/support/child-process.js';
import { databaseUrl } from '../../../test/support/services.js';
import { describeStoreContract } from '../../../test/support/store-contract.js';
import { AuditCommitHub } from '../src/writer/audit-commit-hub.js';
import type { AuditSettings } from '../src/interfaces/audit-options.interface.js';
import { fileStoreImplementation, postgresStoreImplementation, preparedEvent } from './support.js';

function service(store: AuditStore): { queries: AuditQueryService; recorded: AuditEventInput[] } {
  const hub = new AuditCommitHub();
  const recorded: AuditEventInput[] = [];
  hub.setRecorder(async (event) => {
    recorded.push(event);
  });
  const settings = { categories: ['BILLING'] } as unknown as AuditSettings;
  return { queries: new AuditQueryService(store, settings, hub), recorded };
}

async function fill(store: AuditStore, count: number, batch = 2_000): Promise<void> {
  for (let i = 0; i < count; i += batch) {
    await store.append(
      Array.from({ length: Math.min(batch, count - i) }, (_, k) =>
        preparedEvent({ resourceId: `o-${i + k}` }),
      ),
    );
  }
}

describeStoreContract(
  'AuditQueryService',
  [fileStoreImplementation, postgresStoreImplementation],
  (store) => {
    it('pages with cursors until the last page, which has no cursor', async () => {
      await fill(store(), 250);
      const { queries } = service(store());
      const ids: string[] = [];
      let page = await queries.query({}, { limit: 100 });
      ids.push(...page.items.map((r) => r.id));
      while (page.nextCursor !== undefined) {
        page = await queries.query({}, { limit: 100, cursor: page.nextCursor });
        ids.push(...page.items.map((r) => r.id));
      }
      expect(ids).toHaveLength(250);
      expect(new Set(ids).size).toBe(250);
    });

    it('rejects a bad filter with every problem named (KEEL_AUDIT_INVALID_FILTER, 400)', async () => {
      const { queries } = service(store());
      const error = await queries
        .query(
          { from: new Date('nope'), category: 'NOPE' as never, outcome: 'maybe' as never },
          { limit: 0 },
        )
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'KEEL_AUDIT_INVALID_FILTER', status: 400 });
      expect(() => queries.export({ category: 'BOGUS' as never })).toThrow(
        /category: unknown value 'BOGUS'/,
      );
      await expect(queries.query({ category: 'BILLING' as never })).resolves.toEqual({ items: [] });
    });

    it('exports NDJSON, CSV and JSON with every row once, and records an EXPORT event with the count', async () => {
      await fill(store(), 12_345, 5_000);
      const { queries, recorded } = service(store());
      const ndjson = (await text(queries.export({}, 'ndjson'))).trim().split('\n');
      expect(ndjson).toHaveLength(12_345);
      expect(new Set(ndjson.map((l) => (JSON.parse(l) as { id: string }).id)).size).toBe(12_345);
      const csv = (await text(queries.export({ resourceId: 'o-7' }, 'csv'))).split('\r\n');
      expect(csv[0]).toMatch(/^id,occurredAt,/);
      expect(csv.filter((l) => l.length > 0)).toHaveLength(2);
      const json = JSON.parse(await text(queries.export({}, 'json'))) as unknown[];
      expect(json).toHaveLength(12_345);
      expect(recorded.map((e) => [e.category, (e.data as { rows: number }).rows])).toEqual([
        ['EXPORT', 12_345],
        ['EXPORT', 1],
        ['EXPORT', 12_345],
      ]);
    });
  },
);

describe('keyset pagination at scale (PostgreSQL)', () => {
  it('returns every one of 100 000 rows exactly once', async () => {
    const store = await postgresStoreImplementation.create();
    try {
      // A tenth of the rows share one timestamp, so the id half of the keyset is exercised.
      const tie = new Date(Date.UTC(2026, 11, 3)).toISOString();
      for (let i = 0; i < 100_000; i += 5_000) {
        await store.append(
          Array.from({ length: 5_000 }, (_, k) =>
            preparedEvent((i + k) % 10 === 0 ? { occurredAt: tie } : {}),
          ),
        );
      }
      const { queries } = service(store);
      const seen = new Set<string>();
      let pages = 0;
      let cursor: string | undefined;
      do {
        const page = await queries.query({}, { limit: 1_000, cursor });
        for (const r of page.items) seen.add(r.id);
        cursor = page.nextCursor;
        pages += 1;
      } while (cursor !== undefined);
      expect(seen.size).toBe(100_000);
      expect(pages).toBe(100);
    } finally {
      await postgresStoreImplementation.destroy!(store);
    }
  }, 180_000);
});

describe('export at scale (PostgreSQL)', () => {
  it('streams 1 000 000 rows as NDJSON with RSS growth under 100 MB (measured in a process of its own)', async () => {
    const store = await postgresStoreImplementation.create();
    const prefix = (store as unknown as { prefix: string }).prefix;
    const client = new pg.Client({ connectionString: databaseUrl() });
    await client.connect();
    let child: FixtureProcess | undefined;
    try {
      await store.append([preparedEvent({ occurredAt: '2026-11-01T00:00:00.000Z' })]);
      // Rows made by PostgreSQL itself (the export reads rows; it does not check the chain), and
      // without the filter indexes, which the export does not use: seconds instead of a minute.
      for (const index of ['actor', 'tenant', 'resource', 'correlation', 'subject', 'chain_seq']) {
        await client.query(`DROP INDEX ${prefix}_events_${index}`);
      }
      await client.query(
        `INSERT INTO ${prefix}_events (id, chain, seq, occurred_at, service, category, level, action,
           outcome, actor, tenant, ip, user_agent, correlation_id, resource_type, resource_id, tags,
           duration_ms, data, prev_hash, hash)
         SELECT gen_random_uuid(), 'bulk', n, timestamptz '2026-11-01' + n * interval '1 ms', 'test',
           'DATA_ACCESS', 'INFO', 'order.read', 'success', 'user-' || (n % 500), 'acme', '10.0.0.1',
           'jest', 'c-' || n, 'order', 'o-' || n, '{}', 1.5,
           jsonb_build_object('n', n, 'note', repeat('x', 200), 'items', jsonb_build_array(1, 2, 3)),
           repeat('0', 64), repeat('f', 64)
         FROM generate_series(1, 1000000) AS n`,
      );
      await store.close();
      child = startFixture('libs/audit/test/fixtures/audit-export-process.ts', {
        env: { DATABASE_URL: databaseUrl(), AUDIT_PREFIX: prefix },
      });
      const result = await child.waitForMessage((m) => typeof m.rows === 'number', 120_000);
      expect(result.rows).toBe(1_000_001);
      expect((result.peakMb as number) - (result.baselineMb as number)).toBeLessThan(100);
    } finally {
      await child?.kill();
      await client.end();
      await postgresStoreImplementation.destroy!(store);
    }
  }, 300_000);
});
