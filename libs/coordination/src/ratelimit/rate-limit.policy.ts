import { Inject } from '@nestjs/common';
import { KeelDecoratorError, KeelMetrics, RequestContext, escapeKeyValue } from '@keel/core';
import {
  PolicyFactoryFor,
  compileKeyTemplate,
  type Invocation,
  type KeyBuilder,
  type Next,
  type PolicyFactory,
  type PolicyInterceptor,
  type PolicyTarget,
} from '@keel/core/internal';
import type { Histogram } from 'prom-client';
import { fail } from '../call-shape.js';
import { COORDINATION_SETTINGS } from '../coordination.constants.js';
import { RateLimitedError } from '../coordination.errors.js';
import {
  rateLimitDeclaredTwice,
  rateLimitNeedsAsync,
  rateLimitWithoutLimit,
} from '../coordination.messages.js';
import { COORDINATION_METRICS } from '../coordination.metrics.js';
import { DEFAULTS } from '../coordination.settings.js';
import type {
  CoordinationSettings,
  RateLimitOptions,
  RateLimitPer,
} from '../interfaces/coordination-options.interface.js';
import { resolvePolicyOptions } from '../policy-options.js';
import type { GcraDecision } from './gcra.js';
import { RATE_LIMIT_STATE, type RateLimitState } from './rate-limit.context.js';
import {
  FleetRateLimiter,
  LocalRateLimiter,
  type AnyRateLimiter,
  type RateLimitSettings,
} from './rate-limiter.js';
import { RateLimiterRegistry } from './rate-limiter.registry.js';
import { InjectRateLimitStore, RateLimitStore } from './stores/rate-limit.store.js';

/** Builds `@RateLimit` interceptors; limits are shared by name. @internal */
@PolicyFactoryFor('rate-limit')
export class RateLimitPolicyFactory implements PolicyFactory<
  string | RateLimitOptions | undefined
> {
  private readonly waitSeconds: Histogram<'name'>;

  constructor(
    @Inject(COORDINATION_SETTINGS) private readonly settings: CoordinationSettings,
    @InjectRateLimitStore() private readonly store: RateLimitStore,
    @Inject(RateLimiterRegistry) private readonly registry: RateLimiterRegistry,
    @Inject(KeelMetrics) metrics: KeelMetrics,
  ) {
    const { buckets, ...wait } = COORDINATION_METRICS.rateLimitWaitSeconds;
    this.waitSeconds = metrics.histogram({ ...wait, buckets: [...buckets] });
    registerCounters(metrics, registry);
  }

  create(ref: string | RateLimitOptions | undefined, target: PolicyTarget): PolicyInterceptor {
    const { options, policyName } = resolvePolicyOptions<RateLimitOptions>({
      settings: this.settings,
      kind: 'rateLimit',
      ref,
      label: target.label,
    });
    const settings = limitSettings(options, policyName ?? target.label, target.label);
    if (!target.returnsPromise && settings.mode === 'wait') {
      throw new KeelDecoratorError(rateLimitNeedsAsync({ label: target.label, why: 'wait' }));
    }
    if (!target.returnsPromise && settings.scope === 'fleet') {
      throw new KeelDecoratorError(rateLimitNeedsAsync({ label: target.label, why: 'fleet' }));
    }
    const limiter = this.limiterFor(settings, target.label);
    const bucketOf = bucketBuilder({ options, target, name: settings.name });
    return rateLimitInterceptor({
      limiter,
      bucketOf,
      stateInContext: options.stateInContext ?? DEFAULTS.policy.rateLimit.stateInContext,
      maxWaitUs: settings.mode === 'wait' ? settings.maxWaitMs * 1000 : 0,
      async: target.returnsPromise,
      waitSeconds: this.waitSeconds.labels({ name: settings.name }),
    });
  }

  private limiterFor(settings: RateLimitSettings, site: string): AnyRateLimiter {
    const { mode: _mode, maxWaitMs: _maxWaitMs, ...shared } = settings;
    const fingerprint = JSON.stringify(shared);
    const existing = this.registry.get(settings.name);
    if (existing !== undefined) {
      if (existing.fingerprint !== fingerprint) {
        throw new KeelDecoratorError(
          rateLimitDeclaredTwice({ site, name: settings.name, firstSite: existing.site }),
        );
      }
      return existing.limiter;
    }
    // Without Redis a fleet limit is this process's own (one process is the whole fleet).
    const limiter =
      settings.scope === 'fleet' && this.store.kind === 'redis'
        ? new FleetRateLimiter({
            settings,
            store: this.store,
            commandTimeoutMs: this.settings.fleet.commandTimeoutMs,
          })
        : new LocalRateLimiter(settings);
    this.registry.add({ limiter, site, fingerprint });
    return limiter;
  }
}

function limitSettings(options: RateLimitOptions, name: string, label: string): RateLimitSettings {
  if (options.limit === undefined) throw new KeelDecoratorError(rateLimitWithoutLimit({ label }));
  const defaults = DEFAULTS.policy.rateLimit;
  return {
    name: options.name ?? name,
    limit: options.limit,
    perMs: options.perMs ?? defaults.perMs,
    burst: options.burst ?? defaults.burst,
    mode: options.mode ?? defaults.mode,
    maxWaitMs: options.maxWaitMs ?? defaults.maxWaitMs,
    scope: options.scope ?? defaults.scope,
    insuranceLimit: options.insuranceLimit ?? options.limit,
  };
}

