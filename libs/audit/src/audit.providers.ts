import type { Provider } from '@nestjs/common';
import { type KeelCoreSettings } from '@keel/core';
import { KEEL_CORE_SETTINGS } from '@keel/core/internal';
import { AUDIT_SETTINGS } from './audit.constants.js';
import { AUDIT_MODULE_OPTIONS } from './audit.module-definition.js';
import type { AuditModuleOptions } from './interfaces/audit-options.interface.js';
import { resolveAuditSettings } from './audit.settings.js';

/** @internal */
export const auditProviders: Provider[] = [
  {
    provide: AUDIT_SETTINGS,
    useFactory: (options: AuditModuleOptions, core: KeelCoreSettings) =>
      resolveAuditSettings(options, core),
    inject: [AUDIT_MODULE_OPTIONS, KEEL_CORE_SETTINGS],
  },
];
