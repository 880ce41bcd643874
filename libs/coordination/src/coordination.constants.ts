/** Token of the resolved coordination settings. @internal */
export const COORDINATION_SETTINGS = Symbol('KEEL_COORDINATION_SETTINGS');

/** Request-context key under which `@Timeout({ signalInContext: true })` binds the call. @internal */
export const TIMEOUT_CONTEXT_KEY = Symbol('KEEL_TIMEOUT_CONTEXT_KEY');
