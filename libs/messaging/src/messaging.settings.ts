import type { KeelCoreSettings } from '@keel/core';
import { resolveModuleSettings, type ModuleSettingsSpec } from '@keel/core/internal';
import { z } from 'zod';
import type {
  MessagingModuleOptions,
  MessagingSettings,
} from './interfaces/messaging-options.interface.js';

/** The one place each default is written (none yet: the module is a shell). @internal */
export const DEFAULTS = Object.freeze({});

const schema: z.ZodType<MessagingModuleOptions> = z.object({}).strict();

/** How MessagingModule resolves its settings (see docs/lib-skeleton.md). @internal */
export const MESSAGING_SETTINGS_SPEC: ModuleSettingsSpec<MessagingModuleOptions> = {
  section: 'messaging',
  moduleName: 'MessagingModule',
  schema,
  defaults: DEFAULTS,
  env: {},
};

/**
 * Resolves the module's settings: `forRoot` options > `KEEL_MESSAGING_*` variables > the YAML
 * section `messaging` > defaults. A shell has no keys yet, so any key or variable is reported.
 * @throws KeelConfigError with one line per problem.
 * @internal
 */
export function resolveMessagingSettings(
  options: MessagingModuleOptions,
  core: KeelCoreSettings,
): MessagingSettings {
  return resolveModuleSettings(MESSAGING_SETTINGS_SPEC, options, core.config);
}
