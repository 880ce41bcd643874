import { describe, expect, it } from '@jest/globals';
import type { AuditReport, AuditReportRow } from './audit-report.js';
import { reportCsv, reportPdf, summaryLines } from './report-render.js';

function row(overrides: Partial<AuditReportRow> = {}): AuditReportRow {
  return {
    occurredAt: '2026-11-10T10:00:00.000Z',
    actor: 'alice',
    action: 'order.read',
    category: 'DATA_ACCESS',
    resource: 'order:o-1',
    outcome: 'success',
    errorCode: '',
    tenant: 'acme',
    ...overrides,
  };
}

function report(overrides: Partial<AuditReport> = {}): AuditReport {
  return {
    kind: 'access',
    title: 'Access report',
    scope: 'Reads and exports of data (categories DATA_ACCESS, EXPORT).',
    from: '2026-11-01T00:00:00.000Z',
    to: '2026-12-01T00:00:00.000Z',
    generatedAt: '2026-12-02T08:00:00.000Z',
    pseudonymised: false,
    summary: {
      events: 3,
      distinctActors: 2,
      distinctResources: 1,
      success: 2,
      failure: 0,
      denied: 1,
      firstEventAt: '2026-11-10T10:00:00.000Z',
      lastEventAt: '2026-11-12T10:00:00.000Z',
      byActor: [
        { value: 'alice', count: 2 },
        { value: 'bob', count: 1 },
      ],
      byAction: [{ value: 'order.read', count: 3 }],
      byResourceType: [{ value: 'order', count: 3 }],
    },
    rows: [row(), row({ actor: 'bob', outcome: 'denied', errorCode: 'http_403' })],
    rowsOmitted: 0,
    ...overrides,
  };
}

describe('summaryLines', () => {
  it('lists the summary in print order, the top five of each tally', () => {
    expect(summaryLines(report())).toEqual([
      ['Events', '3'],
      ['Distinct actors', '2'],
      ['Distinct resources', '1'],
      ['Success', '2'],
      ['Failure', '0'],
      ['Denied', '1'],
      ['First event', '2026-11-10T10:00:00.000Z'],
      ['Last event', '2026-11-12T10:00:00.000Z'],
      ['Top actors', 'alice (2), bob (1)'],
      ['Top actions', 'order.read (3)'],
      ['Top resource types', 'order (3)'],
    ]);
  });

  it('writes "-" for an empty period, "(none)" for an empty value, and cuts tallies at five', () => {
    const base = report();
    const lines = summaryLines(
      report({
        summary: {
          ...base.summary,
          firstEventAt: undefined,
          lastEventAt: undefined,
          byActor: ['a', 'b', 'c', 'd', 'e', 'f'].map((value, i) => ({ value, count: 9 - i })),
          byResourceType: [{ value: '', count: 4 }],
        },
      }),
    );
    const get = (label: string) => lines.find(([l]) => l === label)?.[1];
    expect(get('First event')).toBe('-');
    expect(get('Last event')).toBe('-');
    expect(get('Top actors')).toBe('a (9), b (8), c (7), d (6), e (5)');
    expect(get('Top resource types')).toBe('(none) (4)');
  });

  it('adds purposes for a subject report and the omitted rows when maxRows cut them', () => {
    const base = report();
    const lines = summaryLines(
      report({
        kind: 'subject',
        rowsOmitted: 7,
        summary: { ...base.summary, byPurpose: [{ value: 'billing', count: 3 }] },
      }),
    );
    expect(lines.slice(-2)).toEqual([
      ['Purposes', 'billing (3)'],
      ['Rows omitted (maxRows)', '7'],
    ]);
  });
});

describe('reportCsv', () => {
  it('writes a metric,value table, an empty line, then the row table, with CRLF', () => {
    const csv = reportCsv(report());
    const [summary, rows] = csv.split('\r\n\r\n');
    expect(summary!.split('\r\n').slice(0, 6)).toEqual([
      'metric,value',
      'report,Access report',
      'from,2026-11-01T00:00:00.000Z',
      'to,2026-12-01T00:00:00.000Z',
      'generatedAt,2026-12-02T08:00:00.000Z',
      'Events,3',
    ]);
    expect(summary).toContain('\r\nTop actors,"alice (2), bob (1)"');
    expect(summary).not.toContain('tenant,');
    expect(rows!.split('\r\n')).toEqual([
      'occurredAt,actor,action,category,resource,outcome,errorCode',
      '2026-11-10T10:00:00.000Z,alice,order.read,DATA_ACCESS,order:o-1,success,',
      '2026-11-10T10:00:00.000Z,bob,order.read,DATA_ACCESS,order:o-1,denied,http_403',
      '',
    ]);
  });

  it('names tenant and subject, and puts the purpose in the fourth column of a subject report', () => {
    const csv = reportCsv(
      report({
        kind: 'subject',
        tenant: 'acme',
        subject: 'customer-7',
        pseudonymised: true,
        rows: [row({ purpose: 'billing' }), row()],
      }),
    );
    expect(csv).toContain('\r\ntenant,acme\r\nsubject,customer-7\r\n');
    const table = csv.split('\r\n\r\n')[1]!.split('\r\n');
    expect(table[0]).toBe('occurredAt,actor,action,purpose,resource,outcome,errorCode');
    expect(table[1]).toBe('2026-11-10T10:00:00.000Z,alice,order.read,billing,order:o-1,success,');
    // A row without a purpose gets an empty cell, not "undefined".
    expect(table[2]).toBe('2026-11-10T10:00:00.000Z,alice,order.read,,order:o-1,success,');
  });

  it('escapes cells as exports do: quotes, and formula injection', () => {
    const csv = reportCsv(
      report({ title: 'Report "Q4", final', rows: [row({ actor: '=HYPERLINK("x")' })] }),
    );
    expect(csv).toContain('\r\nreport,"Report ""Q4"", final"\r\n');
    expect(csv).toContain(`,"'=HYPERLINK(""x"")",`);
  });
});

describe('reportPdf', () => {
  const pageCount = (pdf: Buffer): number =>
    Number(/\/Count (\d+)/.exec(pdf.toString('latin1'))?.[1]);

  it('renders a one-page PDF for a short report', async () => {
    const pdf = await reportPdf(report());
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf.length).toBeGreaterThan(1_000);
    expect(pdf.toString('latin1').trimEnd().endsWith('%%EOF')).toBe(true);
    expect(pageCount(pdf)).toBe(1);
  });

  it('continues a long row table over more pages', async () => {
    const rows = Array.from({ length: 120 }, (_, i) => row({ actor: `user-${i}` }));
    const short = await reportPdf(report());
    const long = await reportPdf(
      report({
        kind: 'subject',
        subject: 'customer-7',
        tenant: 'acme',
        pseudonymised: true,
        rows,
        rowsOmitted: 5,
      }),
    );
    expect(long.subarray(0, 4).toString('latin1')).toBe('%PDF');
    expect(pageCount(long)).toBeGreaterThanOrEqual(4);
    expect(long.length).toBeGreaterThan(short.length);
  });
});
