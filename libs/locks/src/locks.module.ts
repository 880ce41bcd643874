import { Module, type DynamicModule } from '@nestjs/common';
import { LockService } from './lock.service.js';
import { LocksHealthIndicator } from './locks.health.js';
import {
  LocksConfigurableModule,
  type LOCKS_ASYNC_OPTIONS_TYPE,
  type LOCKS_OPTIONS_TYPE,
} from './locks.module-definition.js';
import { locksProviders } from './locks.providers.js';
import { LockStore } from './stores/lock.store.js';
import { WithLockPolicyFactory } from './with-lock.policy.js';

/**
 * Distributed locks: `LockService`, `@WithLock`, stores on memory, Redis or a Redis quorum.
 * Needs `KeelCoreModule.forRoot()` in the application.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [KeelCoreModule.forRoot({ redis: process.env.REDIS_URL }), LocksModule.forRoot({ ttlMs: 10_000 })],
 * })
 * export class AppModule {}
 * ```
 * @publicApi
 */
@Module({
  providers: [...locksProviders, LockService, WithLockPolicyFactory, LocksHealthIndicator],
  exports: [LockService, LockStore],
})
export class LocksModule extends LocksConfigurableModule {
  /** Registers the module; every option has a default. */
  static override forRoot(options: typeof LOCKS_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }

  /** Registers the module with options from a factory (e.g. ConfigService). */
  static override forRootAsync(options: typeof LOCKS_ASYNC_OPTIONS_TYPE): DynamicModule {
    return super.forRootAsync(options);
  }
}
