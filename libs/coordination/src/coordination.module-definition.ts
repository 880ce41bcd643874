import { ConfigurableModuleBuilder, type Provider } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { KeelCoordinationExceptionFilter } from './coordination.filter.js';
import type { CoordinationModuleOptions } from './coordination.options.js';

const filterProvider: Provider = { provide: APP_FILTER, useClass: KeelCoordinationExceptionFilter };

export const {
  ConfigurableModuleClass: CoordinationConfigurableModule,
  MODULE_OPTIONS_TOKEN: COORDINATION_OPTIONS,
  OPTIONS_TYPE: COORDINATION_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: COORDINATION_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<CoordinationModuleOptions>()
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createCoordinationOptions')
  .setExtras(
    // Extras are known when the module is defined (also for forRootAsync), which is when the
    // global filter has to be registered or not.
    { isGlobal: true, exceptionFilter: true },
    (definition, extras) => ({
      ...definition,
      global: extras.isGlobal,
      providers: extras.exceptionFilter
        ? [...(definition.providers ?? []), filterProvider]
        : definition.providers,
    }),
  )
  .build();
