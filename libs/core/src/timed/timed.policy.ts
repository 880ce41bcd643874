import { Inject } from '@nestjs/common';
import { isKeelError } from '../core.errors.js';
import { CORE_METRICS } from '../core.metrics.js';
import { PolicyFactoryFor } from '../engine/policy-factory.decorator.js';
import type {
  Invocation,
  Next,
  PolicyFactory,
  PolicyInterceptor,
  PolicyTarget,
} from '../engine/policy.interfaces.js';
import type { FastHistogramChild } from '../metrics/fast-histogram.js';
import { KeelMetrics } from '../metrics/keel-metrics.js';
import type { TimedOptions } from './timed.decorator.js';

/** Name of the method-duration histogram. @publicApi */
export const METHOD_DURATION_METRIC = CORE_METRICS.methodDuration.name;

/**
 * The outcome label of a failed call: a Keel error's code, `http_<status>` for an
 * HttpException, else `error` — a bounded set, never the message.
 * @internal
 */
export function outcomeOf(error: unknown): string {
  if (isKeelError(error)) return error.code;
  const status = (error as { getStatus?: () => unknown } | null)?.getStatus?.();
  if (typeof status === 'number') return `http_${status}`;
  return 'error';
}

/** Builds `@Timed` interceptors. @internal */
@PolicyFactoryFor('timed')
export class TimedPolicyFactory implements PolicyFactory<TimedOptions> {
  constructor(@Inject(KeelMetrics) private readonly metrics: KeelMetrics) {}

  create(options: TimedOptions, target: PolicyTarget): PolicyInterceptor {
    const histogram = this.metrics.fastHistogram({
      ...CORE_METRICS.methodDuration,
      ...(options.buckets ? { buckets: [...options.buckets] } : {}),
    });
    const name = options.name ?? target.label;
    const success = histogram.child({ name, outcome: 'success' });
    const failures = new Map<string, FastHistogramChild>();
    const observeError = (start: number, error: unknown) => {
      const outcome = outcomeOf(error);
      let child = failures.get(outcome);
      if (child === undefined) failures.set(outcome, (child = histogram.child({ name, outcome })));
      child.observe((performance.now() - start) / 1_000);
    };

    return (invocation: Invocation, next: Next) => {
      const start = performance.now();
      let result: unknown;
      try {
        result = next(invocation);
      } catch (error) {
        observeError(start, error);
        throw error;
      }
      if (isPromiseLike(result)) {
        return result.then(
          (value) => {
            success.observe((performance.now() - start) / 1_000);
            return value;
          },
          (error: unknown) => {
            observeError(start, error);
            throw error;
          },
        );
      }
      success.observe((performance.now() - start) / 1_000);
      return result;
    };
  }
}

/** True for native promises and other thenables. @internal */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  // Native promises first: the common case on policy hot paths skips the property lookup.
  return (
    value instanceof Promise ||
    (value !== null &&
      (typeof value === 'object' || typeof value === 'function') &&
      typeof (value as { then?: unknown }).then === 'function')
  );
}
