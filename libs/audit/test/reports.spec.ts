import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  AuditQueryService,
  AuditReportService,
  type AuditEventInput,
  type AuditStore,
  type PreparedAuditEvent,
} from '@keel/audit';
import { describeStoreContract } from '../../../test/support/store-contract.js';
import type { AuditSettings } from '../src/interfaces/audit-options.interface.js';
import { AuditCommitHub } from '../src/writer/audit-commit-hub.js';
import { fileStoreImplementation, postgresStoreImplementation, preparedEvent } from './support.js';

const execFileAsync = promisify(execFile);

/** Where the rendered PDFs are kept for a person to open (CI artifacts). */
const ARTIFACTS = join(process.cwd(), 'test-results', 'audit-reports');

const PERIOD = { from: new Date('2026-12-01T00:00:00Z'), to: new Date('2027-01-01T00:00:00Z') };

function reportService(
  store: AuditStore,
  key: string | null = 'a-pseudonym-key-of-32-characters!',
): { reports: AuditReportService; recorded: AuditEventInput[] } {
  const hub = new AuditCommitHub();
  const recorded: AuditEventInput[] = [];
  hub.setRecorder(async (event) => {
    recorded.push(event);
  });
  const settings = {
    categories: [],
    reports: { soxTag: 'sox', phiTag: 'phi', ...(key !== null ? { pseudonymKey: key } : {}) },
  } as unknown as AuditSettings;
  const queries = new AuditQueryService(store, settings, hub);
  return { reports: new AuditReportService(queries, settings, hub), recorded };
}

const access = (actor: string, extra: Partial<PreparedAuditEvent> = {}): PreparedAuditEvent =>
  preparedEvent({ category: 'DATA_ACCESS', action: 'order.read', actor, ...extra });

/**
 * The fixture: for each report, events that must be counted and events that must not
 * (another category, no tag, another subject, outside the period).
 */
async function fixture(store: AuditStore): Promise<void> {
  await store.append([
    // access: 6 in scope (5 reads, 1 export), 1 read outside the period
    access('alice'),
    access('alice', { resourceId: 'o-2' }),
    access('alice', { outcome: 'denied', errorCode: 'http_403', resourceId: 'o-3' }),
    access('bob'),
    access('bob', { resourceId: 'o-9' }),
    preparedEvent({
      category: 'EXPORT',
      action: 'audit.export',
      actor: 'carol',
      resourceType: null,
      resourceId: null,
    }),
    access('mallory', { occurredAt: '2026-11-20T10:00:00.000Z' }),
    // change (SOX): 4 in scope; untagged change and tagged read are not
    preparedEvent({ tags: ['sox'], actor: 'alice', resourceType: 'ledger', resourceId: 'gl-1' }),
    preparedEvent({ tags: ['sox'], actor: 'alice', resourceType: 'ledger', resourceId: 'gl-2' }),
    preparedEvent({
      tags: ['sox'],
      actor: 'alice',
      resourceType: 'ledger',
      resourceId: 'gl-1',
      outcome: 'failure',
      errorCode: 'KEEL_LOCK_TIMEOUT',
    }),
    preparedEvent({
      tags: ['sox', 'phi'],
      category: 'CONFIGURATION',
      action: 'config.set',
      actor: 'bob',
      resourceType: 'setting',
      resourceId: 'fx',
    }),
    preparedEvent({ tags: [], actor: 'alice' }),
    access('alice', { tags: ['sox'] }),
    // subject patient-7: 3 by staff (2 purposes), 1 by the subject; patient-8 is someone else
    access('alice', { subject: 'patient-7', tags: ['phi'], data: { purpose: 'treatment' } }),
    access('alice', { subject: 'patient-7', tags: ['phi'], data: { purpose: 'treatment' } }),
    preparedEvent({
      subject: 'patient-7',
      actor: 'bob',
      tags: ['phi'],
      data: { purpose: 'billing' },
    }),
    access('patient-7', { subject: 'patient-7', action: 'portal.read', data: null }),
    access('dave', { subject: 'patient-8', tags: ['phi'] }),
  ]);
}

