import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { HealthModuleOptions } from './interfaces/health-options.interface.js';

/** Route options, fixed at import time because Nest routes are static. @publicApi */
export interface HealthModuleExtras {
  /** Path of the health endpoints (`/<path>/live`, `/<path>/ready`). @default 'health' */
  path?: string;
  /** Path of the Prometheus endpoint, or `false` for none. @default 'metrics' */
  metricsPath?: string | false;
}

export const {
  ConfigurableModuleClass: HealthConfigurableModule,
  MODULE_OPTIONS_TOKEN: HEALTH_MODULE_OPTIONS,
  OPTIONS_TYPE: HEALTH_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: HEALTH_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<HealthModuleOptions>()
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createHealthOptions')
  .setExtras<HealthModuleExtras>(
    { path: 'health', metricsPath: 'metrics' },
    (definition) => definition,
  )
  .build();
