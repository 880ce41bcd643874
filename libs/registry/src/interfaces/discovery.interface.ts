import type { BalancingStrategy } from './registry-options.interface.js';

/** Filters of `ServiceDiscovery.instances()`. @publicApi */
export interface InstanceFilter {
  /** Every tag must be present. */
  readonly tags?: readonly string[];
  /** Semver range the instance version must satisfy, e.g. `^2.1.0`. */
  readonly version?: string;
  /** Every key must have exactly this value. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Only instances in this zone (in `instances()`); the preferred zone (in `choose()`). */
  readonly zone?: string;
}

/** Options of `ServiceDiscovery.instances()`. @publicApi */
export interface InstancesOptions extends InstanceFilter {
  /** Include `critical` and `draining` instances. @default false */
  readonly includeUnhealthy?: boolean;
}

/** Options of `ServiceDiscovery.choose()`. @publicApi */
export interface ChooseOptions extends InstanceFilter {
  /** @default the module's `strategy`, else weighted when weights differ, else round-robin */
  readonly strategy?: BalancingStrategy;
  /** Key for `consistent-hash` (a user id, a cart id...). */
  readonly key?: string;
}

/** Cache state of one service, for health and tests. @publicApi */
export interface CacheState {
  readonly service: string;
  /** At least one full answer was received. */
  readonly loaded: boolean;
  /** The last resync failed: the list is the last known good one. */
  readonly stale: boolean;
  /** Time since the last successful full read, in ms. */
  readonly ageMs: number;
  readonly instances: number;
}
