import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { BUILT_IN_AUDIT_CATEGORIES, type AuditCategory } from '../audit-event.js';
import { AUDIT_SETTINGS } from '../audit.constants.js';
import { AuditIntegrityService } from '../chain/audit-integrity.service.js';
import type { AuditSettings } from '../interfaces/audit-options.interface.js';
import { AuditStore, type AuditFilter, type AuditPartition } from '../stores/audit.store.js';
import { AuditCommitHub } from '../writer/audit-commit-hub.js';

const DAY_MS = 86_400_000;

/** A partition a purge dropped. @publicApi */
export interface AuditPurgedPartition {
  readonly name: string;
  readonly from: string;
  readonly to: string;
  /** Events it held. */
  readonly events: number;
}

/** Why a purge stopped at a partition (it and every newer one are kept). @publicApi */
export interface AuditPurgeStop {
  readonly partition: string;
  /** `retention`: some event in it is within its category's retention (or kept forever). */
  readonly reason: 'retention' | 'legal-hold';
  readonly detail: string;
}

/** What {@link AuditRetentionService.purge} did. @publicApi */
export interface AuditPurgeReport {
  readonly dropped: readonly AuditPurgedPartition[];
  /** The oldest partition kept and why; absent when no partition is left or none was examined. */
  readonly stoppedAt?: AuditPurgeStop;
  /** Chains given a `purge-anchor` checkpoint. */
  readonly anchoredChains: number;
}

/**
 * Per-category retention by whole partitions (a month each): the oldest partitions whose every
 * event is past its category's retention, and holds no event under legal hold, are dropped —
 * oldest first, stopping at the first that must stay, so the trail that remains is contiguous.
 * Before a drop, each chain losing events gets a signed `purge-anchor` checkpoint, so `verify`
 * still passes afterwards. Each purge that drops something is recorded as a `SYSTEM_TASK` event
 * `audit.purge`.
 * @publicApi
 */
@Injectable()
export class AuditRetentionService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('KeelAudit');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<AuditPurgeReport> | undefined;

  constructor(
    @Inject(AUDIT_SETTINGS) private readonly settings: AuditSettings,
    @Inject(AuditStore) private readonly store: AuditStore,
    @Inject(AuditIntegrityService) private readonly integrity: AuditIntegrityService,
    @Inject(AuditCommitHub) private readonly hub: AuditCommitHub,
  ) {}

  /** True when some category has a retention period. */
  get configured(): boolean {
    const { defaultDays, categories } = this.settings.retention;
    return defaultDays !== undefined || Object.keys(categories).length > 0;
  }

  onApplicationBootstrap(): void {
    if (!this.configured || this.settings.retention.intervalMs === 0) return;
    this.timer = setInterval(() => void this.purgeLogged(), this.settings.retention.intervalMs);
    this.timer.unref();
  }

  beforeApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /**
   * Runs one purge now (the timer runs it every `retention.intervalMs`). Runs are serialized.
   * @param now the instant retention is measured from (tests pass a fixed one). @default now
   */
  purge(now: Date = new Date()): Promise<AuditPurgeReport> {
    const run = (this.running ?? Promise.resolve(EMPTY)).then(() => this.purgeOnce(now));
    this.running = run.catch(() => EMPTY);
    return run;
  }

  private async purgeLogged(): Promise<void> {
    try {
      const report = await this.purge();
      if (report.dropped.length > 0) {
        this.logger.log(`audit retention dropped ${report.dropped.map((p) => p.name).join(', ')}`);
      }
    } catch (error) {
      this.logger.warn(`audit retention purge failed: ${String(error)}`);
    }
  }

  private async purgeOnce(now: Date): Promise<AuditPurgeReport> {
    if (!this.configured) return EMPTY;
    const dropped: AuditPurgedPartition[] = [];
    let anchoredChains = 0;
    let stoppedAt: AuditPurgeStop | undefined;
    for (const partition of await this.store.partitions()) {
      stoppedAt = await this.mustKeep(partition, now);
      if (stoppedAt !== undefined) break;
      const events = await this.store.countInPartition(partition, {});
      const lasts = await this.store.lastInPartition(partition);
      anchoredChains += (await this.integrity.anchorPurge(lasts)).length;
      await this.store.dropPartition(partition);
      dropped.push({
        name: partition.name,
        from: partition.from.toISOString(),
        to: partition.to.toISOString(),
        events,
      });
    }
    if (dropped.length > 0) {
      await this.hub.record({
        action: 'audit.purge',
        category: 'SYSTEM_TASK',
        level: 'NOTICE',
        data: {
          dropped: dropped.map((p) => ({ name: p.name, events: p.events })),
          anchoredChains,
        },
      });
    }
    return { dropped, anchoredChains, ...(stoppedAt !== undefined ? { stoppedAt } : {}) };
  }

  /** Why `partition` must stay, or undefined when it may be dropped. */
  private async mustKeep(
    partition: AuditPartition,
    now: Date,
  ): Promise<AuditPurgeStop | undefined> {
    const stop = (reason: AuditPurgeStop['reason'], detail: string): AuditPurgeStop => ({
      partition: partition.name,
      reason,
      detail,
    });
    const expired = this.expiredCategories(partition, now);
    // Also keeps the current month's (empty) partition, which writers may be about to use.
    if (expired.length === 0) return stop('retention', "no category's retention has passed for it");
    const total = await this.store.countInPartition(partition, {});
    const purgeable = await this.store.countInPartition(partition, {
      category: expired as AuditCategory[],
    });
    if (purgeable < total) {
      return stop(
        'retention',
        `${total - purgeable} of its ${total} events are within their category's retention` +
          ` (expired categories: ${expired.join(', ')})`,
      );
    }
    for (const [what, filter] of this.holdFilters()) {
      const held = await this.store.countInPartition(partition, filter);
      if (held > 0) return stop('legal-hold', `${held} events under legal hold (${what})`);
    }
    return undefined;
  }

  /** Categories whose retention has passed for every instant of the partition. */
  private expiredCategories(partition: AuditPartition, now: Date): string[] {
    const { defaultDays, categories } = this.settings.retention;
    const known = new Set([...Object.keys(categories), ...this.knownCategories()]);
    return [...known].filter((category) => {
      const days = categories[category] ?? defaultDays;
      return days !== undefined && partition.to.getTime() + days * DAY_MS <= now.getTime();
    });
  }

  private knownCategories(): string[] {
    return [...BUILT_IN_AUDIT_CATEGORIES, ...this.settings.categories];
  }

  private holdFilters(): [string, AuditFilter][] {
    const hold = this.settings.retention.legalHold ?? {};
    return [
      ...(hold.tenants ?? []).map((tenant): [string, AuditFilter] => [
        `tenant ${tenant}`,
        { tenant },
      ]),
      ...(hold.resources ?? []).map((r): [string, AuditFilter] => [
        `resource ${r.type}${r.id !== undefined ? `:${r.id}` : ''}`,
        { resourceType: r.type, ...(r.id !== undefined ? { resourceId: r.id } : {}) },
      ]),
    ];
  }
}

const EMPTY: AuditPurgeReport = { dropped: [], anchoredChains: 0 };
