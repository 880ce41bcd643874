/** @internal Options given to `KeelCoreModule.forRoot()`. */
export { MODULE_OPTIONS_TOKEN as KEEL_CORE_OPTIONS } from './core.module-definition.js';
/** Token of the resolved {@link KeelCoreSettings}. @internal */
export const KEEL_CORE_SETTINGS = Symbol('KEEL_CORE_SETTINGS');
