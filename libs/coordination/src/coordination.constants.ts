/** Token of the resolved coordination settings. @internal */
export const COORDINATION_SETTINGS = Symbol('KEEL_COORDINATION_SETTINGS');
