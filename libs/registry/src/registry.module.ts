import { Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { HealthCheckMonitor } from './health-check.monitor.js';
import type { RegistrySettings } from './interfaces/registry-options.interface.js';
import { REGISTRY_OWNED_STORE, REGISTRY_SETTINGS } from './registry.constants.js';
import { memoryStoreLine } from './registry.messages.js';
import { RegistryConfigurableModule } from './registry.module-definition.js';
import { registryProviders } from './registry.providers.js';
import { RegistryStore } from './stores/registry.store.js';
import { RegistrationService } from './registration.service.js';
import { ServiceClientFactory } from './service-client.factory.js';
import { ServiceDiscovery } from './service-discovery.js';
import { ServiceHttpClient } from './service-http-client.js';

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
  providers: registryProviders,
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
    @Inject(REGISTRY_OWNED_STORE) private readonly owned: RegistryStore | undefined,
    @Inject(REGISTRY_SETTINGS) settings: RegistrySettings,
  ) {
    super();
    if (settings.store === 'memory') {
      new Logger('KeelRegistry').log(memoryStoreLine());
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.owned?.close();
  }
}
