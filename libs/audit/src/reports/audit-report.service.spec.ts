import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { loadKeelConfig } from '@keel/core';
import { resolveCoreSettings } from '@keel/core/internal';
import type { AuditEventInput } from '../audit-event.js';
import { AuditError } from '../audit.errors.js';
import { resolveAuditSettings } from '../audit.settings.js';
import type { AuditModuleOptions } from '../interfaces/audit-options.interface.js';
import { AuditQueryService } from '../query/audit-query.service.js';
import { FileAuditStore } from '../stores/file-audit.store.js';
import { AuditCommitHub } from '../writer/audit-commit-hub.js';
import { pseudonym, type AuditReport, type AuditReportRequest } from './audit-report.js';
import { AuditReportService } from './audit-report.service.js';
import { preparedEventFactory } from '../../test/events.js';

const KEY = 'pseudonym-key-0123456789';
const FROM = new Date('2026-11-01T00:00:00.000Z');
const TO = new Date('2026-12-01T00:00:00.000Z');
const preparedEvent = preparedEventFactory(Date.UTC(2026, 10, 5, 9, 0, 0), 60_000, {
  category: 'DATA_ACCESS',
  action: 'order.read',
});

describe('AuditReportService (on the file store)', () => {
  let directory: string;
  let store: FileAuditStore;
  let recorded: AuditEventInput[];

  beforeEach(async () => {
    directory = mkdtempSync(join(tmpdir(), 'keel-audit-report-'));
    store = new FileAuditStore({ directory });
    await store.init();
    recorded = [];
  });

  afterEach(async () => {
    await store.close();
    rmSync(directory, { recursive: true, force: true });
  });

  function reports(options: AuditModuleOptions = { reports: { pseudonymKey: KEY } }) {
    const core = resolveCoreSettings({
      serviceName: 'orders',
      redis: false,
      config: loadKeelConfig({ env: {} }),
    });
    const settings = resolveAuditSettings(options, core);
    const hub = new AuditCommitHub();
    hub.setRecorder(async (event) => {
      recorded.push(event);
    });
    return new AuditReportService(new AuditQueryService(store, settings, hub), settings, hub);
  }

  async function seed(): Promise<void> {
    await store.append([
      preparedEvent({ occurredAt: '2026-10-31T23:59:59.999Z' }), // before the period
      preparedEvent({ actor: 'alice' }),
      preparedEvent({ actor: 'bob', category: 'EXPORT', action: 'order.export' }),
      preparedEvent({ actor: 'bob', category: 'DATA_CHANGE', tags: ['sox'], tenant: 'globex' }),
      preparedEvent({
        actor: 'carol',
        category: 'CONFIGURATION',
        tags: ['sox'],
        outcome: 'denied',
      }),
      preparedEvent({ subject: 'customer-7', actor: 'alice', data: { purpose: 'billing' } }),
      preparedEvent({ subject: 'customer-7', actor: 'customer-7', category: 'DATA_CHANGE' }),
      preparedEvent({ subject: 'customer-7', actor: null, tags: ['phi'] }),
      preparedEvent({ occurredAt: '2026-12-01T00:00:00.000Z' }), // the end is exclusive
    ]);
  }

  it('builds an access report over the period and records that it was read', async () => {
    await seed();
    const report = await reports().build('access', { from: FROM, to: TO });
    expect(report).toMatchObject({
      kind: 'access',
      title: 'Access report',
      from: FROM.toISOString(),
      to: TO.toISOString(),
      pseudonymised: false,
      rowsOmitted: 0,
    });
    expect(report).not.toHaveProperty('subject');
    expect(Date.parse(report.generatedAt)).not.toBeNaN();
    expect(report.summary).toMatchObject({ events: 4, distinctActors: 3 });
    expect(report.rows.map((r) => r.actor)).toEqual(['alice', 'bob', 'alice', '(system)']);
    expect(recorded).toEqual([
      {
        action: 'audit.report',
        category: 'EXPORT',
        data: { kind: 'access', rows: 4, from: FROM.toISOString(), to: TO.toISOString() },
      },
    ]);
  });

  it('builds a SOX change report of one tenant', async () => {
    await seed();
    const report = await reports().build('change', { from: FROM, to: TO, tenant: 'acme' });
    expect(report.tenant).toBe('acme');
    expect(report.rows.map((r) => [r.actor, r.category, r.outcome])).toEqual([
      ['carol', 'CONFIGURATION', 'denied'],
    ]);
  });

  it('builds a PHI report with the configured tag', async () => {
    await seed();
    await store.append([preparedEvent({ tags: ['health'] })]);
    const service = reports({ reports: { phiTag: 'health', pseudonymKey: KEY } });
    const report = await service.build('phi', { from: FROM, to: TO });
    expect(report.summary.events).toBe(1);
    expect(report.scope).toContain("'health'");
  });

  it('pseudonymises staff in a subject report; the subject and the system stay named', async () => {
    await seed();
    const report = await reports().build('subject', { from: FROM, to: TO, subject: 'customer-7' });
    expect(report).toMatchObject({ subject: 'customer-7', pseudonymised: true });
    expect(report.rows.map((r) => [r.actor, r.purpose])).toEqual([
      [pseudonym(KEY, 'alice'), 'billing'],
      ['(the subject)', 'DATA_CHANGE'],
      ['(system)', 'DATA_ACCESS'],
    ]);
    expect(report.summary.byPurpose).toHaveLength(3);
    expect(recorded[0]!.data).toMatchObject({ kind: 'subject', rows: 3, revealStaff: false });
  });

  it('shows staff identities with revealStaff, and records that it did', async () => {
    await seed();
    const report = await reports().build('subject', {
      from: FROM,
      to: TO,
      subject: 'customer-7',
      revealStaff: true,
    });
    expect(report.pseudonymised).toBe(false);
    expect(report.rows.map((r) => r.actor)).toEqual(['alice', 'customer-7', '(system)']);
    expect(recorded[0]!.data).toMatchObject({ revealStaff: true });
  });

  it('without a configured key, pseudonyms hold within one service instance only', async () => {
    await seed();
    const request = { from: FROM, to: TO, subject: 'customer-7' };
    const service = reports({});
    const a = await service.build('subject', request);
    const b = await service.build('subject', request);
    const other = await reports({}).build('subject', request);
    expect(a.rows[0]!.actor).toMatch(/^staff-[0-9a-f]{12}$/);
    expect(a.rows[0]!.actor).not.toBe(pseudonym(KEY, 'alice'));
    expect(b.rows[0]!.actor).toBe(a.rows[0]!.actor);
    expect(other.rows[0]!.actor).not.toBe(a.rows[0]!.actor);
  });

  it('keeps maxRows rows and counts the rest', async () => {
    await seed();
    const report = await reports().build('access', { from: FROM, to: TO, maxRows: 1 });
    expect(report.rows).toHaveLength(1);
    expect(report.rowsOmitted).toBe(3);
    expect(report.summary.events).toBe(4);
  });

  it('refuses a malformed request with every problem at once, and records nothing', async () => {
    const bad = {
      from: new Date('nope'),
      to: 'tomorrow',
      maxRows: -1,
    } as unknown as AuditReportRequest;
    const error = (await reports()
      .build('subject', bad)
      .catch((e: unknown) => e)) as AuditError;
    expect(error).toBeInstanceOf(AuditError);
    expect(error.code).toBe('KEEL_AUDIT_INVALID_FILTER');
    expect(error.message.split('; ')).toEqual([
      'audit filter from: must be a valid Date',
      'audit filter to: must be a valid Date',
      'audit filter subject: a subject report needs the data subject',
      'audit filter maxRows: must be a whole number ≥ 0 (got -1)',
    ]);
    const unknown = (await reports()
      .build('weekly' as never, { from: FROM, to: FROM })
      .catch((e: unknown) => e)) as AuditError;
    expect(unknown.message.split('; ')).toEqual([
      "audit filter kind: must be one of access, change, subject, phi (got 'weekly')",
      'audit filter to: must be after from',
    ]);
    await expect(
      reports().build('access', { from: FROM, to: TO, maxRows: 1.5 }),
    ).rejects.toMatchObject({
      message: 'audit filter maxRows: must be a whole number ≥ 0 (got 1.5)',
    });
    expect(recorded).toEqual([]);
  });

  describe('render', () => {
    async function built(): Promise<{ service: AuditReportService; report: AuditReport }> {
      await seed();
      const service = reports();
      return { service, report: await service.build('access', { from: FROM, to: TO }) };
    }

    it('json: the report as indented UTF-8 JSON', async () => {
      const { service, report } = await built();
      const json = await service.render(report, 'json');
      expect(JSON.parse(json.toString('utf8'))).toEqual(report);
      expect(json.toString('utf8')).toContain('\n  "kind": "access"');
    });

    it('csv: the summary table, an empty line, the rows', async () => {
      const { service, report } = await built();
      const csv = (await service.render(report, 'csv')).toString('utf8');
      expect(csv.startsWith('metric,value\r\nreport,Access report\r\n')).toBe(true);
      expect(csv.split('\r\n\r\n')[1]!.split('\r\n')).toHaveLength(report.rows.length + 2);
    });

    it('pdf: a PDF document', async () => {
      const { service, report } = await built();
      const pdf = await service.render(report, 'pdf');
      expect(pdf.subarray(0, 4).toString('latin1')).toBe('%PDF');
      expect(pdf.length).toBeGreaterThan(1_000);
    });

    it('refuses another format', async () => {
      const { service, report } = await built();
      await expect(service.render(report, 'docx' as never)).rejects.toMatchObject({
        code: 'KEEL_AUDIT_INVALID_FILTER',
        message: "audit filter format: must be json, csv or pdf (got 'docx')",
      });
    });
  });
});