async function pdfText(pdf: Buffer, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, `${name}-${process.pid}.pdf`);
  writeFileSync(file, pdf);
  const binary = process.env.PDFTOTEXT;
  if (!binary) throw new Error('PDFTOTEXT is not set: run `node scripts/test-services.mjs ensure`');
  const { stdout } = await execFileAsync(binary, ['-layout', file, '-']);
  return stdout;
}

describeStoreContract(
  'AuditReportService',
  [fileStoreImplementation, postgresStoreImplementation],
  (store) => {
    it('access report: reads and exports in the period, counted per actor and outcome', async () => {
      await fixture(store());
      const { reports, recorded } = reportService(store());
      const report = await reports.build('access', PERIOD);
      // 6 in scope + the sox-tagged read + 4 subject reads by alice/dave/patient-7
      expect(report.summary).toMatchObject({ events: 11, denied: 1, failure: 0, success: 10 });
      expect(report.summary.byActor.slice(0, 2)).toEqual([
        { value: 'alice', count: 6 },
        { value: 'bob', count: 2 },
      ]);
      expect(report.rows.map((r) => r.actor)).not.toContain('mallory');
      expect(report.pseudonymised).toBe(false);
      expect(recorded).toMatchObject([
        { action: 'audit.report', category: 'EXPORT', data: { kind: 'access', rows: 11 } },
      ]);
    });

    it('SOX change report: only changes to sox-tagged resources, with actor and outcome; the PDF says so', async () => {
      await fixture(store());
      const { reports } = reportService(store());
      const report = await reports.build('change', PERIOD);
      expect(report.summary).toMatchObject({
        events: 4,
        success: 3,
        failure: 1,
        distinctActors: 2,
        distinctResources: 3,
      });
      expect(report.rows.map((r) => [r.actor, r.resource, r.outcome, r.errorCode])).toEqual([
        ['alice', 'ledger:gl-1', 'success', ''],
        ['alice', 'ledger:gl-2', 'success', ''],
        ['alice', 'ledger:gl-1', 'failure', 'KEEL_LOCK_TIMEOUT'],
        ['bob', 'setting:fx', 'success', ''],
      ]);
      const text = await pdfText(await reports.render(report, 'pdf'), 'sox-change');
      expect(text).toContain('SOX change report');
      expect(text).toMatch(/Events: 4\b/);
      expect(text).toMatch(/Failure: 1\b/);
      expect(text).toContain('KEEL_LOCK_TIMEOUT');
      expect(text).toContain('ledger:gl-2');
    });

    it('GDPR subject report: dates and purposes, staff pseudonymised and stable, the subject named as such', async () => {
      await fixture(store());
      const { reports } = reportService(store());
      const report = await reports.build('subject', { ...PERIOD, subject: 'patient-7' });
      expect(report.summary.events).toBe(4);
      expect(report.summary.byPurpose).toEqual([
        { value: 'treatment', count: 2 },
        { value: 'DATA_ACCESS', count: 1 },
        { value: 'billing', count: 1 },
      ]);
      const actors = report.rows.map((r) => r.actor);
      expect(actors[0]).toMatch(/^staff-[0-9a-f]{12}$/);
      expect(actors[1]).toBe(actors[0]);
      expect(actors[2]).not.toBe(actors[0]);
      expect(actors[3]).toBe('(the subject)');
      const json = (await reports.render(report, 'json')).toString();
      const csv = (await reports.render(report, 'csv')).toString();
      const pdf = await pdfText(await reports.render(report, 'pdf'), 'gdpr-subject');
      for (const document of [json, csv, pdf]) {
        expect(document).not.toMatch(/alice|bob|dave|patient-8/);
        expect(document).toContain('treatment');
      }
      expect(pdf).toContain('GDPR Article 15');
      expect(pdf).toMatch(/Events: 4\b/);
      expect(pdf).toContain('pseudonymised');
      // The same key gives the same pseudonyms in another process's report; another key does not.
      const again = await reportService(store()).reports.build('subject', {
        ...PERIOD,
        subject: 'patient-7',
      });
      expect(again.rows[0]!.actor).toBe(actors[0]);
      const otherKey = await reportService(
        store(),
        'another-key-of-at-least-32-chars!!',
      ).reports.build('subject', { ...PERIOD, subject: 'patient-7' });
      expect(otherKey.rows[0]!.actor).not.toBe(actors[0]);
      const revealed = await reports.build('subject', {
        ...PERIOD,
        subject: 'patient-7',
        revealStaff: true,
      });
      expect(revealed.rows.map((r) => r.actor)).toEqual(['alice', 'alice', 'bob', 'patient-7']);
    });

    it('HIPAA report: every event on phi-tagged resources; CSV holds the summary then the rows', async () => {
      await fixture(store());
      const { reports } = reportService(store());
      const report = await reports.build('phi', PERIOD);
      expect(report.summary).toMatchObject({ events: 5, distinctActors: 3 });
      const csv = (await reports.render(report, 'csv')).toString().split('\r\n');
      expect(csv[0]).toBe('metric,value');
      expect(csv).toContain('Events,5');
      const table = csv.indexOf('');
      expect(csv[table + 1]).toBe('occurredAt,actor,action,category,resource,outcome,errorCode');
      expect(csv.slice(table + 2).filter((l) => l.length > 0)).toHaveLength(5);
      const text = await pdfText(await reports.render(report, 'pdf'), 'hipaa-phi');
      expect(text).toContain('HIPAA PHI activity report');
      expect(text).toMatch(/Events: 5\b/);
    });

    it('a long report continues over pages, and maxRows caps the rows but not the counts', async () => {
      const events = Array.from({ length: 400 }, (_, i) =>
        access(`user-${i % 7}`, { resourceId: `o-${i}` }),
      );
      await store().append(events);
      const { reports } = reportService(store());
      const full = await reports.build('access', PERIOD);
      const text = await pdfText(await reports.render(full, 'pdf'), 'long-access');
      const pages = text.split('\f').filter((page) => page.trim().length > 0);
      expect(pages.length).toBeGreaterThan(5);
      // every page after the first repeats the table heading
      for (const page of pages.slice(1)) expect(page).toMatch(/Time \(UTC\)\s+Actor/);
      expect(text).toContain('o-399');
      const capped = await reports.build('access', { ...PERIOD, maxRows: 10 });
      expect(capped.rows).toHaveLength(10);
      expect(capped.rowsOmitted).toBe(390);
      expect(capped.summary.events).toBe(400);
    });

    it('rejects a bad request with every problem named (KEEL_AUDIT_INVALID_FILTER, 400)', async () => {
      const { reports } = reportService(store());
      const error = await reports
        .build('subject', { from: PERIOD.to, to: PERIOD.from, maxRows: -1 })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'KEEL_AUDIT_INVALID_FILTER', status: 400 });
      expect((error as Error).message).toMatch(/to: must be after from/);
      expect((error as Error).message).toMatch(/subject: a subject report needs the data subject/);
      expect((error as Error).message).toMatch(/maxRows/);
      await expect(reports.build('nope' as never, PERIOD)).rejects.toThrow(
        /kind: must be one of access, change, subject, phi/,
      );
      const report = await reports.build('access', PERIOD);
      await expect(reports.render(report, 'docx' as never)).rejects.toThrow(
        /format: must be json, csv or pdf/,
      );
    });
  },
);

describe('pseudonyms without a configured key', () => {
  it('are still pseudonyms (a random key per process), never the staff identity', async () => {
    const store = await fileStoreImplementation.create();
    try {
      await store.append([access('alice', { subject: 's-1' })]);
      const { reports } = reportService(store, null);
      const report = await reports.build('subject', { ...PERIOD, subject: 's-1' });
      expect(report.rows[0]!.actor).toMatch(/^staff-[0-9a-f]{12}$/);
    } finally {
      await fileStoreImplementation.destroy!(store);
    }
  });
});
