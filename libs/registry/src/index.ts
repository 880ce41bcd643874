export { RegistryModule } from './registry.module.js';
export type {
  BalancingStrategy,
  CustomCheck,
  OutlierOptions,
  RegistryChecksOptions,
  RegistryModuleOptions,
  RegistryServiceOptions,
} from './interfaces/registry-options.interface.js';
export type {
  ActiveCheckSpec,
  CheckResult,
  InstanceAddress,
  InstanceIdentity,
  InstanceStatus,
  ServiceInstance,
} from './interfaces/instance.interface.js';
export {
  ServiceDiscovery,
  type CacheState,
  type ChooseOptions,
  type InstanceFilter,
  type InstancesOptions,
} from './service-discovery.js';
export { RegistrationService, type RegistrationState } from './registration.service.js';
export { HealthCheckMonitor } from './health-check.monitor.js';
export { ServiceHttpClient, type ServiceFetchInit } from './service-http-client.js';
export {
  ServiceClientFactory,
  type ServiceClientOptions,
  type ServiceTcpClient,
} from './service-client.factory.js';
export { RegistryHealthIndicator } from './registry.health.js';
export {
  RegistryStore,
  InjectRegistryStore,
  type RawRecord,
  type RegistryEvent,
  type RegistrySubscription,
  type ServiceSnapshot,
  type StatusField,
  type WriteOutcome,
} from './stores/registry.store.js';
export { MemoryRegistryStore } from './stores/memory-registry.store.js';
export {
  RedisRegistryStore,
  type RedisRegistryStoreOptions,
} from './stores/redis-registry.store.js';
export {
  REGISTRY_ERRORS,
  type RegistryErrorCode,
  RegistryError,
  isRegistryError,
  RegistryUnavailableError,
  NoInstanceAvailableError,
  isNoInstanceAvailableError,
  RegistryArgumentError,
} from './registry.errors.js';
export { MONITOR_HEADER } from './registry.constants.js';
export { RecordCodec, effectiveStatus, type Decoded, type RejectReason } from './record.codec.js';
