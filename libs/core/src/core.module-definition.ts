import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { KeelCoreOptions } from './interfaces/core-options.interface.js';

export const {
  ConfigurableModuleClass: KeelCoreConfigurableModule,
  MODULE_OPTIONS_TOKEN,
  OPTIONS_TYPE: KEEL_CORE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: KEEL_CORE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<KeelCoreOptions>()
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createKeelCoreOptions')
  .build();
