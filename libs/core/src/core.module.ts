import {
  Global,
  Inject,
  Logger,
  Module,
  type MiddlewareConsumer,
  type NestModule,
} from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { KEEL_CORE_SETTINGS } from './core.constants.js';
import { coreProviders } from './core.providers.js';
import { KeelCoreConfigurableModule } from './core.module-definition.js';
import { storesLine } from './core.messages.js';
import { KEEL_REQUEST_CONTEXT_SETTINGS } from './context/context.constants.js';
import { RequestContextMiddleware } from './context/request-context.middleware.js';
import type { RequestContextSettings } from './context/request-context.settings.js';
import type { KeelCoreSettings } from './interfaces/core-options.interface.js';
import { KeelMetrics } from './metrics/keel-metrics.js';
import { RedisConnectionFactory, describeTarget } from './redis/redis-connection.factory.js';

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
  providers: coreProviders,
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
