import type { Provider } from '@nestjs/common';
import { moduleSettingsProvider } from '@keel/core/internal';
import { DatabaseHealthCheck } from './database.health.js';
import { HealthIndicatorExplorer } from './health-indicator.explorer.js';
import { HEALTH_SETTINGS } from './health.constants.js';
import { HEALTH_MODULE_OPTIONS } from './health.module-definition.js';
import { KeelHealthService } from './health.service.js';
import { resolveHealthSettings } from './health.settings.js';
import { RedisHealthCheck } from './redis.health.js';

/** The providers `HealthModule` lists. @internal */
export const healthProviders: Provider[] = [
  moduleSettingsProvider({
    provide: HEALTH_SETTINGS,
    options: HEALTH_MODULE_OPTIONS,
    resolve: resolveHealthSettings,
  }),
  HealthIndicatorExplorer,
  RedisHealthCheck,
  DatabaseHealthCheck,
  KeelHealthService,
];
