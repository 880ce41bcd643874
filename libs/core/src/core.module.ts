import {
  Global,
  Inject,
  Logger,
  Module,
  type MiddlewareConsumer,
  type NestModule,
  type Provider,
} from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { loadKeelConfig } from './config/keel-config.js';
import { KEEL_CORE_OPTIONS, KEEL_CORE_SETTINGS } from './core.constants.js';
import { KeelCoreConfigurableModule } from './core.module-definition.js';
import { storesLine } from './core.messages.js';
import { KEEL_REQUEST_CONTEXT_SETTINGS } from './context/context.constants.js';
import { requestContextInterceptorProvider } from './context/request-context.interceptor.js';
import { RequestContextMiddleware } from './context/request-context.middleware.js';
import {
  resolveRequestContextSettings,
  type RequestContextSettings,
} from './context/request-context.settings.js';
import { PolicyExplorer } from './engine/policy.explorer.js';
import type { KeelCoreOptions, KeelCoreSettings } from './interfaces/core-options.interface.js';
import { KeelMetrics } from './metrics/keel-metrics.js';
import { RedisConnectionFactory, describeTarget } from './redis/redis-connection.factory.js';
import { TimedPolicyFactory } from './timed/timed.policy.js';

/** Resolves options, environment, YAML and defaults into the settings in force. @internal */
export function resolveCoreSettings(options: KeelCoreOptions): KeelCoreSettings {
  const config = options.config ?? loadKeelConfig();
  return {
    serviceName: options.serviceName ?? config.serviceName,
    redis: options.redis === false ? undefined : (options.redis ?? config.redisUrl),
    redisKeyPrefix: options.redisKeyPrefix ?? config.redisKeyPrefix,
    config,
  };
}

const providers: Provider[] = [
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

/**
 * Keel's kernel: configuration, the method-policy engine, request context, metrics and Redis
 * connections. Import it once, in the root module; every other Keel module relies on it.
 *
 * @example
 * ```ts
 * @Module({ imports: [KeelCoreModule.forRoot({ serviceName: 'orders' })] })
 * export class AppModule {}
 * ```
 * @publicApi
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  providers,
  exports: [KEEL_CORE_SETTINGS, KeelMetrics, RedisConnectionFactory],
})
export class KeelCoreModule extends KeelCoreConfigurableModule implements NestModule {
  private readonly logger = new Logger('Keel');

  constructor(
    @Inject(KEEL_CORE_SETTINGS) settings: KeelCoreSettings,
    @Inject(KEEL_REQUEST_CONTEXT_SETTINGS) private readonly requestContext: RequestContextSettings,
  ) {
    super();
    this.logger.log(
      storesLine({
        service: settings.serviceName,
        target: settings.redis === undefined ? undefined : describeTarget(settings.redis),
      }),
    );
  }

  configure(consumer: MiddlewareConsumer): void {
    // With the context off or on no HTTP route, the middleware is not applied at all: requests
    // pay nothing for it, not even Nest's per-middleware bookkeeping.
    const http = this.requestContext.http;
    if (http === undefined) return;
    const middleware = consumer.apply(RequestContextMiddleware);
    (http.exclude.length > 0 ? middleware.exclude(...http.exclude) : middleware).forRoutes(
      ...http.routes,
    );
  }
}
