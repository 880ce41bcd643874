/**
 * `@keel/coordination/internal`: what Keel's own tests need from this lib and applications should
 * not use — the metric definitions (the README's metrics table is the public statement) and the
 * fleet bulkhead's slot stores and the rate-limit stores (for their contract suites). Not public API and not covered by
 * semver; applications import `@keel/coordination`.
 *
 * @packageDocumentation
 * @internal
 */
export { COORDINATION_METRICS } from './coordination.metrics.js';
export { BulkheadSlotStore, type SlotRequest } from './bulkhead/stores/bulkhead-slot.store.js';
export { MemoryBulkheadSlotStore } from './bulkhead/stores/memory-bulkhead-slot.store.js';
export { RedisBulkheadSlotStore } from './bulkhead/stores/redis-bulkhead-slot.store.js';
export { RateLimitStore, type RateLimitRequest } from './ratelimit/stores/rate-limit.store.js';
export { MemoryRateLimitStore } from './ratelimit/stores/memory-rate-limit.store.js';
export { RedisRateLimitStore } from './ratelimit/stores/redis-rate-limit.store.js';
export { gcraParams, type GcraDecision } from './ratelimit/gcra.js';
export {
  CacheStore,
  type CacheInvalidation,
  type InvalidationListener,
  type StoredEntry,
} from './cache/stores/cache.store.js';
export { MemoryCacheStore } from './cache/stores/memory-cache.store.js';
export { RedisCacheStore } from './cache/stores/redis-cache.store.js';
export { createTaggedJsonCodec } from './cache/cache-codec.js';
export { LocalLru } from './cache/local-lru.js';
export { CacheCounts, TieredCache } from './cache/tiered-cache.js';
