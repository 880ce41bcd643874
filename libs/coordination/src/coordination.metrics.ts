import type { KeelMetricDefinitions } from '@keel/core/internal';

/**
 * Every metric `@keel/coordination` declares: name, help and labels, written once and created
 * from here (`metrics.counter(COORDINATION_METRICS.retryAttempts)`). The README's metrics table
 * is the public statement of them.
 * @internal
 */
export const COORDINATION_METRICS = {
  retryAttempts: {
    name: 'keel_retry_attempts_total',
    help: 'Retries started (attempts after the first)',
    labelNames: ['name'],
  },
  breakerState: {
    name: 'keel_breaker_state',
    help: 'Circuit breaker state: 0 closed, 1 open (or isolated), 2 half-open',
    labelNames: ['name'],
  },
  breakerCalls: {
    name: 'keel_breaker_calls_total',
    help: 'Calls through circuit breakers by outcome (success, failure, slow, ignored, rejected)',
    labelNames: ['name', 'outcome'],
  },
  breakerStoreAvailable: {
    name: 'keel_breaker_store_available',
    help: 'Whether the shared breaker store is reachable (1) or fleet breakers run locally (0)',
  },
  bulkheadActive: {
    name: 'keel_bulkhead_active',
    help: 'Calls holding a bulkhead slot in this process',
    labelNames: ['name'],
  },
  bulkheadRejected: {
    name: 'keel_bulkhead_rejected_total',
    help: 'Calls rejected by bulkheads (reason: full or queue-timeout)',
    labelNames: ['name', 'reason'],
  },
  timeouts: {
    name: 'keel_timeouts_total',
    help: 'Calls rejected by @Timeout',
    labelNames: ['name'],
  },
  rateLimitCalls: {
    name: 'keel_rate_limit_calls_total',
    help: 'Calls through rate limits by outcome (allowed, waited: ran after waiting its turn, limited)',
    labelNames: ['name', 'outcome'],
  },
  rateLimitWaitSeconds: {
    name: 'keel_rate_limit_wait_seconds',
    help: "Time calls waited for their turn under @RateLimit mode 'wait'",
    labelNames: ['name'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  },
  rateLimitStoreAvailable: {
    name: 'keel_rate_limit_store_available',
    help: 'Whether a fleet rate limit reaches Redis (1) or decides on its per-process insurance limit (0)',
    labelNames: ['name'],
  },
  cacheRequests: {
    name: 'keel_cache_requests_total',
    help: 'Reads of @Cached / CacheService by result (hit_local, hit_shared, stale: served while refreshed, miss, bypassed: store unreachable, ran uncached)',
    labelNames: ['name', 'result'],
  },
  cacheNotStored: {
    name: 'keel_cache_not_stored_total',
    help: 'Values not cached (oversize: bigger than maxValueBytes, unencodable: a cycle or a function, refresh_failed: a background refresh threw)',
    labelNames: ['name', 'reason'],
  },
  cacheLocalEntries: {
    name: 'keel_cache_local_entries',
    help: 'Values held in the in-process cache tier',
    labelNames: [],
  },
  cacheLocalBytes: {
    name: 'keel_cache_local_bytes',
    help: 'Bytes (encoded size) held in the in-process cache tier',
    labelNames: [],
  },
  cacheStoreAvailable: {
    name: 'keel_cache_store_available',
    help: 'Whether the cache reaches its shared store (1) or runs cached methods uncached (0)',
    labelNames: [],
  },
  validationFailures: {
    name: 'keel_validation_failures_total',
    help: 'Calls rejected by @Validate',
    labelNames: ['name'],
  },
} as const satisfies KeelMetricDefinitions;
