import type { Provider } from '@nestjs/common';
import { RedisConnectionFactory, type KeelCoreSettings } from '@keel/core';
import { KEEL_CORE_SETTINGS, moduleSettingsProvider } from '@keel/core/internal';
import { HealthCheckMonitor } from './health-check.monitor.js';
import type { RegistrySettings } from './interfaces/registry-options.interface.js';
import { REGISTRY_OWNED_STORE, REGISTRY_SETTINGS } from './registry.constants.js';
import { RegistryHealthIndicator } from './registry.health.js';
import { REGISTRY_MODULE_OPTIONS } from './registry.module-definition.js';
import { resolveRegistrySettings } from './registry.settings.js';
import { RegistryStore } from './stores/registry.store.js';
import { RegistrationService } from './registration.service.js';
import { ServiceClientFactory } from './service-client.factory.js';
import { ServiceDiscovery } from './service-discovery.js';
import { ServiceHttpClient } from './service-http-client.js';
import { MemoryRegistryStore } from './stores/memory-registry.store.js';
import { RedisRegistryStore } from './stores/redis-registry.store.js';

/**
 * The store built from `store: 'memory' | 'redis'`. The settings already refused `'redis'`
 * without Redis (core's `redisRequired()` message), so `core.redis` is there for `'redis'`.
 */
function ownedStore(
  settings: RegistrySettings,
  core: KeelCoreSettings,
  redis: RedisConnectionFactory,
): RegistryStore | undefined {
  if (typeof settings.store === 'object') return undefined;
  const options = core.redis;
  if (settings.store === 'memory' || options === undefined) return new MemoryRegistryStore();
  return new RedisRegistryStore({
    client: redis.client(options, 'registry'),
    subscriber: () => redis.subscriber(options, 'registry:subscriber'),
    keyPrefix: settings.redisKeyPrefix,
  });
}

/** The providers `RegistryModule` lists. @internal */
export const registryProviders: Provider[] = [
  moduleSettingsProvider({
    provide: REGISTRY_SETTINGS,
    options: REGISTRY_MODULE_OPTIONS,
    resolve: resolveRegistrySettings,
  }),
  {
    provide: REGISTRY_OWNED_STORE,
    useFactory: ownedStore,
    inject: [REGISTRY_SETTINGS, KEEL_CORE_SETTINGS, RedisConnectionFactory],
  },
  {
    provide: RegistryStore,
    useFactory: (settings: RegistrySettings, owned: RegistryStore | undefined) =>
      typeof settings.store === 'object' ? settings.store : owned,
    inject: [REGISTRY_SETTINGS, REGISTRY_OWNED_STORE],
  },
  ServiceDiscovery,
  RegistrationService,
  HealthCheckMonitor,
  ServiceHttpClient,
  ServiceClientFactory,
  RegistryHealthIndicator,
];
