import type { KeelMetricDefinitions } from '@keel/core/internal';

/**
 * Every metric `@keel/locks` declares, written once: code creates them from here
 * (`metrics.counter(LOCKS_METRICS.timeouts)`), the README's metric table lists them.
 * @internal
 */
export const LOCKS_METRICS = {
  /** Observed on every acquisition: a FastHistogram (see `KeelMetrics.fastHistogram`). */
  acquireSeconds: {
    name: 'keel_lock_acquire_seconds',
    help: 'Time to acquire a Keel lock (waiting included), in seconds',
    labelNames: ['outcome'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  },
  contended: {
    name: 'keel_lock_contended_total',
    help: 'Lock acquisitions that found the lock held and had to wait',
  },
  timeouts: {
    name: 'keel_lock_timeouts_total',
    help: 'Lock acquisitions that gave up after waitMs',
  },
  lost: {
    name: 'keel_lock_lost_total',
    help: 'Held locks lost before release (renewal rejected, expired, store unreachable)',
    labelNames: ['reason'],
  },
  deadlocks: {
    name: 'keel_lock_deadlocks_total',
    help: 'Lock waits failed with DeadlockError',
  },
  held: {
    name: 'keel_locks_held',
    help: 'Locks currently held by this instance',
  },
} as const satisfies KeelMetricDefinitions;
