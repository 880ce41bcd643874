import { Inject, Logger, Module, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { RedisConnectionFactory, type KeelCoreSettings } from '@keel/core';
import { KEEL_CORE_SETTINGS } from '@keel/core/internal';
import { HealthCheckMonitor } from './health-check.monitor.js';
import type {
  RegistryModuleOptions,
  RegistrySettings,
} from './interfaces/registry-options.interface.js';
import { REGISTRY_SETTINGS } from './registry.constants.js';
import { RegistryHealthIndicator } from './registry.health.js';
import { RegistryConfigurableModule, REGISTRY_OPTIONS } from './registry.module-definition.js';
import { resolveRegistrySettings } from './registry.settings.js';
import { RegistryStore } from './registry.store.js';
import { RegistrationService } from './registration.service.js';
import { ServiceClientFactory } from './service-client.factory.js';
import { ServiceDiscovery } from './service-discovery.js';
import { ServiceHttpClient } from './service-http-client.js';
import { MemoryRegistryStore } from './stores/memory-registry.store.js';
import { RedisRegistryStore } from './stores/redis-registry.store.js';

/** Store instances this module created (and so closes), as opposed to ones given in options. */
const OWNED_STORE = Symbol('KEEL_REGISTRY_OWNED_STORE');

const providers: Provider[] = [
  {
    provide: REGISTRY_SETTINGS,
    useFactory: (options: RegistryModuleOptions, core: KeelCoreSettings) =>
      resolveRegistrySettings(options, core),
    inject: [REGISTRY_OPTIONS, KEEL_CORE_SETTINGS],
  },
  {
    provide: OWNED_STORE,
    useFactory: (
      settings: RegistrySettings,
      core: KeelCoreSettings,
      redis: RedisConnectionFactory,
    ) => {
      if (typeof settings.store === 'object') return undefined;
      if (settings.store === 'memory') return new MemoryRegistryStore();
      if (core.redis === undefined) {
        throw new Error(
          "RegistryModule: store 'redis' needs Redis in KeelCoreModule (redis option or REDIS_URL)",
        );
      }
      const options = core.redis;
      return new RedisRegistryStore({
        client: redis.client(options, 'registry'),
        subscriber: () => redis.subscriber(options, 'registry:subscriber'),
        keyPrefix: settings.redisKeyPrefix,
      });
    },
    inject: [REGISTRY_SETTINGS, KEEL_CORE_SETTINGS, RedisConnectionFactory],
  },
  {
    provide: RegistryStore,
    useFactory: (settings: RegistrySettings, owned: RegistryStore | undefined) =>
      typeof settings.store === 'object' ? settings.store : owned,
    inject: [REGISTRY_SETTINGS, OWNED_STORE],
  },
  ServiceDiscovery,
  RegistrationService,
  HealthCheckMonitor,
  ServiceHttpClient,
  ServiceClientFactory,
  RegistryHealthIndicator,
];

/**
 * Service registry and discovery. With `service`, the application registers itself once it is
 * listening, heartbeats, and drains then deregisters at shutdown; every application gets
 * {@link ServiceDiscovery}, {@link ServiceHttpClient} and {@link ServiceClientFactory}.
 * Needs `KeelCoreModule.forRoot()` in the root module. Global by default.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     KeelCoreModule.forRoot({ serviceName: 'orders' }),
 *     RegistryModule.forRoot({
 *       service: { version: '1.4.0', tags: ['http'] },
 *       checks: { http: { path: '/health/ready' } },
 *       discover: ['payments'],
 *     }),
 *   ],
 * })
 * export class AppModule {}
 * ```
 * @publicApi
 */
@Module({
  providers,
  exports: [
    ServiceDiscovery,
    RegistrationService,
    HealthCheckMonitor,
    ServiceHttpClient,
    ServiceClientFactory,
    RegistryStore,
  ],
})
export class RegistryModule extends RegistryConfigurableModule implements OnApplicationShutdown {
  constructor(
    @Inject(OWNED_STORE) private readonly owned: RegistryStore | undefined,
    @Inject(REGISTRY_SETTINGS) settings: RegistrySettings,
  ) {
    super();
    if (settings.store === 'memory') {
      new Logger('KeelRegistry').log(
        'registry on the embedded memory store: correct for one process only (configure Redis for a fleet)',
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.owned?.close();
  }
}