/**
 * The bucket of one call: the limit's name, then the key template's value, then the request
 * context's actor, tenant or IP. Escaped values never contain `:`, so `actor:none` (no actor)
 * cannot be any actor's bucket.
 */
function bucketBuilder(input: {
  readonly options: RateLimitOptions;
  readonly target: PolicyTarget;
  readonly name: string;
}): (args: readonly unknown[]) => string {
  const { options, target, name } = input;
  const key: KeyBuilder | undefined =
    options.key === undefined
      ? undefined
      : compileKeyTemplate(options.key, { ...target, usage: '@RateLimit key' });
  const per = options.per;
  if (key === undefined && per === undefined) return () => name;
  return (args) => {
    let bucket = key === undefined ? name : `${name}:${key(args)}`;
    if (per !== undefined) bucket += `:${perSegment(per)}`;
    return bucket;
  };
}

function perSegment(per: RateLimitPer): string {
  const request = RequestContext.current();
  const value =
    per === 'actor'
      ? request?.actor
      : per === 'tenant'
        ? request?.tenant
        : per === 'ip'
          ? request?.ip
          : (request?.actor ?? request?.ip);
  return value === undefined || value === '' ? `${per}:none` : `${per}=${escapeKeyValue(value)}`;
}

interface InterceptorInput {
  readonly limiter: AnyRateLimiter;
  readonly bucketOf: (args: readonly unknown[]) => string;
  /** Bind the decision for `currentRateLimit()` (an AsyncLocalStorage frame per call). */
  readonly stateInContext: boolean;
  readonly maxWaitUs: number;
  readonly async: boolean;
  readonly waitSeconds: { observe(value: number): void };
}

function rateLimitInterceptor(input: InterceptorInput): PolicyInterceptor {
  const { limiter, bucketOf, async } = input;
  const proceed = decisionHandler(input);
  if (limiter instanceof LocalRateLimiter) {
    return (invocation: Invocation, next: Next) => {
      let decision: GcraDecision;
      try {
        decision = limiter.decide(bucketOf(invocation.args), input.maxWaitUs);
      } catch (error) {
        return fail(error, async);
      }
      return proceed(decision, invocation, next);
    };
  }
  return async (invocation: Invocation, next: Next) => {
    const decision = await limiter.decide(bucketOf(invocation.args), input.maxWaitUs);
    return proceed(decision, invocation, next);
  };
}

function decisionHandler(
  input: InterceptorInput,
): (decision: GcraDecision, invocation: Invocation, next: Next) => unknown {
  const { limiter, async, waitSeconds, stateInContext } = input;
  const { name, limit, perMs } = limiter.settings;
  const counts = limiter.counts;
  return (decision, invocation, next) => {
    const insurance = limiter instanceof FleetRateLimiter && !limiter.available;
    if (!decision.allowed) {
      counts.limited++;
      return fail(
        new RateLimitedError({
          limit: name,
          quota: limit,
          perMs,
          retryAfterMs: decision.delayUs / 1000,
          resetMs: decision.resetUs / 1000,
        }),
        async,
      );
    }
    if (decision.delayUs === 0 && !stateInContext) {
      counts.allowed++;
      return next(invocation);
    }
    const waitedMs = decision.delayUs / 1000;
    const run = () => {
      if (!stateInContext) return next(invocation);
      const state: RateLimitState = {
        limit: name,
        quota: limit,
        perMs,
        remaining: decision.remaining,
        resetMs: decision.resetUs / 1000,
        waitedMs,
        at: (decision.nowUs + decision.delayUs) / 1000,
        insurance,
      };
      return RequestContext.runWithValue(RATE_LIMIT_STATE, state, () => next(invocation));
    };
    if (decision.delayUs === 0) {
      counts.allowed++;
      return run();
    }
    counts.waited++;
    waitSeconds.observe(waitedMs / 1000);
    return new Promise((resolve) => setTimeout(resolve, Math.ceil(waitedMs))).then(run);
  };
}

/** Counters read from each limit's plain counts at scrape time: the hot path only adds. */
function registerCounters(metrics: KeelMetrics, registry: RateLimiterRegistry): void {
  const reported = new Map<string, number>();
  metrics.counter({
    ...COORDINATION_METRICS.rateLimitCalls,
    collect() {
      for (const limiter of registry.list()) {
        const name = limiter.settings.name;
        for (const outcome of ['allowed', 'waited', 'limited'] as const) {
          const key = `${name}\u0000${outcome}`;
          const delta = limiter.counts[outcome] - (reported.get(key) ?? 0);
          if (delta > 0) this.inc({ name, outcome }, delta);
          reported.set(key, limiter.counts[outcome]);
        }
      }
    },
  });
  metrics.gauge({
    ...COORDINATION_METRICS.rateLimitStoreAvailable,
    collect() {
      for (const limiter of registry.list()) {
        if (limiter instanceof FleetRateLimiter) {
          this.set({ name: limiter.settings.name }, limiter.available ? 1 : 0);
        }
      }
    },
  });
}
