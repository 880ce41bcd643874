import type { Provider } from '@nestjs/common';
import { KEEL_CORE_OPTIONS, KEEL_CORE_SETTINGS } from './core.constants.js';
import { resolveCoreSettings } from './core.settings.js';
import { KEEL_REQUEST_CONTEXT_SETTINGS } from './context/context.constants.js';
import { requestContextInterceptorProvider } from './context/request-context.interceptor.js';
import { RequestContextMiddleware } from './context/request-context.middleware.js';
import { resolveRequestContextSettings } from './context/request-context.settings.js';
import { PolicyExplorer } from './engine/policy.explorer.js';
import type { KeelCoreOptions, KeelCoreSettings } from './interfaces/core-options.interface.js';
import { KeelMetrics } from './metrics/keel-metrics.js';
import { RedisConnectionFactory } from './redis/redis-connection.factory.js';
import { TimedPolicyFactory } from './timed/timed.policy.js';

/**
 * The providers `KeelCoreModule` lists: the settings, the metrics registry, Redis connections,
 * the policy engine with `@Timed`'s factory, and the request context.
 * @internal
 */
export const coreProviders: Provider[] = [
  {
    provide: KEEL_CORE_SETTINGS,
    useFactory: (options: KeelCoreOptions) => resolveCoreSettings(options),
    inject: [KEEL_CORE_OPTIONS],
  },
  {
    provide: KeelMetrics,
    useFactory: (settings: KeelCoreSettings, options: KeelCoreOptions) =>
      new KeelMetrics({
        defaultLabels: { service: settings.serviceName, ...options.metrics?.defaultLabels },
        defaultMetrics: options.metrics?.defaultMetrics ?? settings.config.defaultMetrics,
      }),
    inject: [KEEL_CORE_SETTINGS, KEEL_CORE_OPTIONS],
  },
  RedisConnectionFactory,
  PolicyExplorer,
  TimedPolicyFactory,
  {
    provide: KEEL_REQUEST_CONTEXT_SETTINGS,
    useFactory: (options: KeelCoreOptions) => resolveRequestContextSettings(options.context),
    inject: [KEEL_CORE_OPTIONS],
  },
  RequestContextMiddleware,
  requestContextInterceptorProvider,
];
