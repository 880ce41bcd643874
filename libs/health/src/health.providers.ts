import type { Provider } from '@nestjs/common';
import type { KeelCoreSettings } from '@keel/core';
import { KEEL_CORE_SETTINGS } from '@keel/core/internal';
import { DatabaseHealthCheck } from './database.health.js';
import { HealthIndicatorExplorer } from './health-indicator.explorer.js';
import { HEALTH_SETTINGS } from './health.constants.js';
import { HEALTH_MODULE_OPTIONS } from './health.module-definition.js';
import { KeelHealthService } from './health.service.js';
import { resolveHealthSettings } from './health.settings.js';
import type { HealthModuleOptions } from './interfaces/health-options.interface.js';
import { RedisHealthCheck } from './redis.health.js';

/** The providers `HealthModule` lists. @internal */
export const healthProviders: Provider[] = [
  {
    provide: HEALTH_SETTINGS,
    useFactory: (options: HealthModuleOptions, core: KeelCoreSettings) =>
      resolveHealthSettings(options, core),
    inject: [HEALTH_MODULE_OPTIONS, KEEL_CORE_SETTINGS],
  },
  HealthIndicatorExplorer,
  RedisHealthCheck,
  DatabaseHealthCheck,
  KeelHealthService,
];
