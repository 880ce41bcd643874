import { createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { AuditRecord } from '../audit-event.js';
import { ReportBuilder, pseudonym, reportSpec, type AuditReportRequest } from './audit-report.js';

const TAGS = { soxTag: 'sox', phiTag: 'phi' };
const FROM = new Date('2026-11-01T00:00:00.000Z');
const TO = new Date('2026-12-01T00:00:00.000Z');

let n = 0;
function record(overrides: Partial<AuditRecord> = {}): AuditRecord {
  n += 1;
  return {
    id: `id-${n}`,
    chain: 'shard-0',
    seq: n,
    prevHash: '',
    hash: '',
    occurredAt: new Date(Date.UTC(2026, 10, 10) + n * 60_000).toISOString(),
    service: 'orders',
    category: 'DATA_ACCESS',
    level: 'INFO',
    action: 'order.read',
    outcome: 'success',
    errorCode: null,
    actor: 'alice',
    tenant: 'acme',
    ip: null,
    userAgent: null,
    correlationId: null,
    resourceType: 'order',
    resourceId: 'o-1',
    subject: null,
    tags: [],
    durationMs: null,
    data: null,
    ...overrides,
  };
}

const header = {
  kind: 'access' as const,
  title: 'Access report',
  scope: 'scope',
  from: FROM.toISOString(),
  to: TO.toISOString(),
  generatedAt: '2026-12-02T00:00:00.000Z',
  pseudonymised: false,
};

describe('reportSpec', () => {
  const request: AuditReportRequest = { from: FROM, to: TO };

  it('access: reads and exports in the period', () => {
    expect(reportSpec('access', request, TAGS)).toEqual({
      title: 'Access report',
      scope: 'Reads and exports of data (categories DATA_ACCESS, EXPORT).',
      filter: { from: FROM, to: TO, category: ['DATA_ACCESS', 'EXPORT'] },
    });
  });

  it('change: the change categories on resources with the SOX tag', () => {
    const spec = reportSpec(
      'change',
      { ...request, tenant: 'acme' },
      { ...TAGS, soxTag: 'ledger' },
    );
    expect(spec.title).toBe('SOX change report');
    expect(spec.scope).toContain("resources tagged 'ledger'");
    expect(spec.filter).toEqual({
      from: FROM,
      to: TO,
      tenant: 'acme',
      category: ['DATA_CHANGE', 'CONFIGURATION', 'AUTHORIZATION'],
      tag: 'ledger',
    });
  });

  it('subject: every event about the subject, whatever its category', () => {
    const spec = reportSpec('subject', { ...request, subject: 'customer-7' }, TAGS);
    expect(spec.title).toBe('GDPR Article 15 subject access report');
    expect(spec.scope).toBe(
      "Processing of personal data of subject 'customer-7': dates and purposes.",
    );
    expect(spec.filter).toEqual({ from: FROM, to: TO, subject: 'customer-7' });
    // Without a subject (the service refuses that request before): no subject filter.
    expect(reportSpec('subject', request, TAGS).filter).toEqual({ from: FROM, to: TO });
    expect(reportSpec('subject', request, TAGS).scope).toContain("subject ''");
  });

  it('phi: every event on resources with the PHI tag', () => {
    const spec = reportSpec('phi', request, { ...TAGS, phiTag: 'health' });
    expect(spec.title).toBe('HIPAA PHI activity report');
    expect(spec.scope).toBe("Every event on resources tagged 'health'.");
    expect(spec.filter).toEqual({ from: FROM, to: TO, tag: 'health' });
    expect(spec.filter).not.toHaveProperty('category');
  });
});

describe('pseudonym', () => {
  it('is stable for one key and actor, and differs across actors and keys', () => {
    const a = pseudonym('key-1', 'alice');
    expect(a).toMatch(/^staff-[0-9a-f]{12}$/);
    expect(pseudonym('key-1', 'alice')).toBe(a);
    expect(pseudonym('key-1', 'bob')).not.toBe(a);
    expect(pseudonym('key-2', 'alice')).not.toBe(a);
  });

  it('is the first 12 hex digits of HMAC-SHA256(key, actor)', () => {
    const expected = createHmac('sha256', 'k').update('alice').digest('hex').slice(0, 12);
    expect(pseudonym('k', 'alice')).toBe(`staff-${expected}`);
  });
});

describe('ReportBuilder', () => {
  const identity = (actor: string | null) => actor ?? '(system)';

  it('builds rows and a summary over every event', () => {
    const builder = new ReportBuilder({ kind: 'access', maxRows: 100, showActor: identity });
    const first = record({ actor: 'alice', action: 'order.read' });
    builder.add(first);
    builder.add(
      record({ actor: 'bob', action: 'order.read', outcome: 'denied', errorCode: 'http_403' }),
    );
    builder.add(
      record({ actor: 'alice', action: 'order.export', category: 'EXPORT', resourceId: null }),
    );
    const last = record({
      actor: null,
      action: 'order.read',
      outcome: 'failure',
      resourceType: null,
      resourceId: null,
      tenant: null,
    });
    builder.add(last);
    const report = builder.build(header);
    expect(report.summary).toEqual({
      events: 4,
      distinctActors: 3,
      distinctResources: 2,
      success: 2,
      failure: 1,
      denied: 1,
      firstEventAt: first.occurredAt,
      lastEventAt: last.occurredAt,
      byActor: [
        { value: 'alice', count: 2 },
        { value: '(system)', count: 1 },
        { value: 'bob', count: 1 },
      ],
      byAction: [
        { value: 'order.read', count: 3 },
        { value: 'order.export', count: 1 },
      ],
      byResourceType: [
        { value: 'order', count: 3 },
        { value: '', count: 1 },
      ],
    });
    expect(report.rows.map((r) => r.resource)).toEqual(['order:o-1', 'order:o-1', 'order', '']);
    expect(report.rows[1]).toEqual({
      occurredAt: expect.any(String),
      actor: 'bob',
      action: 'order.read',
      category: 'DATA_ACCESS',
      resource: 'order:o-1',
      outcome: 'denied',
      errorCode: 'http_403',
      tenant: 'acme',
    });
    expect(report.rows[3]).toMatchObject({ actor: '(system)', errorCode: '', tenant: '' });
    expect(report.rowsOmitted).toBe(0);
    expect(report).toMatchObject(header);
    expect(report.summary).not.toHaveProperty('byPurpose');
    expect(report.rows[0]).not.toHaveProperty('purpose');
  });

  it('keeps at most maxRows rows, and still counts every event', () => {
    const builder = new ReportBuilder({ kind: 'access', maxRows: 2, showActor: identity });
    for (let i = 0; i < 5; i++) builder.add(record());
    const report = builder.build(header);
    expect(report.rows).toHaveLength(2);
    expect(report.rowsOmitted).toBe(3);
    expect(report.summary.events).toBe(5);
    expect(report.summary.byActor).toEqual([{ value: 'alice', count: 5 }]);
  });

  it('maxRows 0 gives a summary-only report', () => {
    const builder = new ReportBuilder({ kind: 'access', maxRows: 0, showActor: identity });
    builder.add(record());
    const report = builder.build(header);
    expect(report.rows).toEqual([]);
    expect(report.rowsOmitted).toBe(1);
  });

  it('has no first or last event when nothing matched', () => {
    const report = new ReportBuilder({ kind: 'phi', maxRows: 10, showActor: identity }).build({
      ...header,
      kind: 'phi',
    });
    expect(report.summary).toEqual({
      events: 0,
      distinctActors: 0,
      distinctResources: 0,
      success: 0,
      failure: 0,
      denied: 0,
      byActor: [],
      byAction: [],
      byResourceType: [],
    });
    expect(report.rows).toEqual([]);
  });

  it('breaks count ties by value, so a report is reproducible', () => {
    const builder = new ReportBuilder({ kind: 'access', maxRows: 10, showActor: identity });
    for (const actor of ['carol', 'alice', 'bob', 'alice', 'carol', 'bob'])
      builder.add(record({ actor }));
    expect(builder.build(header).summary.byActor.map((t) => t.value)).toEqual([
      'alice',
      'bob',
      'carol',
    ]);
  });

  it('subject reports: a purpose per row (data.purpose, else the category) and per purpose', () => {
    const builder = new ReportBuilder({ kind: 'subject', maxRows: 10, showActor: identity });
    builder.add(record({ data: { purpose: 'billing' } }));
    builder.add(record({ data: { purpose: 'billing' } }));
    builder.add(record({ data: { purpose: '' }, category: 'DATA_CHANGE' }));
    builder.add(record({ data: { purpose: 42 } }));
    builder.add(record({ data: null }));
    const report = builder.build({ ...header, kind: 'subject' });
    expect(report.rows.map((r) => r.purpose)).toEqual([
      'billing',
      'billing',
      'DATA_CHANGE',
      'DATA_ACCESS',
      'DATA_ACCESS',
    ]);
    expect(report.summary.byPurpose).toEqual([
      { value: 'DATA_ACCESS', count: 2 },
      { value: 'billing', count: 2 },
      { value: 'DATA_CHANGE', count: 1 },
    ]);
  });

  it('shows actors as showActor maps them, in rows and tallies alike', () => {
    const seen: [string | null, string][] = [];
    const builder = new ReportBuilder({
      kind: 'subject',
      maxRows: 10,
      showActor: (actor, rec) => {
        seen.push([actor, rec.id]);
        return actor === null ? '(system)' : pseudonym('k', actor);
      },
    });
    const r = record({ actor: 'alice' });
    builder.add(r);
    const report = builder.build({ ...header, kind: 'subject', pseudonymised: true });
    expect(seen).toEqual([['alice', r.id]]);
    expect(report.rows[0]!.actor).toBe(pseudonym('k', 'alice'));
    expect(report.summary.byActor).toEqual([{ value: pseudonym('k', 'alice'), count: 1 }]);
  });
});
