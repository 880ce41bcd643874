import { describe, expect, it } from '@jest/globals';
import { text } from 'node:stream/consumers';
import { AuditQueryService, type AuditEventInput, type AuditStore } from '@keel/audit';
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
