import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { loadKeelConfig } from '@keel/core';
import { resolveCoreSettings } from '@keel/core/internal';
import type { AuditEventInput, AuditRecord } from '../audit-event.js';
import { AuditError } from '../audit.errors.js';
import { resolveAuditSettings } from '../audit.settings.js';
import { CSV_COLUMNS } from '../export/csv.js';
import type { AuditFilter } from '../stores/audit.store.js';
import { FileAuditStore } from '../stores/file-audit.store.js';
import { AuditCommitHub } from '../writer/audit-commit-hub.js';
import { encodeCursor } from './audit-cursor.js';
import { AuditQueryService } from './audit-query.service.js';
import { preparedEvent } from '../../test/events.js';

async function text(stream: Readable): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += String(chunk);
  return out;
}

function codeOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AuditError);
    return error as AuditError;
  }
  throw new Error('did not throw');
}

describe('AuditQueryService (on the file store)', () => {
  let directory: string;
  let store: FileAuditStore;
  let recorded: AuditEventInput[];
  let service: AuditQueryService;

  beforeEach(async () => {
    directory = mkdtempSync(join(tmpdir(), 'keel-audit-query-'));
    store = new FileAuditStore({ directory });
    await store.init();
    const hub = new AuditCommitHub();
    recorded = [];
    hub.setRecorder(async (event) => {
      recorded.push(event);
    });
    const core = resolveCoreSettings({
      serviceName: 'orders',
      redis: false,
      config: loadKeelConfig({ env: {} }),
    });
    service = new AuditQueryService(
      store,
      resolveAuditSettings({ categories: ['BILLING'] }, core),
      hub,
    );
  });

  afterEach(async () => {
    await store.close();
    rmSync(directory, { recursive: true, force: true });
  });

  describe('query', () => {
    it('pages through matching events with an opaque cursor', async () => {
      const records = await store.append(Array.from({ length: 5 }, () => preparedEvent()));
      const first = await service.query({}, { limit: 2 });
      expect(first.items.map((r) => r.id)).toEqual([records[0]!.id, records[1]!.id]);
      expect(first.nextCursor).toBe(encodeCursor(records[1]!));
      const second = await service.query({}, { limit: 2, cursor: first.nextCursor! });
      expect(second.items.map((r) => r.id)).toEqual([records[2]!.id, records[3]!.id]);
      const last = await service.query({}, { limit: 2, cursor: second.nextCursor! });
      expect(last.items.map((r) => r.id)).toEqual([records[4]!.id]);
      expect(last).not.toHaveProperty('nextCursor');
    });

    it('has no next cursor when the page is exactly the rest', async () => {
      await store.append([preparedEvent(), preparedEvent()]);
      expect(await service.query({}, { limit: 2 })).toEqual({ items: expect.any(Array) });
      expect(await service.query()).toEqual({ items: expect.any(Array) });
      expect((await service.query()).items).toHaveLength(2);
    });

    it('applies the filter', async () => {
      await store.append([
        preparedEvent({ actor: 'bob', category: 'EXPORT' }),
        preparedEvent({ action: 'user.login', category: 'AUTHENTICATION' }),
        preparedEvent(),
      ]);
      expect((await service.query({ action: 'order.*' })).items).toHaveLength(2);
      expect((await service.query({ actor: 'bob' })).items.map((r) => r.category)).toEqual([
        'EXPORT',
      ]);
      expect((await service.query({ category: 'BILLING' as never })).items).toEqual([]);
    });

    it('refuses a limit outside 1 to 1000', async () => {
      for (const limit of [0, 1_001, 2.5, -1]) {
        const error = await service.query({}, { limit }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(AuditError);
        expect(error).toMatchObject({
          code: 'KEEL_AUDIT_INVALID_FILTER',
          message: `audit filter limit: must be a whole number from 1 to 1000 (got ${limit})`,
        });
      }
      await expect(service.query({}, { limit: 1_000 })).resolves.toEqual({ items: [] });
    });

    it('lists every problem of a filter, one per field', async () => {
      const filter = {
        from: new Date('not a date'),
        to: '2026-12-01' as unknown as Date,
        category: ['DATA_ACCESS', 'NOPE'],
        outcome: 'maybe',
        level: ['LOUD'],
      } as unknown as AuditFilter;
      const error = (await service.query(filter).catch((e: unknown) => e)) as AuditError;
      expect(error.code).toBe('KEEL_AUDIT_INVALID_FILTER');
      expect(error.status).toBe(400);
      expect(error.message).toBe(
        [
          'audit filter from: must be a valid Date',
          'audit filter to: must be a valid Date',
          "audit filter category: unknown value 'NOPE'; known: AUTHENTICATION, AUTHORIZATION, DATA_ACCESS, DATA_CHANGE, CONFIGURATION, SYSTEM_TASK, SECURITY, EXPORT, BILLING",
          "audit filter outcome: unknown value 'maybe'; known: success, failure, denied",
          "audit filter level: unknown value 'LOUD'; known: DEBUG, INFO, NOTICE, WARNING, CRITICAL",
        ].join('; '),
      );
    });

    it('refuses a cursor it did not issue', async () => {
      for (const cursor of ['garbage', Buffer.from('v2|x|y').toString('base64url')]) {
        const error = await service.query({}, { cursor }).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'KEEL_AUDIT_INVALID_CURSOR' });
      }
    });
  });

  describe('export', () => {
    it('streams NDJSON, one record a line, then records the export', async () => {
      const records = await store.append([preparedEvent(), preparedEvent({ actor: 'bob' })]);
      const body = await text(service.export({ actor: 'bob' }));
      expect(body).toBe(JSON.stringify(records[1]) + '\n');
      expect(recorded).toEqual([
        {
          action: 'audit.export',
          category: 'EXPORT',
          data: { rows: 1, format: 'ndjson', filter: { actor: 'bob' } },
        },
      ]);
    });

    it('streams a JSON array, empty or not', async () => {
      expect(await text(service.export({}, 'json'))).toBe('[]');
      const records = await store.append([preparedEvent(), preparedEvent()]);
      expect(JSON.parse(await text(service.export({}, 'json')))).toEqual(records);
    });

    it('streams CSV with the header line, and names the dates of the filter as ISO text', async () => {
      await store.append([preparedEvent({ tags: ['phi', 'sox'] })]);
      const from = new Date('2026-01-01T00:00:00.000Z');
      const body = await text(service.export({ from }, 'csv'));
      const lines = body.split('\r\n');
      expect(lines[0]).toBe(CSV_COLUMNS.join(','));
      expect(lines).toHaveLength(3);
      expect(lines[1]).toContain(',phi;sox,');
      expect(recorded[0]!.data).toEqual({
        rows: 1,
        format: 'csv',
        filter: { from: '2026-01-01T00:00:00.000Z' },
      });
    });

    it('reads page by page and writes in chunks, whatever the size', async () => {
      const records: AuditRecord[] = await store.append(
        Array.from({ length: 5_002 }, () => preparedEvent()),
      );
      const chunks: string[] = [];
      for await (const chunk of service.export({})) chunks.push(String(chunk));
      expect(chunks.length).toBeGreaterThan(1);
      const lines = chunks.join('').trimEnd().split('\n');
      expect(lines).toHaveLength(5_002);
      expect((JSON.parse(lines.at(-1)!) as AuditRecord).id).toBe(records.at(-1)!.id);
      expect(recorded[0]!.data).toMatchObject({ rows: 5_002 });
      let count = 0;
      for await (const record of service.records({})) {
        expect(record.seq).toBe(++count);
      }
      expect(count).toBe(5_002);
    });

    it('refuses a bad filter or format before reading anything', () => {
      expect(codeOf(() => service.export({}, 'xml' as never))).toMatchObject({
        code: 'KEEL_AUDIT_INVALID_FILTER',
        message: "audit filter format: must be ndjson, csv or json (got 'xml')",
      });
      expect(codeOf(() => service.export({ outcome: 'meh' as never })).message).toMatch(
        /^audit filter outcome: unknown value 'meh'/,
      );
      expect(recorded).toEqual([]);
    });
  });
});
