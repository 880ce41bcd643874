import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { RegistryModuleOptions } from './interfaces/registry-options.interface.js';

/** @internal */
export const {
  ConfigurableModuleClass: RegistryConfigurableModule,
  MODULE_OPTIONS_TOKEN: REGISTRY_MODULE_OPTIONS,
  OPTIONS_TYPE: REGISTRY_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: REGISTRY_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<RegistryModuleOptions>()
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createRegistryOptions')
  .setExtras({ isGlobal: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
