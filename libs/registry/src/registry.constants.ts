/** Token of the resolved registry settings. @internal */
export const REGISTRY_SETTINGS = Symbol('KEEL_REGISTRY_SETTINGS');

/**
 * Token of the store this module created from `store: 'memory' | 'redis'` (and so closes at
 * shutdown), undefined when the options gave a store instance (its owner closes it).
 * @internal
 */
export const REGISTRY_OWNED_STORE = Symbol('KEEL_REGISTRY_OWNED_STORE');

/**
 * Header the health-check monitor sends with HTTP probes (the monitoring instance's id), so a
 * health endpoint can tell them from other requests.
 * @publicApi
 */
export const MONITOR_HEADER = 'x-keel-registry-monitor';
