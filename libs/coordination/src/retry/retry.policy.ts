import { Inject, type BeforeApplicationShutdown } from '@nestjs/common';
import { KeelMetrics } from '@keel/core';
import {
  PolicyFactoryFor,
  type Invocation,
  type Next,
  type PolicyFactory,
  type PolicyInterceptor,
  type PolicyTarget,
  isPromiseLike,
} from '@keel/core/internal';
import type { Counter } from 'prom-client';
import { COORDINATION_SETTINGS } from '../coordination.constants.js';
import { COORDINATION_METRICS } from '../coordination.metrics.js';
import { DEFAULTS } from '../coordination.settings.js';
import { resolvePolicyOptions } from '../policy-options.js';
import {
  type CoordinationSettings,
  type RetryOptions,
} from '../interfaces/coordination-options.interface.js';
import { compileErrorFilter, isNonTransientError } from '../error-filter.js';
import { nextDelay, type BackoffSettings } from './backoff.js';

/** Builds `@Retry` interceptors. @internal */
@PolicyFactoryFor('retry')
export class RetryPolicyFactory
  implements PolicyFactory<string | RetryOptions | undefined>, BeforeApplicationShutdown
{
  /** Ended at shutdown: every sleeping retry gives up at once with its last error. */
  private readonly sleeps = new RetrySleeps();
  private readonly attempts: Counter<'name'>;

  constructor(
    @Inject(COORDINATION_SETTINGS) private readonly settings: CoordinationSettings,
    @Inject(KeelMetrics) metrics: KeelMetrics,
  ) {
    this.attempts = metrics.counter(COORDINATION_METRICS.retryAttempts);
  }

  beforeApplicationShutdown(): void {
    this.sleeps.close();
  }

  create(ref: string | RetryOptions | undefined, target: PolicyTarget): PolicyInterceptor {
    const plan = this.plan(ref, target);
    const { maxAttempts, maxDurationMs, retryable } = plan;
    return (invocation: Invocation, next: Next) => {
      // Only a total budget needs the start time; the success path skips the clock otherwise.
      const startedAt = maxDurationMs === undefined ? 0 : Date.now();
      let result: unknown;
      try {
        result = next(invocation);
      } catch (error) {
        // A synchronous method that cannot be retried fails synchronously, as it would undecorated.
        if (maxAttempts <= 1 || !retryable(error)) throw error;
        return retryLoop(plan, { invocation, next, error, startedAt });
      }
      // One rejection handler and no async frame on the success path: a passed-through value
      // costs one derived promise (the failure path allocates its state object, once).
      if (isPromiseLike(result)) {
        return result.then(undefined, (error: unknown) =>
          retryLoop(plan, { invocation, next, error, startedAt }),
        );
      }
      return result;
    };
  }

  /** The method's retry settings, with `DEFAULTS.policy.retry` beneath its options. */
  private plan(ref: string | RetryOptions | undefined, target: PolicyTarget): RetryPlan {
    const { options } = resolvePolicyOptions<RetryOptions>({
      settings: this.settings,
      kind: 'retry',
      ref,
      label: target.label,
    });
    const defaults = DEFAULTS.policy.retry;
    const retryOn =
      compileErrorFilter(options.retryOn) ?? ((error: unknown) => !isNonTransientError(error));
    const abortOn = compileErrorFilter(options.abortOn);
    return {
      label: target.label,
      maxAttempts: options.maxAttempts ?? defaults.maxAttempts,
      maxDurationMs: options.maxDurationMs,
      backoff: {
        kind: options.backoff ?? defaults.backoff,
        delayMs: options.delayMs ?? defaults.delayMs,
        maxDelayMs: options.maxDelayMs ?? defaults.maxDelayMs,
        factor: options.factor ?? defaults.factor,
      },
      retryable: (error: unknown) => retryOn(error) && !(abortOn?.(error) ?? false),
      onRetry: options.onRetry,
      counter: this.attempts.labels({ name: target.label }),
      sleeps: this.sleeps,
    };
  }
}

/** One method's resolved retry settings. */
interface RetryPlan {
  readonly label: string;
  readonly maxAttempts: number;
  readonly maxDurationMs: number | undefined;
  readonly backoff: BackoffSettings;
  readonly retryable: (error: unknown) => boolean;
  readonly onRetry: RetryOptions['onRetry'];
  readonly counter: { inc(): void };
  readonly sleeps: RetrySleeps;
}

/** A call that failed once and may be retried. */
interface FailedCall {
  readonly invocation: Invocation;
  readonly next: Next;
  /** The first attempt's error. */
  readonly error: unknown;
  /** When the first attempt started (0 when there is no `maxDurationMs`). */
  readonly startedAt: number;
}

/** Retries `call` until it succeeds, stops being retryable, or runs out of attempts or budget. */
async function retryLoop(plan: RetryPlan, call: FailedCall): Promise<unknown> {
  const { maxAttempts, maxDurationMs, backoff, sleeps } = plan;
  let error = call.error;
  let previous = backoff.delayMs;
  for (let attempt = 1; ; attempt++) {
    if (attempt >= maxAttempts || !plan.retryable(error) || sleeps.aborted) throw error;
    const delay = nextDelay(backoff, { attempt, previous });
    previous = delay;
    if (maxDurationMs !== undefined && Date.now() - call.startedAt + delay > maxDurationMs)
      throw error;
    plan.onRetry?.({ method: plan.label, attempt, delayMs: delay, error });
    plan.counter.inc();
    if (!(await sleeps.sleep(delay))) throw error;
    try {
      return await call.next(call.invocation);
    } catch (e) {
      error = e;
    }
  }
}

/**
 * Retry sleeps of one application. Each resolves `true` when its time is up, or `false` at once
 * when the application shuts down; no timer outlives the application. A set rather than abort
 * listeners on one shared signal, which would pile up (and warn) under many concurrent retries.
 * @internal
 */
export class RetrySleeps {
  private readonly pending = new Set<{ timer: NodeJS.Timeout; resolve: (done: boolean) => void }>();
  private closed = false;

  get aborted(): boolean {
    return this.closed;
  }

  sleep(ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (ms <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const entry = {
        resolve,
        timer: setTimeout(() => {
          this.pending.delete(entry);
          resolve(true);
        }, ms),
      };
      this.pending.add(entry);
    });
  }

  close(): void {
    this.closed = true;
    for (const entry of this.pending) {
      clearTimeout(entry.timer);
      entry.resolve(false);
    }
    this.pending.clear();
  }
}
