import { ConfigurableModuleBuilder } from '@nestjs/common';
import { ROUTE_DEFAULTS } from './health.settings.js';
import type { HealthModuleOptions } from './interfaces/health-options.interface.js';

export const {
  ConfigurableModuleClass: HealthConfigurableModule,
  MODULE_OPTIONS_TOKEN: HEALTH_MODULE_OPTIONS,
  OPTIONS_TYPE: HEALTH_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: HEALTH_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<HealthModuleOptions>()
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createHealthOptions')
  .setExtras({ isGlobal: true, ...ROUTE_DEFAULTS }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
