import type { KeelCoreSettings } from '@keel/core';
import { resolveModuleSettings, type ModuleSettingsSpec } from '@keel/core/internal';
import { z } from 'zod';
import type { AuditModuleOptions, AuditSettings } from './interfaces/audit-options.interface.js';

/** The one place each default is written (none yet: the module is a shell). @internal */
export const DEFAULTS = Object.freeze({});

const schema: z.ZodType<AuditModuleOptions> = z.object({}).strict();

/** How AuditModule resolves its settings (see docs/lib-skeleton.md). @internal */
export const AUDIT_SETTINGS_SPEC: ModuleSettingsSpec<AuditModuleOptions> = {
  section: 'audit',
  moduleName: 'AuditModule',
  schema,
  defaults: DEFAULTS,
  env: {},
};

/**
 * Resolves the module's settings: `forRoot` options > `KEEL_AUDIT_*` variables > the YAML
 * section `audit` > defaults. A shell has no keys yet, so any key or variable is reported.
 * @throws KeelConfigError with one line per problem.
 * @internal
 */
export function resolveAuditSettings(
  options: AuditModuleOptions,
  core: KeelCoreSettings,
): AuditSettings {
  return resolveModuleSettings(AUDIT_SETTINGS_SPEC, options, core.config);
}
