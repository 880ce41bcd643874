import { Module, type DynamicModule } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { createHealthController, createMetricsController } from './health.controller.js';
import {
  HEALTH_ASYNC_OPTIONS_TYPE,
  HEALTH_OPTIONS_TYPE,
  HealthConfigurableModule,
} from './health.module-definition.js';
import { healthProviders } from './health.providers.js';
import { KeelHealthService } from './health.service.js';
import { ROUTE_DEFAULTS } from './health.settings.js';
import type { HealthModuleExtras } from './interfaces/health-options.interface.js';

/**
 * Health and metrics endpoints for a Keel service: `GET /health/live` (the process answers),
 * `GET /health/ready` (every Keel module's checks, 503 naming what is down) and
 * `GET /metrics` (Prometheus text). Needs `KeelCoreModule.forRoot()`. Global by default
 * (`isGlobal: false` to scope `KeelHealthService` to the importing module).
 *
 * @example
 * ```ts
 * @Module({ imports: [KeelCoreModule.forRoot(), HealthModule.forRoot()] })
 * export class AppModule {}
 * ```
 * @publicApi
 */
@Module({
  imports: [TerminusModule.forRoot({ logger: false }), DiscoveryModule],
  providers: healthProviders,
  exports: [KeelHealthService],
})
export class HealthModule extends HealthConfigurableModule {
  static override forRoot(options: typeof HEALTH_OPTIONS_TYPE = {}): DynamicModule {
    return withControllers(super.forRoot(options), options);
  }

  static override forRootAsync(options: typeof HEALTH_ASYNC_OPTIONS_TYPE): DynamicModule {
    return withControllers(super.forRootAsync(options), options);
  }
}

/** Routes are static in Nest, so the controllers are made when the module is imported. */
function withControllers(module: DynamicModule, extras: HealthModuleExtras): DynamicModule {
  const path = extras.path ?? ROUTE_DEFAULTS.path;
  const metricsPath = extras.metricsPath ?? ROUTE_DEFAULTS.metricsPath;
  return {
    ...module,
    controllers: [
      createHealthController(path),
      ...(metricsPath === false ? [] : [createMetricsController(metricsPath)]),
    ],
  };
}
