/** Token of the resolved {@link LocksSettings}. @internal */
export const LOCKS_SETTINGS = Symbol('KEEL_LOCKS_SETTINGS');

/** Context key of the innermost lock held by the current call chain. @internal */
export const CURRENT_LOCK = Symbol('KEEL_CURRENT_LOCK');

/** Metric names. @internal */
export const LOCK_METRICS = {
  acquireSeconds: 'keel_lock_acquire_seconds',
  contended: 'keel_lock_contended_total',
  timeouts: 'keel_lock_timeouts_total',
  lost: 'keel_lock_lost_total',
  deadlocks: 'keel_lock_deadlocks_total',
  held: 'keel_locks_held',
} as const;
