import { Module, type Provider } from '@nestjs/common';
import { RedisConnectionFactory, type KeelCoreSettings } from '@keel/core';
import { KEEL_CORE_SETTINGS } from '@keel/core/internal';
import { BreakerFleet } from './breaker/breaker-fleet.js';
import { BreakerStore } from './breaker/breaker.store.js';
import { CircuitBreakerPolicyFactory } from './breaker/circuit-breaker.policy.js';
import { CircuitBreakerRegistry } from './breaker/circuit-breaker.registry.js';
import { MemoryBreakerStore } from './breaker/memory-breaker.store.js';
import { RedisBreakerStore } from './breaker/redis-breaker.store.js';
import { BulkheadPolicyFactory } from './bulkhead/bulkhead.policy.js';
import { COORDINATION_SETTINGS } from './coordination.constants.js';
import { CoordinationHealthIndicator } from './coordination.health.js';
import {
  COORDINATION_OPTIONS,
  CoordinationConfigurableModule,
} from './coordination.module-definition.js';
import {
  resolveCoordinationSettings,
  type CoordinationModuleOptions,
} from './coordination.options.js';
import { FallbackPolicyFactory } from './fallback/fallback.policy.js';
import { RetryPolicyFactory } from './retry/retry.policy.js';
import { TimeoutPolicyFactory } from './timeout/timeout.policy.js';
import { ValidatePolicyFactory } from './validate/validate.policy.js';

const providers: Provider[] = [
  {
    provide: COORDINATION_SETTINGS,
    useFactory: (options: CoordinationModuleOptions, core: KeelCoreSettings) =>
      resolveCoordinationSettings(options ?? {}, core.config.sections.coordination),
    inject: [COORDINATION_OPTIONS, KEEL_CORE_SETTINGS],
  },
  {
    provide: BreakerStore,
    useFactory: (core: KeelCoreSettings, redis: RedisConnectionFactory): BreakerStore =>
      core.redis === undefined
        ? new MemoryBreakerStore()
        : new RedisBreakerStore({
            client: redis.client(core.redis, 'coordination'),
            subscriber: () => redis.subscriber(core.redis!, 'coordination:breakers'),
            keyPrefix: core.redisKeyPrefix,
            serviceName: core.serviceName,
          }),
    inject: [KEEL_CORE_SETTINGS, RedisConnectionFactory],
  },
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

/**
 * Coordination policies for methods: `@Validate`, `@Fallback`, `@Retry`, `@CircuitBreaker`,
 * `@Timeout`, `@Bulkhead` (and core's `@Timed`), on HTTP handlers, microservice handlers and
 * provider methods. Requires `KeelCoreModule.forRoot()` in the application, whose exception
 * filter maps this module's errors to HTTP 400/503/504. Extra of `forRoot` / `forRootAsync`:
 * `isGlobal` (default true).
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     KeelCoreModule.forRoot({ serviceName: 'orders' }),
 *     CoordinationModule.forRoot({
 *       policies: {
 *         default: { retry: { maxAttempts: 3 }, timeout: 2_000 },
 *         payments: { circuitBreaker: { store: 'redis', failureRateThreshold: 30 } },
 *       },
 *     }),
 *   ],
 * })
 * export class AppModule {}
 * ```
 * @publicApi
 */
@Module({
  providers,
  exports: [CircuitBreakerRegistry, COORDINATION_SETTINGS, BreakerStore],
})
export class CoordinationModule extends CoordinationConfigurableModule {}
