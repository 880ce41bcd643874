/** Token of the resolved {@link HealthSettings}. @internal */
export const HEALTH_SETTINGS = Symbol('KEEL_HEALTH_SETTINGS');

/** Keys of the checks `@keel/health` runs itself; an indicator with one of these is ignored. @internal */
export const REDIS_CHECK_KEY = 'redis';
/** @internal */
export const DATABASE_CHECK_KEY = 'database';
