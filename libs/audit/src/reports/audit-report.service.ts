import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { AuditRecord } from '../audit-event.js';
import { AUDIT_SETTINGS } from '../audit.constants.js';
import { AuditError } from '../audit.errors.js';
import { invalidFilter } from '../audit.messages.js';
import type { AuditSettings } from '../interfaces/audit-options.interface.js';
import { AuditQueryService } from '../query/audit-query.service.js';
import { AuditCommitHub } from '../writer/audit-commit-hub.js';
import {
  AUDIT_REPORT_KINDS,
  ReportBuilder,
  pseudonym,
  reportSpec,
  type AuditReport,
  type AuditReportKind,
  type AuditReportRequest,
} from './audit-report.js';
import { reportCsv, reportPdf, type AuditReportFormat } from './report-render.js';

const DEFAULT_MAX_ROWS = 10_000;

/**
 * Compliance reports over the trail — access, SOX change, GDPR Art. 15 subject, HIPAA PHI
 * activity — each with summary statistics, rendered as JSON, CSV or PDF. Reading the trail for
 * a report is itself recorded (an `EXPORT` event `audit.report`).
 * @publicApi
 */
@Injectable()
export class AuditReportService {
  /** Used when `reports.pseudonymKey` is not configured: pseudonyms hold for this process only. */
  private readonly fallbackKey = randomBytes(32).toString('hex');

  constructor(
    @Inject(AuditQueryService) private readonly query: AuditQueryService,
    @Inject(AUDIT_SETTINGS) private readonly settings: AuditSettings,
    @Inject(AuditCommitHub) private readonly hub: AuditCommitHub,
  ) {}

  /**
   * Builds a report over `[from, to)`, reading every matching event once, page by page.
   * @throws AuditError KEEL_AUDIT_INVALID_FILTER for an unknown kind, a bad period, or a
   *   `subject` report without a subject.
   * @example
   * ```ts
   * const report = await reports.build('change', { from: new Date('2026-10-01'), to: new Date('2026-11-01') });
   * const pdf = await reports.render(report, 'pdf');
   * ```
   */
  async build(kind: AuditReportKind, request: AuditReportRequest): Promise<AuditReport> {
    const maxRows = this.check(kind, request);
    const spec = reportSpec(kind, request, this.settings.reports);
    const pseudonymised = kind === 'subject' && request.revealStaff !== true;
    const key = this.settings.reports.pseudonymKey ?? this.fallbackKey;
    const builder = new ReportBuilder({
      kind,
      maxRows,
      showActor: (actor: string | null, record: AuditRecord) => {
        if (actor === null) return '(system)';
        if (!pseudonymised) return actor;
        return actor === record.subject ? '(the subject)' : pseudonym(key, actor);
      },
    });
    for await (const record of this.query.records(spec.filter)) builder.add(record);
    const report = builder.build({
      kind,
      title: spec.title,
      scope: spec.scope,
      from: request.from.toISOString(),
      to: request.to.toISOString(),
      generatedAt: new Date().toISOString(),
      ...(request.tenant !== undefined ? { tenant: request.tenant } : {}),
      ...(kind === 'subject' ? { subject: request.subject } : {}),
      pseudonymised,
    });
    await this.hub.record({
      action: 'audit.report',
      category: 'EXPORT',
      data: {
        kind,
        rows: report.summary.events,
        from: report.from,
        to: report.to,
        ...(kind === 'subject' ? { revealStaff: !pseudonymised } : {}),
      },
    });
    return report;
  }

  /**
   * A report as a document: `json` (UTF-8 JSON of the report), `csv` (summary table, an empty
   * line, the row table), `pdf` (needs the optional peer `pdfkit`).
   */
  async render(report: AuditReport, format: AuditReportFormat): Promise<Buffer> {
    switch (format) {
      case 'json':
        return Buffer.from(JSON.stringify(report, null, 2));
      case 'csv':
        return Buffer.from(reportCsv(report));
      case 'pdf':
        return reportPdf(report);
      default:
        throw new AuditError(
          'KEEL_AUDIT_INVALID_FILTER',
          invalidFilter({
            field: 'format',
            problem: `must be json, csv or pdf (got '${String(format)}')`,
          }),
        );
    }
  }

  /** Validates a request; returns its row cap. */
  private check(kind: AuditReportKind, request: AuditReportRequest): number {
    const problems: string[] = [];
    if (!(AUDIT_REPORT_KINDS as readonly string[]).includes(kind)) {
      problems.push(
        invalidFilter({
          field: 'kind',
          problem: `must be one of ${AUDIT_REPORT_KINDS.join(', ')} (got '${String(kind)}')`,
        }),
      );
    }
    const validDate = (d: unknown): d is Date => d instanceof Date && Number.isFinite(d.getTime());
    if (!validDate(request.from))
      problems.push(invalidFilter({ field: 'from', problem: 'must be a valid Date' }));
    if (!validDate(request.to))
      problems.push(invalidFilter({ field: 'to', problem: 'must be a valid Date' }));
    if (validDate(request.from) && validDate(request.to) && request.from >= request.to) {
      problems.push(invalidFilter({ field: 'to', problem: 'must be after from' }));
    }
    if (
      kind === 'subject' &&
      !(typeof request.subject === 'string' && request.subject.length > 0)
    ) {
      problems.push(
        invalidFilter({ field: 'subject', problem: 'a subject report needs the data subject' }),
      );
    }
    const maxRows = request.maxRows ?? DEFAULT_MAX_ROWS;
    if (!Number.isInteger(maxRows) || maxRows < 0) {
      problems.push(
        invalidFilter({ field: 'maxRows', problem: `must be a whole number ≥ 0 (got ${maxRows})` }),
      );
    }
    if (problems.length > 0) throw new AuditError('KEEL_AUDIT_INVALID_FILTER', problems.join('; '));
    return maxRows;
  }
}
