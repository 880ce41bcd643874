import { Logger, type Provider } from '@nestjs/common';
import { RedisConnectionFactory, type KeelCoreSettings } from '@keel/core';
import { KEEL_CORE_SETTINGS, moduleSettingsProvider } from '@keel/core/internal';
import { BreakerFleet } from './breaker/breaker-fleet.js';
import { BreakerStore } from './breaker/stores/breaker.store.js';
import { CircuitBreakerPolicyFactory } from './breaker/circuit-breaker.policy.js';
import { CircuitBreakerRegistry } from './breaker/circuit-breaker.registry.js';
import { MemoryBreakerStore } from './breaker/stores/memory-breaker.store.js';
import { RedisBreakerStore } from './breaker/stores/redis-breaker.store.js';
import { BulkheadPolicyFactory } from './bulkhead/bulkhead.policy.js';
import { BulkheadSlotStore } from './bulkhead/stores/bulkhead-slot.store.js';
import { MemoryBulkheadSlotStore } from './bulkhead/stores/memory-bulkhead-slot.store.js';
import { RedisBulkheadSlotStore } from './bulkhead/stores/redis-bulkhead-slot.store.js';
import { CacheHealthIndicator } from './cache/cache.health.js';
import {
  CacheEvictPolicyFactory,
  CachePutPolicyFactory,
  CachedPolicyFactory,
} from './cache/cache.policy.js';
import { CacheRegistry } from './cache/cache.registry.js';
import { CacheService } from './cache/cache.service.js';
import { CacheStore } from './cache/stores/cache.store.js';
import { MemoryCacheStore } from './cache/stores/memory-cache.store.js';
import { RedisCacheStore } from './cache/stores/redis-cache.store.js';
import { COORDINATION_SETTINGS } from './coordination.constants.js';
import { CoordinationHealthIndicator } from './coordination.health.js';
import { breakerStoreChosen } from './coordination.messages.js';
import { COORDINATION_MODULE_OPTIONS } from './coordination.module-definition.js';
import { resolveCoordinationSettings } from './coordination.settings.js';
import type { CoordinationSettings } from './interfaces/coordination-options.interface.js';
import { FallbackPolicyFactory } from './fallback/fallback.policy.js';
import { RetryPolicyFactory } from './retry/retry.policy.js';
import { RateLimitHealthIndicator } from './ratelimit/rate-limit.health.js';
import { RateLimitPolicyFactory } from './ratelimit/rate-limit.policy.js';
import { RateLimiterRegistry } from './ratelimit/rate-limiter.registry.js';
import { MemoryRateLimitStore } from './ratelimit/stores/memory-rate-limit.store.js';
import { RateLimitStore } from './ratelimit/stores/rate-limit.store.js';
import { RedisRateLimitStore } from './ratelimit/stores/redis-rate-limit.store.js';
import { TimeoutPolicyFactory } from './timeout/timeout.policy.js';
import { ValidatePolicyFactory } from './validate/validate.policy.js';

/**
 * The store of fleet-wide breakers: Redis when `KeelCoreModule` has it, the embedded memory store
 * otherwise (logged once, at debug level: without Redis no breaker may ask for `store: 'redis'`,
 * so the memory store only serves an application that injects `BreakerStore` itself).
 */
function createBreakerStore(core: KeelCoreSettings, redis: RedisConnectionFactory): BreakerStore {
  const logger = new Logger('KeelCoordination');
  if (core.redis === undefined) {
    logger.debug(breakerStoreChosen({ kind: 'memory' }));
    return new MemoryBreakerStore();
  }
  logger.debug(breakerStoreChosen({ kind: 'redis' }));
  const connection = core.redis;
  return new RedisBreakerStore({
    client: redis.client(connection, 'coordination'),
    subscriber: () => redis.subscriber(connection, 'coordination:breakers'),
    keyPrefix: core.redisKeyPrefix,
    serviceName: core.serviceName,
  });
}

/** Fleet bulkhead slots: in Redis when `KeelCoreModule` has it, in memory otherwise. */
function createBulkheadSlotStore(
  core: KeelCoreSettings,
  redis: RedisConnectionFactory,
): BulkheadSlotStore {
  if (core.redis === undefined) return new MemoryBulkheadSlotStore();
  return new RedisBulkheadSlotStore({
    client: redis.client(core.redis, 'coordination'),
    keyPrefix: core.redisKeyPrefix,
    serviceName: core.serviceName,
  });
}

/** Fleet rate limits: buckets in Redis when `KeelCoreModule` has it, in memory otherwise. */
function createRateLimitStore(
  core: KeelCoreSettings,
  redis: RedisConnectionFactory,
): RateLimitStore {
  if (core.redis === undefined) return new MemoryRateLimitStore();
  return new RedisRateLimitStore({
    client: redis.client(core.redis, 'coordination'),
    keyPrefix: core.redisKeyPrefix,
    serviceName: core.serviceName,
  });
}

/**
 * The cache's shared tier: Redis when `KeelCoreModule` has it (plus one subscriber connection for
 * invalidations, opened on first use), the embedded memory store otherwise.
 */
function createCacheStore(
  core: KeelCoreSettings,
  redis: RedisConnectionFactory,
  settings: CoordinationSettings,
): CacheStore {
  // The embedded store is the only copy besides the in-process tier; it keeps ten times more
  // (and some, with no in-process tier at all).
  if (core.redis === undefined) {
    return new MemoryCacheStore(Math.max(1_000, settings.cache.maxEntries * 10));
  }
  const connection = core.redis;
  return new RedisCacheStore({
    client: redis.client(connection, 'coordination'),
    subscriber: () => redis.subscriber(connection, 'coordination:cache'),
    keyPrefix: core.redisKeyPrefix,
    serviceName: core.serviceName,
  });
}

/** The providers `CoordinationModule` lists. @internal */
export const coordinationProviders: Provider[] = [
  moduleSettingsProvider({
    provide: COORDINATION_SETTINGS,
    options: COORDINATION_MODULE_OPTIONS,
    resolve: resolveCoordinationSettings,
  }),
  {
    provide: BreakerStore,
    useFactory: createBreakerStore,
    inject: [KEEL_CORE_SETTINGS, RedisConnectionFactory],
  },
  {
    provide: BulkheadSlotStore,
    useFactory: createBulkheadSlotStore,
    inject: [KEEL_CORE_SETTINGS, RedisConnectionFactory],
  },
  {
    provide: RateLimitStore,
    useFactory: createRateLimitStore,
    inject: [KEEL_CORE_SETTINGS, RedisConnectionFactory],
  },
  {
    provide: CacheStore,
    useFactory: createCacheStore,
    inject: [KEEL_CORE_SETTINGS, RedisConnectionFactory, COORDINATION_SETTINGS],
  },
  CacheRegistry,
  CacheService,
  CacheHealthIndicator,
  CachedPolicyFactory,
  CachePutPolicyFactory,
  CacheEvictPolicyFactory,
  RateLimiterRegistry,
  RateLimitHealthIndicator,
  RateLimitPolicyFactory,
  BreakerFleet,
  CircuitBreakerRegistry,
  CoordinationHealthIndicator,
  ValidatePolicyFactory,
  FallbackPolicyFactory,
  RetryPolicyFactory,
  CircuitBreakerPolicyFactory,
  TimeoutPolicyFactory,
  BulkheadPolicyFactory,
];
