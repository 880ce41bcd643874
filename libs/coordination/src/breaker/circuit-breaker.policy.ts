import { Inject } from '@nestjs/common';
import {
  PolicyFactoryFor,
  type Invocation,
  type Next,
  type PolicyFactory,
  type PolicyInterceptor,
  type PolicyTarget,
  isPromiseLike,
} from '@keel/core/internal';
import { fail } from '../call-shape.js';
import { COORDINATION_SETTINGS } from '../coordination.constants.js';
import {
  resolvePolicyOptions,
  type CircuitBreakerOptions,
  type CoordinationSettings,
} from '../coordination.options.js';
import { compileErrorFilter, isClientError } from '../error-filter.js';
import { isValidationFailedError, isBulkheadRejectedError } from '../coordination.errors.js';
import { CircuitBreakerRegistry } from './circuit-breaker.registry.js';
import {
  PERMIT_CALL,
  PERMIT_REJECTED,
  type CircuitBreaker,
  type ErrorKind,
  type ResolvedBreakerPolicy,
} from './circuit-breaker.js';

/** Applies defaults to breaker options. @internal */
export function resolveBreakerPolicy(
  options: CircuitBreakerOptions,
  name: string,
): ResolvedBreakerPolicy {
  const slidingWindow = options.slidingWindow ?? 'count';
  const openDurationMs = options.openDurationMs ?? 10_000;
  const recordOn = compileErrorFilter(options.recordOn);
  const ignoreOn =
    compileErrorFilter(options.ignoreOn) ??
    ((error: unknown) =>
      isValidationFailedError(error) || isBulkheadRejectedError(error) || isClientError(error));
  const classify = (error: unknown): ErrorKind => {
    if (ignoreOn(error)) return 'ignored';
    if (recordOn !== undefined && !recordOn(error)) return 'success';
    return 'failure';
  };
  return {
    name: options.name ?? name,
    slidingWindow,
    windowSize: options.windowSize ?? (slidingWindow === 'count' ? 100 : 60),
    minimumCalls: options.minimumCalls ?? 10,
    failureRateThreshold: options.failureRateThreshold ?? 50,
    slowCallDurationMs: options.slowCallDurationMs,
    slowCallRateThreshold:
      options.slowCallDurationMs === undefined ? 101 : (options.slowCallRateThreshold ?? 100),
    consecutiveFailures: options.consecutiveFailures ?? 0,
    openDurationMs,
    halfOpenProbes: options.halfOpenProbes ?? 1,
    probeTimeoutMs: Math.max(openDurationMs, 30_000),
    store: options.store ?? 'local',
    critical: options.critical ?? false,
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
  ) {}

  create(ref: string | CircuitBreakerOptions | undefined, target: PolicyTarget): PolicyInterceptor {
    const { options, policyName } = resolvePolicyOptions<CircuitBreakerOptions>(
      this.settings,
      'circuitBreaker',
      ref,
      target.label,
    );
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
