import type { FastHistogram, FastHistogramChild, KeelMetrics } from '@keel/core';
import { LOCKS_METRICS } from './locks.metrics.js';

// Typed through KeelMetrics rather than imported from prom-client: prom-client is a dependency of
// @keel/core, not of @keel/locks, and this class's declaration file must not name it.
type Counter = ReturnType<KeelMetrics['counter']>;
type Gauge = ReturnType<KeelMetrics['gauge']>;

/** How an acquisition ended, as the `outcome` label of `keel_lock_acquire_seconds`. @internal */
export type AcquireOutcome = 'acquired' | 'timeout' | 'deadlock' | 'aborted' | 'error';

/**
 * The metrics one `LockService` records, created once from {@link LOCKS_METRICS} in the
 * application's `KeelMetrics` and shared by the service's wait loop and hold registry.
 * @internal
 */
export class LockInstruments {
  /** Observed on every acquisition: the label set is resolved once (see FastHistogram). */
  readonly acquireSeconds: FastHistogram<'outcome'>;
  /** The `acquired` child of {@link acquireSeconds}, the one the uncontended path observes. */
  readonly acquiredSeconds: FastHistogramChild;
  readonly contended: Counter;
  readonly timeouts: Counter;
  readonly lost: Counter;
  readonly deadlocks: Counter;
  readonly held: Gauge;

  constructor(metrics: KeelMetrics) {
    this.acquireSeconds = metrics.fastHistogram(LOCKS_METRICS.acquireSeconds);
    this.acquiredSeconds = this.acquireSeconds.child({ outcome: 'acquired' });
    this.contended = metrics.counter(LOCKS_METRICS.contended);
    this.timeouts = metrics.counter(LOCKS_METRICS.timeouts);
    this.lost = metrics.counter(LOCKS_METRICS.lost);
    this.deadlocks = metrics.counter(LOCKS_METRICS.deadlocks);
    this.held = metrics.gauge(LOCKS_METRICS.held);
  }

  /** Records how long an acquisition took, from `start` (a `performance.now()` reading). */
  observeAcquire(outcome: AcquireOutcome, start: number): void {
    const seconds = (performance.now() - start) / 1_000;
    if (outcome === 'acquired') this.acquiredSeconds.observe(seconds);
    else this.acquireSeconds.observe({ outcome }, seconds);
  }
}
