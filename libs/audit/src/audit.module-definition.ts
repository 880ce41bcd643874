import { ConfigurableModuleBuilder, type Provider } from '@nestjs/common';
import {
  AUDIT_HTTP_GUARD,
  AuditController,
  AuditHttpGuard,
  type AuditHttpOptions,
} from './http/audit.controller.js';
import type { AuditModuleOptions } from './interfaces/audit-options.interface.js';

export const {
  ConfigurableModuleClass: AuditConfigurableModule,
  MODULE_OPTIONS_TOKEN: AUDIT_MODULE_OPTIONS,
  OPTIONS_TYPE: AUDIT_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: AUDIT_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<AuditModuleOptions>()
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createAuditOptions')
  // `http` decides which controllers the module has, so it cannot wait for an async factory:
  // it is an extra, given beside useFactory in forRootAsync.
  .setExtras(
    { isGlobal: true, http: undefined as AuditHttpOptions | undefined },
    (definition, extras) => {
      if (extras.http === undefined) return { ...definition, global: extras.isGlobal };
      const guard: Provider[] =
        extras.http.guard !== undefined
          ? [{ provide: AUDIT_HTTP_GUARD, useClass: extras.http.guard }]
          : [];
      return {
        ...definition,
        global: extras.isGlobal,
        controllers: [...(definition.controllers ?? []), AuditController],
        providers: [...(definition.providers ?? []), AuditHttpGuard, ...guard],
      };
    },
  )
  .build();
