import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { LocksModuleOptions } from './interfaces/locks-options.interface.js';

export const {
  ConfigurableModuleClass: LocksConfigurableModule,
  MODULE_OPTIONS_TOKEN: LOCKS_MODULE_OPTIONS,
  OPTIONS_TYPE: LOCKS_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: LOCKS_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<LocksModuleOptions>()
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createLocksOptions')
  .setExtras({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
