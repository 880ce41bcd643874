import { ConfigurableModuleBuilder, type Provider } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { EXTRAS_DEFAULTS } from './core.settings.js';
import type { KeelCoreModuleExtras, KeelCoreOptions } from './interfaces/core-options.interface.js';
import { KeelExceptionFilter } from './keel-exception.filter.js';

export type { KeelCoreModuleExtras };

const exceptionFilterProvider: Provider = { provide: APP_FILTER, useClass: KeelExceptionFilter };

export const {
  ConfigurableModuleClass: KeelCoreConfigurableModule,
  MODULE_OPTIONS_TOKEN,
  OPTIONS_TYPE: KEEL_CORE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: KEEL_CORE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<KeelCoreOptions>()
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createKeelCoreOptions')
  .setExtras<KeelCoreModuleExtras>(EXTRAS_DEFAULTS, (definition, extras) => ({
    ...definition,
    providers:
      extras.exceptionFilter === false
        ? definition.providers
        : [...(definition.providers ?? []), exceptionFilterProvider],
  }))
  .build();
