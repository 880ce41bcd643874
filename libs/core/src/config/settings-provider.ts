import type { FactoryProvider, InjectionToken } from '@nestjs/common';
import { KEEL_CORE_SETTINGS } from '../core.constants.js';
import type { KeelCoreSettings } from '../interfaces/core-options.interface.js';

/** What {@link moduleSettingsProvider} needs to know of a module. @internal */
export interface ModuleSettingsProviderSpec<Options, Settings> {
  /** The module's settings token (`LOCKS_SETTINGS`). */
  readonly provide: InjectionToken;
  /** The module's options token, from its ConfigurableModuleBuilder (`LOCKS_MODULE_OPTIONS`). */
  readonly options: InjectionToken;
  /** `resolve<Lib>Settings`: forRoot options and core's settings to the module's settings. */
  readonly resolve: (options: Options, core: KeelCoreSettings) => Settings;
}

/**
 * The settings provider every Keel module lists first: its `forRoot` options resolved against
 * core's settings (environment, YAML) once, at startup, so bad configuration stops the boot.
 * One definition, so that every module injects the same two tokens in the same order.
 * @internal
 */
export function moduleSettingsProvider<Options, Settings>(
  spec: ModuleSettingsProviderSpec<Options, Settings>,
): FactoryProvider<Settings> {
  return {
    provide: spec.provide,
    useFactory: (options: Options, core: KeelCoreSettings) => spec.resolve(options, core),
    inject: [spec.options, KEEL_CORE_SETTINGS],
  };
}
