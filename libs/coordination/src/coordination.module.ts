import { Module } from '@nestjs/common';
import { BreakerStore } from './breaker/stores/breaker.store.js';
import { CacheService } from './cache/cache.service.js';
import { CircuitBreakerRegistry } from './breaker/circuit-breaker.registry.js';
import { COORDINATION_SETTINGS } from './coordination.constants.js';
import { CoordinationConfigurableModule } from './coordination.module-definition.js';
import { coordinationProviders } from './coordination.providers.js';

/**
 * Coordination policies for methods: `@Validate`, `@Fallback`, `@Cached` / `@CachePut` /
 * `@CacheEvict`, `@Retry`, `@CircuitBreaker`, `@RateLimit`, `@Timeout`, `@Bulkhead` (and core's
 * `@Timed`), on HTTP handlers, microservice handlers and
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
  providers: coordinationProviders,
  exports: [CircuitBreakerRegistry, COORDINATION_SETTINGS, BreakerStore, CacheService],
})
export class CoordinationModule extends CoordinationConfigurableModule {}
