import type { Provider } from '@nestjs/common';
import { moduleSettingsProvider } from '@keel/core/internal';
import { AUDIT_SETTINGS } from './audit.constants.js';
import { AUDIT_MODULE_OPTIONS } from './audit.module-definition.js';
import { resolveAuditSettings } from './audit.settings.js';

/** @internal */
export const auditProviders: Provider[] = [
  moduleSettingsProvider({
    provide: AUDIT_SETTINGS,
    options: AUDIT_MODULE_OPTIONS,
    resolve: resolveAuditSettings,
  }),
];
