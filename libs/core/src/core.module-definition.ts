import { ConfigurableModuleBuilder, type Provider } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { KeelCoreOptions } from './interfaces/core-options.interface.js';
import { KeelExceptionFilter } from './keel-exception.filter.js';

/**
 * Extras of `KeelCoreModule.forRoot()` / `forRootAsync()`: known when the module is defined (also
 * for `forRootAsync`), which is when a global enhancer has to be registered or not.
 * @publicApi
 */
export interface KeelCoreModuleExtras {
  /**
   * Register {@link KeelExceptionFilter} globally, mapping every Keel error to its documented HTTP
   * status (and to an RPC error for microservice handlers). `false` leaves the mapping to you
   * (use the filter with `@UseFilters()`, or `keelErrorBody()` in your own filter).
   * @default true
   */
  readonly exceptionFilter?: boolean;
}

const exceptionFilterProvider: Provider = { provide: APP_FILTER, useClass: KeelExceptionFilter };

export const {
  ConfigurableModuleClass: KeelCoreConfigurableModule,
  MODULE_OPTIONS_TOKEN,
  OPTIONS_TYPE: KEEL_CORE_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: KEEL_CORE_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<KeelCoreOptions>()
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createKeelCoreOptions')
  .setExtras<KeelCoreModuleExtras>({ exceptionFilter: true }, (definition, extras) => ({
    ...definition,
    providers:
      extras.exceptionFilter === false
        ? definition.providers
        : [...(definition.providers ?? []), exceptionFilterProvider],
  }))
  .build();
