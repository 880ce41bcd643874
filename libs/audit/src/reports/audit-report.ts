import { createHmac } from 'node:crypto';
import type { AuditCategory, AuditRecord } from '../audit-event.js';
import type { AuditFilter } from '../stores/audit.store.js';

/**
 * The compliance reports:
 * - `access`: who read what in a period (DATA_ACCESS and EXPORT events);
 * - `change`: SOX change report, changes (DATA_CHANGE, CONFIGURATION, AUTHORIZATION) to
 *   resources tagged with `reports.soxTag`, with actor and outcome;
 * - `subject`: GDPR Art. 15 report of the events about one data subject — dates and purposes,
 *   the staff who acted pseudonymised (CJEU C-579/21);
 * - `phi`: HIPAA activity report, every event on resources tagged with `reports.phiTag`.
 * @publicApi
 */
export type AuditReportKind = 'access' | 'change' | 'subject' | 'phi';

/** The report kinds, for validation and listings. @publicApi */
export const AUDIT_REPORT_KINDS = ['access', 'change', 'subject', 'phi'] as const;

/** What a report covers. @publicApi */
export interface AuditReportRequest {
  /** Start of the period, inclusive. */
  readonly from: Date;
  /** End of the period, exclusive. */
  readonly to: Date;
  /** Only this tenant's events. */
  readonly tenant?: string;
  /** The data subject of a `subject` report (required for it, ignored by the others). */
  readonly subject?: string;
  /**
   * `subject` reports only: show staff identities instead of pseudonyms (for a controller's
   * internal use; C-579/21 does not require them in the subject's copy). @default false
   */
  readonly revealStaff?: boolean;
  /** Rows kept in the report; the summary still counts every event. @default 10000 */
  readonly maxRows?: number;
}

/** One line of a report: the fields an auditor reads, in order. @publicApi */
export interface AuditReportRow {
  readonly occurredAt: string;
  /** The actor, or its pseudonym in a `subject` report. */
  readonly actor: string;
  readonly action: string;
  readonly category: string;
  /** `type:id`, `type`, or empty. */
  readonly resource: string;
  readonly outcome: string;
  readonly errorCode: string;
  /** `subject` reports: the purpose (the event's `data.purpose`, else its category). */
  readonly purpose?: string;
  readonly tenant: string;
}

/** A count per value of one field, largest first. @publicApi */
export interface AuditReportTally {
  readonly value: string;
  readonly count: number;
}

/** Summary statistics of a report, over every matching event (not only the rows kept). @publicApi */
export interface AuditReportSummary {
  readonly events: number;
  readonly distinctActors: number;
  readonly distinctResources: number;
  readonly success: number;
  readonly failure: number;
  readonly denied: number;
  /** Earliest and latest event, ISO 8601; absent when no event matched. */
  readonly firstEventAt?: string;
  readonly lastEventAt?: string;
  readonly byActor: readonly AuditReportTally[];
  readonly byAction: readonly AuditReportTally[];
  readonly byResourceType: readonly AuditReportTally[];
  /** `subject` reports: events per purpose. */
  readonly byPurpose?: readonly AuditReportTally[];
}

/** A built report, rendered with `AuditReportService.render`. @publicApi */
export interface AuditReport {
  readonly kind: AuditReportKind;
  readonly title: string;
  /** One sentence on what the report selects. */
  readonly scope: string;
  readonly from: string;
  readonly to: string;
  readonly generatedAt: string;
  readonly tenant?: string;
  readonly subject?: string;
  /** True when actors are pseudonyms (`subject` reports unless `revealStaff`). */
  readonly pseudonymised: boolean;
  readonly summary: AuditReportSummary;
  readonly rows: readonly AuditReportRow[];
  /** Matching events left out of `rows` by `maxRows` (the summary counts them). */
  readonly rowsOmitted: number;
}

/** What a report kind selects and how it is titled. @internal */
export interface ReportSpec {
  readonly title: string;
  readonly scope: string;
  readonly filter: AuditFilter;
}

/** The settings reports read. @internal */
export interface ReportTags {
  readonly soxTag: string;
  readonly phiTag: string;
}

const ACCESS_CATEGORIES: readonly AuditCategory[] = ['DATA_ACCESS', 'EXPORT'];
const CHANGE_CATEGORIES: readonly AuditCategory[] = [
  'DATA_CHANGE',
  'CONFIGURATION',
  'AUTHORIZATION',
];

