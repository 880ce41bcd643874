import { Inject } from '@nestjs/common';

/** @internal Options given to `KeelCoreModule.forRoot()`. */
export { MODULE_OPTIONS_TOKEN as KEEL_CORE_OPTIONS } from './core.module-definition.js';
/** Token of the resolved {@link KeelCoreSettings}. @internal */
export const KEEL_CORE_SETTINGS = Symbol('KEEL_CORE_SETTINGS');

/**
 * Injects the core settings in force (`KeelCoreSettings`: service name, Redis target, key
 * prefix and the loaded configuration), as `KeelCoreModule.forRoot()` resolved them.
 *
 * @example
 * ```ts
 * constructor(@InjectKeelCoreSettings() private readonly settings: KeelCoreSettings) {}
 * ```
 * @publicApi
 */
export const InjectKeelCoreSettings = (): PropertyDecorator & ParameterDecorator =>
  Inject(KEEL_CORE_SETTINGS);
