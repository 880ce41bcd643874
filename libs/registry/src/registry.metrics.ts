import type { KeelMetricDefinitions } from '@keel/core/internal';

/**
 * Every metric `@keel/registry` declares, written once: code creates them from here
 * (`metrics.counter(REGISTRY_METRICS.probes)`), the README's metric table lists them.
 * @internal
 */
export const REGISTRY_METRICS = {
  instances: {
    name: 'keel_registry_instances',
    help: 'Instances in the local discovery cache, by service and status',
    labelNames: ['service', 'status'],
  },
  heartbeatFailures: {
    name: 'keel_registry_heartbeat_failures_total',
    help: 'Failed registration or heartbeat writes of this instance',
    labelNames: ['service'],
  },
  cacheAge: {
    name: 'keel_registry_cache_age_seconds',
    help: 'Age of the discovery cache of each service (time since the last successful full read), in seconds',
    labelNames: ['service'],
  },
  propagation: {
    name: 'keel_registry_propagation_seconds',
    help: 'Time from a registry change (record timestamp, registry clock) to this cache, in seconds',
    labelNames: ['service'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  },
  invalidRecords: {
    name: 'keel_registry_invalid_records_total',
    help: 'Registry records ignored on read (malformed, bad signature, mismatched id)',
    labelNames: ['service', 'reason'],
  },
  ejections: {
    name: 'keel_registry_ejections_total',
    help: 'Instances ejected locally after repeated failed calls',
    labelNames: ['service'],
  },
  probes: {
    name: 'keel_registry_probes_total',
    help: 'Active health probes run by this instance as its service monitor',
    labelNames: ['service', 'result'],
  },
} as const satisfies KeelMetricDefinitions;
