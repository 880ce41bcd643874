import { Module, type DynamicModule } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { DatabaseHealthCheck } from './database.health.js';
import { createHealthController, createMetricsController } from './health.controller.js';
import {
  HEALTH_ASYNC_OPTIONS_TYPE,
  HEALTH_OPTIONS_TYPE,
  HealthConfigurableModule,
  type HealthModuleExtras,
} from './health.module-definition.js';
import { KeelHealthService } from './health.service.js';
import { RedisHealthCheck } from './redis.health.js';

/**
 * Health and metrics endpoints for a Keel service: `GET /health/live` (the process answers),
 * `GET /health/ready` (every Keel module's checks, 503 naming what is down) and
 * `GET /metrics` (Prometheus text). Needs `KeelCoreModule.forRoot()`.
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
  providers: [KeelHealthService, RedisHealthCheck, DatabaseHealthCheck],
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

function withControllers(module: DynamicModule, extras: HealthModuleExtras): DynamicModule {
  const path = extras.path ?? 'health';
  const metricsPath = extras.metricsPath ?? 'metrics';
  return {
    ...module,
    controllers: [
      createHealthController(path),
      ...(metricsPath === false ? [] : [createMetricsController(metricsPath)]),
    ],
  };
}