/** The filter and wording of each kind. @internal */
export function reportSpec(
  kind: AuditReportKind,
  request: AuditReportRequest,
  tags: ReportTags,
): ReportSpec {
  const period: AuditFilter = {
    from: request.from,
    to: request.to,
    ...(request.tenant !== undefined ? { tenant: request.tenant } : {}),
  };
  switch (kind) {
    case 'access':
      return {
        title: 'Access report',
        scope: 'Reads and exports of data (categories DATA_ACCESS, EXPORT).',
        filter: { ...period, category: ACCESS_CATEGORIES },
      };
    case 'change':
      return {
        title: 'SOX change report',
        scope: `Changes (DATA_CHANGE, CONFIGURATION, AUTHORIZATION) to resources tagged '${tags.soxTag}'.`,
        filter: { ...period, category: CHANGE_CATEGORIES, tag: tags.soxTag },
      };
    case 'subject':
      return {
        title: 'GDPR Article 15 subject access report',
        scope: `Processing of personal data of subject '${request.subject ?? ''}': dates and purposes.`,
        filter: {
          ...period,
          ...(request.subject !== undefined ? { subject: request.subject } : {}),
        },
      };
    case 'phi':
      return {
        title: 'HIPAA PHI activity report',
        scope: `Every event on resources tagged '${tags.phiTag}'.`,
        filter: { ...period, tag: tags.phiTag },
      };
  }
}

/** The purpose of an event for a subject report: `data.purpose` when it is text, else the category. */
function purposeOf(record: AuditRecord): string {
  const purpose = record.data?.['purpose'];
  return typeof purpose === 'string' && purpose.length > 0 ? purpose : record.category;
}

/**
 * A stable pseudonym of a staff member: the first 12 hex digits of HMAC-SHA256(key, actor),
 * so one person keeps one pseudonym across reports made with the same key.
 * @internal
 */
export function pseudonym(key: string, actor: string): string {
  return `staff-${createHmac('sha256', key).update(actor).digest('hex').slice(0, 12)}`;
}

/** Counts values of one field. */
class Tally {
  private readonly counts = new Map<string, number>();
  add(value: string): void {
    this.counts.set(value, (this.counts.get(value) ?? 0) + 1);
  }
  get size(): number {
    return this.counts.size;
  }
  /** Largest first; ties by value, so a report is reproducible. */
  sorted(): AuditReportTally[] {
    return [...this.counts]
      .map(([value, count]) => ({ value, count }))
      .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  }
}

/**
 * Folds events, in `(occurredAt, id)` order, into a report's rows and summary; keeps at most
 * `maxRows` rows, and counts everything.
 * @internal
 */
export class ReportBuilder {
  private readonly rows: AuditReportRow[] = [];
  private omitted = 0;
  private events = 0;
  private readonly outcomes = { success: 0, failure: 0, denied: 0 };
  private readonly actors = new Tally();
  private readonly actions = new Tally();
  private readonly resourceTypes = new Tally();
  private readonly resources = new Set<string>();
  private readonly purposes = new Tally();
  private first?: string;
  private last?: string;

  constructor(
    private readonly input: {
      readonly kind: AuditReportKind;
      readonly maxRows: number;
      /** Maps an actor to what the report shows (a pseudonym, or itself). */
      readonly showActor: (actor: string | null, record: AuditRecord) => string;
    },
  ) {}

  add(record: AuditRecord): void {
    this.events += 1;
    this.outcomes[record.outcome] += 1;
    const actor = this.input.showActor(record.actor, record);
    this.actors.add(actor);
    this.actions.add(record.action);
    this.resourceTypes.add(record.resourceType ?? '');
    const resource =
      record.resourceType === null
        ? ''
        : record.resourceId === null
          ? record.resourceType
          : `${record.resourceType}:${record.resourceId}`;
    if (resource !== '') this.resources.add(resource);
    const purpose = this.input.kind === 'subject' ? purposeOf(record) : undefined;
    if (purpose !== undefined) this.purposes.add(purpose);
    this.first ??= record.occurredAt;
    this.last = record.occurredAt;
    if (this.rows.length >= this.input.maxRows) {
      this.omitted += 1;
      return;
    }
    this.rows.push({
      occurredAt: record.occurredAt,
      actor,
      action: record.action,
      category: record.category,
      resource,
      outcome: record.outcome,
      errorCode: record.errorCode ?? '',
      ...(purpose !== undefined ? { purpose } : {}),
      tenant: record.tenant ?? '',
    });
  }

  build(header: Omit<AuditReport, 'summary' | 'rows' | 'rowsOmitted'>): AuditReport {
    const summary: AuditReportSummary = {
      events: this.events,
      distinctActors: this.actors.size,
      distinctResources: this.resources.size,
      ...this.outcomes,
      ...(this.first !== undefined ? { firstEventAt: this.first, lastEventAt: this.last } : {}),
      byActor: this.actors.sorted(),
      byAction: this.actions.sorted(),
      byResourceType: this.resourceTypes.sorted(),
      ...(this.input.kind === 'subject' ? { byPurpose: this.purposes.sorted() } : {}),
    };
    return { ...header, summary, rows: this.rows, rowsOmitted: this.omitted };
  }
}
