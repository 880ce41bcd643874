/** Token of the resolved coordination settings. @internal */
export const COORDINATION_SETTINGS = Symbol('KEEL_COORDINATION_SETTINGS');

/** Metric names. @internal */
export const METRICS = {
  retryAttempts: 'keel_retry_attempts_total',
  breakerState: 'keel_breaker_state',
  breakerCalls: 'keel_breaker_calls_total',
  breakerStoreAvailable: 'keel_breaker_store_available',
  bulkheadActive: 'keel_bulkhead_active',
  bulkheadRejected: 'keel_bulkhead_rejected_total',
  timeouts: 'keel_timeouts_total',
  validationFailures: 'keel_validation_failures_total',
} as const;
