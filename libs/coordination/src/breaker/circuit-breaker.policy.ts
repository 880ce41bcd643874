import { Inject } from '@nestjs/common';
import { KeelConfigError, type KeelCoreSettings } from '@keel/core';
import {
  KEEL_CORE_SETTINGS,
  PolicyFactoryFor,
  redisRequired,
  type Invocation,
  type Next,
  type PolicyFactory,
  type PolicyInterceptor,
  type PolicyTarget,
  isPromiseLike,
} from '@keel/core/internal';
import { fail } from '../call-shape.js';
import { COORDINATION_SETTINGS } from '../coordination.constants.js';
import { inlineBreakerStoreKey } from '../coordination.messages.js';
import { DEFAULTS } from '../coordination.settings.js';
import { resolvePolicyOptions } from '../policy-options.js';
import {
  type CircuitBreakerOptions,
  type CoordinationSettings,
} from '../interfaces/coordination-options.interface.js';
import { compileErrorFilter, isClientError } from '../error-filter.js';
import {
  isBulkheadRejectedError,
  isRateLimitedError,
  isValidationFailedError,
} from '../coordination.errors.js';
import { CircuitBreakerRegistry } from './circuit-breaker.registry.js';
import {
  PERMIT_CALL,
  PERMIT_REJECTED,
  type CircuitBreaker,
  type ErrorKind,
  type ResolvedBreakerPolicy,
} from './circuit-breaker.js';

/** `slowCallRateThreshold` when no `slowCallDurationMs` is set: a rate no window reaches. */
const SLOW_CALLS_OFF = 101;
/** `consecutiveFailures` when unset: the store and the state machine read 0 as off. */
const CONSECUTIVE_FAILURES_OFF = 0;
/**
 * A half-open period whose probes never all report ends after `openDurationMs`, but never sooner
 * than this: a probe is a real call and may legitimately take seconds.
 */
const MIN_PROBE_TIMEOUT_MS = 30_000;

/** Applies `DEFAULTS.policy.circuitBreaker` beneath breaker options. @internal */
export function resolveBreakerPolicy(
  options: CircuitBreakerOptions,
  name: string,
): ResolvedBreakerPolicy {
  const defaults = DEFAULTS.policy.circuitBreaker;
  const slidingWindow = options.slidingWindow ?? defaults.slidingWindow;
  const openDurationMs = options.openDurationMs ?? defaults.openDurationMs;
  const recordOn = compileErrorFilter(options.recordOn);
  const ignoreOn =
    compileErrorFilter(options.ignoreOn) ??
    ((error: unknown) =>
      isValidationFailedError(error) ||
      isBulkheadRejectedError(error) ||
      // Keel's own limit refused the call before it reached the dependency: no news about it.
      isRateLimitedError(error) ||
      isClientError(error));
  const classify = (error: unknown): ErrorKind => {
    if (ignoreOn(error)) return 'ignored';
    if (recordOn !== undefined && !recordOn(error)) return 'success';
    return 'failure';
  };
  return {
    name: options.name ?? name,
    slidingWindow,
    windowSize: options.windowSize ?? defaults.windowSize[slidingWindow],
    minimumCalls: options.minimumCalls ?? defaults.minimumCalls,
    failureRateThreshold: options.failureRateThreshold ?? defaults.failureRateThreshold,
    slowCallDurationMs: options.slowCallDurationMs,
    // Above 100 %, so without a slow-call duration the slow-call rate can never open the breaker.
    slowCallRateThreshold:
      options.slowCallDurationMs === undefined
        ? SLOW_CALLS_OFF
        : (options.slowCallRateThreshold ?? defaults.slowCallRateThreshold),
    consecutiveFailures: options.consecutiveFailures ?? CONSECUTIVE_FAILURES_OFF,
    openDurationMs,
    halfOpenProbes: options.halfOpenProbes ?? defaults.halfOpenProbes,
    probeTimeoutMs: Math.max(openDurationMs, MIN_PROBE_TIMEOUT_MS),
    store: options.store ?? defaults.store,
    critical: options.critical ?? defaults.critical,
    classify,
  };
}

/** Builds `@CircuitBreaker` interceptors. @internal */
@PolicyFactoryFor('circuit-breaker')
export class CircuitBreakerPolicyFactory implements PolicyFactory<
  string | CircuitBreakerOptions | undefined
> {
  constructor(
    @Inject(COORDINATION_SETTINGS) private readonly settings: CoordinationSettings,
    @Inject(CircuitBreakerRegistry) private readonly registry: CircuitBreakerRegistry,
    @Inject(KEEL_CORE_SETTINGS) private readonly core: KeelCoreSettings,
  ) {}

  create(ref: string | CircuitBreakerOptions | undefined, target: PolicyTarget): PolicyInterceptor {
    const { options, policyName } = resolvePolicyOptions<CircuitBreakerOptions>({
      settings: this.settings,
      kind: 'circuitBreaker',
      ref: ref,
      label: target.label,
    });
    // A named policy asking for Redis was refused with the settings; inline options are here.
    if (policyName === undefined && options.store === 'redis' && this.core.redis === undefined) {
      const key = inlineBreakerStoreKey({ label: target.label });
      throw new KeelConfigError([redisRequired({ key, asked: "'redis'" })]);
    }
    const policy = resolveBreakerPolicy(options, policyName ?? target.label);
    const fingerprint = JSON.stringify({ ...options, name: policy.name }, (_, v: unknown) =>
      typeof v === 'function' ? `fn:${(v as Function).name}` : v,
    );
    const breaker = this.registry.obtain(policy, fingerprint, target.label);
    return breakerInterceptor(breaker, target.returnsPromise);
  }
}

function breakerInterceptor(breaker: CircuitBreaker, async: boolean): PolicyInterceptor {
  const timed = breaker.timesCalls;

  const settle = async (
    promise: PromiseLike<unknown>,
    permit: number,
    start: number,
  ): Promise<unknown> => {
    try {
      const value = await promise;
      breaker.success(permit, timed ? performance.now() - start : 0);
      return value;
    } catch (error) {
      breaker.failure(permit, error, timed ? performance.now() - start : 0);
      throw error;
    }
  };

  // The common case (closed, no slow-call timing) needs no per-call state, so its handlers are
  // allocated once here instead of an async frame per call.
  const closedOk = (value: unknown) => {
    breaker.success(PERMIT_CALL, 0);
    return value;
  };
  const closedError = (error: unknown) => {
    breaker.failure(PERMIT_CALL, error, 0);
    throw error;
  };

  const run = (permit: number, invocation: Invocation, next: Next): unknown => {
    if (permit === PERMIT_REJECTED) return fail(breaker.rejectionError(), async);
    const start = timed ? performance.now() : 0;
    let result: unknown;
    try {
      result = next(invocation);
    } catch (error) {
      breaker.failure(permit, error, timed ? performance.now() - start : 0);
      throw error;
    }
    if (isPromiseLike(result)) {
      return !timed && permit === PERMIT_CALL
        ? result.then(closedOk, closedError)
        : settle(result, permit, start);
    }
    breaker.success(permit, timed ? performance.now() - start : 0);
    return result;
  };

  return (invocation: Invocation, next: Next) => {
    const permit = breaker.acquire();
    if (typeof permit === 'number') return run(permit, invocation, next);
    return permit.then((p) => run(p, invocation, next));
  };
}
