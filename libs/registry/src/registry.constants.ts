/** Token of the resolved registry settings. @internal */
export const REGISTRY_SETTINGS = Symbol('KEEL_REGISTRY_SETTINGS');

/**
 * Header the health-check monitor sends with HTTP probes (the monitoring instance's id), so a
 * health endpoint can tell them from other requests.
 * @publicApi
 */
export const MONITOR_HEADER = 'x-keel-registry-monitor';

/** Metric names. @internal */
export const METRICS = {
  instances: 'keel_registry_instances',
  heartbeatFailures: 'keel_registry_heartbeat_failures_total',
  cacheAge: 'keel_registry_cache_age_seconds',
  propagation: 'keel_registry_propagation_seconds',
  invalidRecords: 'keel_registry_invalid_records_total',
  ejections: 'keel_registry_ejections_total',
  probes: 'keel_registry_probes_total',
} as const;
