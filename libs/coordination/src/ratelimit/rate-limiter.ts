import { Logger } from '@nestjs/common';
import { KeelDeadlineError } from '@keel/core';
import { withDeadline } from '@keel/core/internal';
import {
  rateLimitOnInsurance,
  rateLimitRedisTimedOut,
  rateLimitRejoined,
} from '../coordination.messages.js';
import { GcraBuckets, gcraParams, nowMicros, type GcraDecision, type GcraParams } from './gcra.js';
import type { RateLimitStore } from './stores/rate-limit.store.js';

/** A rate limit's resolved settings. @internal */
export interface RateLimitSettings {
  readonly name: string;
  readonly limit: number;
  readonly perMs: number;
  readonly burst: number;
  readonly mode: 'reject' | 'wait';
  readonly maxWaitMs: number;
  readonly scope: 'process' | 'fleet';
  readonly insuranceLimit: number;
}

/** Decisions a limit made, for metrics (read by `collect()`, so the hot path only adds). @internal */
export class RateLimitCounts {
  allowed = 0;
  waited = 0;
  limited = 0;
}

/** A limit of this process: decisions are synchronous, on its own clock. @internal */
export class LocalRateLimiter {
  readonly counts = new RateLimitCounts();
  private readonly buckets: GcraBuckets;

  constructor(readonly settings: RateLimitSettings) {
    this.buckets = new GcraBuckets(gcraParams(settings.limit, settings.perMs, settings.burst));
  }

  /** Always available: nothing to reach. */
  get available(): boolean {
    return true;
  }

  decide(bucket: string, maxWaitUs: number): GcraDecision {
    return this.buckets.decide(bucket, nowMicros(), maxWaitUs);
  }
}

/** What a {@link FleetRateLimiter} is built from. @internal */
export interface FleetRateLimiterOptions {
  readonly settings: RateLimitSettings;
  readonly store: RateLimitStore;
  /** A store call slower than this counts as the store being unreachable. */
  readonly commandTimeoutMs: number;
}

// After a failed call to Redis, decisions stay on the insurance limit this long before Redis is
// tried again: without it every call would wait commandTimeoutMs for a dead server.
const RETRY_REDIS_AFTER_MS = 1_000;

/**
 * A limit every replica shares: one store call per decision. When the store fails or is slower
 * than `commandTimeoutMs`, decisions fall back to this process's insurance limit
 * (`insuranceLimit` per `perMs`), and Redis is tried again a second later.
 * @internal
 */
export class FleetRateLimiter {
  readonly settings: RateLimitSettings;
  readonly counts = new RateLimitCounts();
  /** Decisions made on the insurance limit because Redis was unreachable. */
  insuranceDecisions = 0;
  lastError: string | undefined;
  private readonly params: GcraParams;
  private readonly insurance: GcraBuckets;
  private readonly store: RateLimitStore;
  private readonly commandTimeoutMs: number;
  private unreachableUntil = 0;
  private onInsurance = false;
  private readonly logger = new Logger('KeelCoordination');

  constructor(options: FleetRateLimiterOptions) {
    const { settings } = options;
    this.settings = settings;
    this.store = options.store;
    this.commandTimeoutMs = options.commandTimeoutMs;
    this.params = gcraParams(settings.limit, settings.perMs, settings.burst);
    this.insurance = new GcraBuckets(
      gcraParams(settings.insuranceLimit, settings.perMs, settings.burst),
    );
  }

  /** False while decisions are made on the insurance limit. */
  get available(): boolean {
    return !this.onInsurance;
  }

  async decide(bucket: string, maxWaitUs: number): Promise<GcraDecision> {
    if (this.onInsurance && Date.now() < this.unreachableUntil) {
      return this.decideOnInsurance(bucket, maxWaitUs);
    }
    try {
      const decision = await withDeadline(
        this.store.take({ ...this.params, bucket, maxWaitUs }),
        this.commandTimeoutMs,
        () => new KeelDeadlineError(rateLimitRedisTimedOut({ ms: this.commandTimeoutMs })),
      );
      if (this.onInsurance) {
        this.onInsurance = false;
        this.logger.log(rateLimitRejoined({ limit: this.settings.name }));
      }
      return decision;
    } catch (error) {
      this.markUnreachable(error);
      return this.decideOnInsurance(bucket, maxWaitUs);
    }
  }

  private decideOnInsurance(bucket: string, maxWaitUs: number): GcraDecision {
    this.insuranceDecisions++;
    return this.insurance.decide(bucket, nowMicros(), maxWaitUs);
  }

  private markUnreachable(error: unknown): void {
    this.unreachableUntil = Date.now() + RETRY_REDIS_AFTER_MS;
    this.lastError = error instanceof Error ? error.message : String(error);
    if (this.onInsurance) return;
    this.onInsurance = true;
    this.logger.warn(
      rateLimitOnInsurance({
        limit: this.settings.name,
        insurance: this.settings.insuranceLimit,
        reason: this.lastError,
      }),
    );
  }
}

/** Either kind of limit. @internal */
export type AnyRateLimiter = LocalRateLimiter | FleetRateLimiter;
