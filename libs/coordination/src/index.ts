export { CoordinationModule } from './coordination.module.js';
export type {
  BackoffKind,
  BulkheadOptions,
  CacheEvictOptions,
  CacheModuleOptions,
  CachePutOptions,
  CacheableClass,
  CacheCodec,
  CachedOptions,
  CircuitBreakerOptions,
  CoordinationModuleOptions,
  JsonSchemaRuleSet,
  NamedPolicy,
  RateLimitOptions,
  RateLimitPer,
  RetryEvent,
  RetryOptions,
  TimeoutOptions,
} from './interfaces/coordination-options.interface.js';

export {
  COORDINATION_ERRORS,
  CoordinationError,
  type CoordinationErrorCode,
  ValidationFailedError,
  isValidationFailedError,
  CircuitOpenError,
  isCircuitOpenError,
  BulkheadRejectedError,
  isBulkheadRejectedError,
  TimeoutError,
  isTimeoutError,
  RateLimitedError,
  isRateLimitedError,
  type RateLimitRefusal,
  type ValidationProblem,
} from './coordination.errors.js';
export {
  isClientError,
  isNonTransientError,
  type ErrorClass,
  type ErrorFilter,
} from './error-filter.js';
export type { Disposable, KeelEvent } from './events.js';

export {
  Validate,
  type DtoClass,
  type JsonSchema,
  type StandardSchemaV1,
  type StandardResult,
  type ValidateOptions,
  type Validator,
} from './validate/validate.decorator.js';
export { Fallback, type FallbackOptions } from './fallback/fallback.decorator.js';
export { Retry } from './retry/retry.decorator.js';
export { CircuitBreaker as Breaker } from './breaker/circuit-breaker.js';
export { CircuitBreaker } from './breaker/circuit-breaker.decorator.js';
export type {
  BreakerFailureEvent,
  BreakerRejectionEvent,
  BreakerStateChangeEvent,
  BreakerTransitionReason,
  ResolvedBreakerPolicy,
} from './breaker/circuit-breaker.js';
export { CircuitBreakerRegistry } from './breaker/circuit-breaker.registry.js';
export type { BreakerFleetStatus } from './breaker/breaker-fleet.js';
export {
  BreakerStore,
  InjectBreakerStore,
  type BreakerSnapshot,
  type BreakerState,
  type BreakerStateMessage,
  type OutcomeBatch,
  type ProbeGrant,
  type SharedBreakerPolicy,
} from './breaker/stores/breaker.store.js';
export { MemoryBreakerStore } from './breaker/stores/memory-breaker.store.js';
export {
  RedisBreakerStore,
  type RedisBreakerStoreOptions,
} from './breaker/stores/redis-breaker.store.js';
export { Timeout, timeoutSignal } from './timeout/timeout.decorator.js';
export { Bulkhead } from './bulkhead/bulkhead.decorator.js';
export { RateLimit } from './ratelimit/rate-limit.decorator.js';
export { currentRateLimit, type RateLimitState } from './ratelimit/rate-limit.context.js';
export { RateLimitHealthIndicator } from './ratelimit/rate-limit.health.js';

export { Cached, CacheEvict, CachePut } from './cache/cache.decorators.js';
export { CacheService, type CacheEntryOptions, type CacheStatus } from './cache/cache.service.js';
export { CacheHealthIndicator } from './cache/cache.health.js';

export { CoordinationHealthIndicator } from './coordination.health.js';

/** Re-exported from `@keel/core` for convenience: the method-duration histogram. */
export { Timed, type TimedOptions } from '@keel/core';
