import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import { KeelMetrics, RedisConnectionFactory, type KeelCoreSettings } from '@keel/core';
import { KEEL_CORE_SETTINGS } from '@keel/core/internal';
import type { AuditRecord } from '../audit-event.js';
import { AUDIT_SETTINGS } from '../audit.constants.js';
import { AUDIT_METRICS } from '../audit.metrics.js';
import type { AuditAnomaly, AuditSettings } from '../interfaces/audit-options.interface.js';
import { AuditCommitHub } from '../writer/audit-commit-hub.js';
import { AnomalyRules, resolveAnomalyRules } from './anomaly-rules.js';
import {
  FallbackWindowCounter,
  MemoryWindowCounter,
  RedisWindowCounter,
  type WindowCounter,
} from './window-counter.js';

/** Keys remembered for suppression before expired ones are swept. */
const MAX_QUIET_KEYS = 10_000;

/** A subscriber of {@link AnomalyDetector.subscribe}. @publicApi */
export type AuditAnomalyListener = (anomaly: AuditAnomaly) => void;

/**
 * Evaluates the anomaly rules on every committed batch of events. Each anomaly is recorded as
 * a `SECURITY` event (`audit.anomaly.<rule>`), counted in `keel_audit_anomalies_total`, passed
 * to `anomalies.onAnomaly` and to in-process subscribers. Rule failures are logged and never
 * touch ingest.
 * @publicApi
 */
@Injectable()
export class AnomalyDetector implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('KeelAudit');
  private readonly listeners = new Set<AuditAnomalyListener>();
  private readonly rules: AnomalyRules | undefined;
  private readonly counter;
  private unsubscribe: (() => void) | undefined;
  private warnedFallback = false;
  /** `rule|key` → event time (ms) until which a repeat is suppressed. */
  private readonly quietUntil = new Map<string, number>();

  constructor(
    @Inject(AUDIT_SETTINGS) private readonly settings: AuditSettings,
    @Inject(KEEL_CORE_SETTINGS) core: KeelCoreSettings,
    @Inject(AuditCommitHub) private readonly hub: AuditCommitHub,
    @Inject(KeelMetrics) private readonly metrics: KeelMetrics,
    @Inject(RedisConnectionFactory) connections: RedisConnectionFactory,
  ) {
    this.counter = metrics.counter(AUDIT_METRICS.anomalies);
    if (settings.anomalies.enabled === false) return;
    this.rules = new AnomalyRules(
      resolveAnomalyRules(settings.anomalies),
      this.windowCounter(core, connections),
    );
  }

  onApplicationBootstrap(): void {
    if (this.rules === undefined || this.unsubscribe !== undefined) return;
    this.unsubscribe = this.hub.subscribe((records) => this.observe(records));
  }

  beforeApplicationShutdown(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Calls `listener` with every anomaly found in this process; returns the unsubscribe. */
  subscribe(listener: AuditAnomalyListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Evaluates committed events (called by the writer through the commit hub). */
  async observe(records: readonly AuditRecord[]): Promise<void> {
    if (this.rules === undefined) return;
    for (const record of records) {
      for (const anomaly of await this.rules.evaluate(record)) {
        if (this.suppressed(anomaly)) continue;
        await this.raise(anomaly);
      }
    }
  }

  /** A repeat of the same rule for the same key within suppressMs (event time) of the last one. */
  private suppressed(anomaly: AuditAnomaly): boolean {
    const suppressMs = this.settings.anomalies.suppressMs ?? 0;
    if (suppressMs === 0) return false;
    const at = Date.parse(anomaly.event.occurredAt);
    const id = `${anomaly.rule}|${anomaly.key}`;
    const until = this.quietUntil.get(id);
    if (until !== undefined && at < until) return true;
    if (this.quietUntil.size >= MAX_QUIET_KEYS) {
      for (const [key, end] of this.quietUntil) if (end <= at) this.quietUntil.delete(key);
    }
    this.quietUntil.set(id, at + suppressMs);
    return false;
  }

  private async raise(anomaly: AuditAnomaly): Promise<void> {
    this.counter.inc({ rule: anomaly.rule });
    for (const listener of this.listeners) {
      try {
        listener(anomaly);
      } catch (error) {
        this.logger.warn(`an anomaly listener threw: ${String(error)}`);
      }
    }
    try {
      await this.settings.anomalies.onAnomaly?.(anomaly);
    } catch (error) {
      this.logger.warn(`anomalies.onAnomaly threw for rule ${anomaly.rule}: ${String(error)}`);
    }
    await this.hub.record({
      action: `audit.anomaly.${anomaly.rule}`,
      category: 'SECURITY',
      level:
        anomaly.rule === 'failed-logins' || anomaly.rule === 'mass-export' ? 'CRITICAL' : 'WARNING',
      ...(anomaly.event.actor !== null ? { actor: anomaly.event.actor } : {}),
      ...(anomaly.event.tenant !== null ? { tenant: anomaly.event.tenant } : {}),
      ...(anomaly.event.correlationId !== null
        ? { correlationId: anomaly.event.correlationId }
        : {}),
      data: {
        key: anomaly.key,
        message: anomaly.message,
        eventId: anomaly.event.id,
        details: { ...anomaly.details },
      },
    });
  }

  private windowCounter(
    core: KeelCoreSettings,
    connections: RedisConnectionFactory,
  ): WindowCounter {
    if (core.redis === undefined) return new MemoryWindowCounter();
    const redis = connections.client(core.redis, 'audit');
    const shared = new RedisWindowCounter(redis, `${core.redisKeyPrefix}audit:`);
    return new FallbackWindowCounter(shared, (error) => {
      if (this.warnedFallback) return;
      this.warnedFallback = true;
      this.logger.warn(
        `anomaly windows fall back to this process: Redis failed (${String(error)})`,
      );
    });
  }
}
