import type { AuditRecord } from '../audit-event.js';
import type { AuditAnomaly, AuditAnomalyOptions } from '../interfaces/audit-options.interface.js';
import { wildcardPattern } from '../stores/filter.js';
import { RateBaseline } from './rate-baseline.js';
import type { WindowCounter } from './window-counter.js';

/** The anomaly rule options with every default filled in. @internal */
export interface ResolvedAnomalyRules {
  readonly failedLogins: { threshold: number; windowMs: number; actions: readonly string[] };
  readonly rateSpike: { zScore: number; minEvents: number; bucketMs: number; alpha: number };
  readonly offHours: {
    startHour: number;
    endHour: number;
    weekends: boolean;
    categories: readonly string[];
  };
  readonly massExport: { rows: number };
  readonly privilegeChange: { actions: readonly string[] };
}

/** Closed buckets a rate baseline needs before it may call a bucket a spike. */
const WARMUP_BUCKETS = 10;

const anyOf = (patterns: readonly string[]) => {
  const compiled = patterns.map(wildcardPattern);
  return (action: string) => compiled.some((p) => p.test(action));
};

/**
 * The five rules, evaluated per committed event (CloudTrail-Insights style). Counting rules
 * (failed logins) use a {@link WindowCounter} — Redis-shared when Redis is configured — and fire
 * once when the count reaches the threshold; the rate baseline is per process.
 * @internal
 */
export class AnomalyRules {
  private readonly isLogin: (action: string) => boolean;
  private readonly isPrivilegeChange: (action: string) => boolean;
  private readonly baseline: RateBaseline;

  constructor(
    private readonly rules: ResolvedAnomalyRules,
    private readonly counter: WindowCounter,
  ) {
    this.isLogin = anyOf(rules.failedLogins.actions);
    this.isPrivilegeChange = anyOf(rules.privilegeChange.actions);
    this.baseline = new RateBaseline({ ...rules.rateSpike, warmupBuckets: WARMUP_BUCKETS });
  }

  /** The anomalies this event completes (usually none). */
  async evaluate(event: AuditRecord): Promise<AuditAnomaly[]> {
    if (event.action.startsWith('audit.anomaly.')) return [];
    const found: AuditAnomaly[] = [];
    await this.failedLogins(event, found);
    this.rateSpike(event, found);
    this.offHours(event, found);
    this.massExport(event, found);
    if (this.isPrivilegeChange(event.action) && event.outcome === 'success') {
      found.push(
        anomaly(
          'privilege-change',
          event.actor ?? '-',
          event,
          `${event.actor ?? 'someone'} performed ${event.action}`,
          {},
        ),
      );
    }
    return found;
  }

  private async failedLogins(event: AuditRecord, found: AuditAnomaly[]): Promise<void> {
    if (event.outcome === 'success' || !this.isLogin(event.action)) return;
    const { threshold, windowMs } = this.rules.failedLogins;
    const at = Date.parse(event.occurredAt);
    for (const [kind, value] of [
      ['actor', event.actor],
      ['ip', event.ip],
    ] as const) {
      if (value === null) continue;
      const count = await this.counter.add(`failed-logins:${kind}:${value}`, at, windowMs);
      // Exactly at the threshold: one anomaly per burst, not one per further failure.
      if (count === threshold) {
        found.push(
          anomaly(
            'failed-logins',
            `${kind}:${value}`,
            event,
            `${count} failed logins by ${kind} ${value} within ${windowMs} ms`,
            {
              count,
              windowMs,
            },
          ),
        );
      }
    }
  }

  private rateSpike(event: AuditRecord, found: AuditAnomaly[]): void {
    const key = `${event.actor ?? '-'}|${event.action}`;
    const spike = this.baseline.observe(key, Date.parse(event.occurredAt));
    if (spike === undefined) return;
    found.push(
      anomaly(
        'rate-spike',
        key,
        event,
        `${event.actor ?? 'anonymous'} ran ${event.action} ${spike.count} times in one bucket (baseline ${spike.mean.toFixed(1)})`,
        {
          count: spike.count,
          mean: Number(spike.mean.toFixed(3)),
          zScore: Number(spike.z.toFixed(2)),
        },
      ),
    );
  }

  private offHours(event: AuditRecord, found: AuditAnomaly[]): void {
    const { startHour, endHour, weekends, categories } = this.rules.offHours;
    if (!categories.includes(event.category)) return;
    const at = new Date(event.occurredAt);
    const hour = at.getUTCHours();
    const weekend = at.getUTCDay() === 0 || at.getUTCDay() === 6;
    if ((weekends && weekend) || hour < startHour || hour >= endHour) {
      found.push(
        anomaly(
          'off-hours',
          event.actor ?? '-',
          event,
          `${event.action} at ${event.occurredAt} is outside working hours`,
          { hour },
        ),
      );
    }
  }

  private massExport(event: AuditRecord, found: AuditAnomaly[]): void {
    if (event.category !== 'EXPORT' && !event.action.endsWith('.export')) return;
    const rows = event.data?.['rows'];
    if (typeof rows === 'number' && rows >= this.rules.massExport.rows) {
      found.push(
        anomaly(
          'mass-export',
          event.actor ?? '-',
          event,
          `${event.actor ?? 'someone'} exported ${rows} rows`,
          { rows },
        ),
      );
    }
  }
}

function anomaly(
  rule: string,
  key: string,
  event: AuditRecord,
  message: string,
  details: Readonly<Record<string, number | string>>,
): AuditAnomaly {
  return { rule, key, message, event, details };
}

/** Fills the anomaly options' defaults (already merged by the settings) into a typed object. @internal */
export function resolveAnomalyRules(options: AuditAnomalyOptions): ResolvedAnomalyRules {
  return options as unknown as ResolvedAnomalyRules;
}
