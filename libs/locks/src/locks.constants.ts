/** Token of the resolved {@link LocksSettings}. @internal */
export const LOCKS_SETTINGS = Symbol('KEEL_LOCKS_SETTINGS');

/** Context key of the innermost lock held by the current call chain. @internal */
export const CURRENT_LOCK = Symbol('KEEL_CURRENT_LOCK');
