import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { CoordinationModuleOptions } from './interfaces/coordination-options.interface.js';

export const {
  ConfigurableModuleClass: CoordinationConfigurableModule,
  MODULE_OPTIONS_TOKEN: COORDINATION_MODULE_OPTIONS,
  OPTIONS_TYPE: COORDINATION_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: COORDINATION_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<CoordinationModuleOptions>()
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createCoordinationOptions')
  .setExtras({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
