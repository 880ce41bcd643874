import type { CheckResult, InstanceAddress } from './instance.interface.js';
import type { RegistryStore } from '../stores/registry.store.js';

/** How `choose()` picks among eligible instances. @publicApi */
export type BalancingStrategy =
  'round-robin' | 'random' | 'weighted' | 'least-outstanding' | 'consistent-hash' | 'zone';

/** The service this application registers as. @publicApi */
export interface RegistryServiceOptions {
  /** @default the core `serviceName` */
  readonly name?: string;
  /** Semantic version of this build. @default '0.0.0' */
  readonly version?: string;
  /** @default [] */
  readonly tags?: readonly string[];
  /** String key/values, e.g. `{ region: 'eu' }`. @default {} */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Relative share of traffic for the weighted strategy. @default 1 */
  readonly weight?: number;
  /** Availability zone, for the zone-preferring strategy. */
  readonly zone?: string;
  /** Instance id. @default a random UUID per process */
  readonly instanceId?: string;
}

/** A check this instance runs on itself; its result is published with the record. @publicApi */
export type CustomCheck = () => CheckResult | boolean | Promise<CheckResult | boolean>;

/** Health checks of this instance. @publicApi */
export interface RegistryChecksOptions {
  /** HTTP probe the fleet's monitor runs against every instance of the service. */
  readonly http?: {
    readonly path: string;
    /** Status that counts as passing. @default 200 */
    readonly expectStatus?: number;
    /** Time limit of one probe. @default 2000 */
    readonly timeoutMs?: number;
  };
  /** TCP connect probe the monitor runs (named port, else the main port). */
  readonly tcp?: {
    readonly port?: string;
    /** Time limit of one connect. @default 2000 */
    readonly timeoutMs?: number;
  };
  /** Checks the instance runs on itself (a database ping, a queue depth...). */
  readonly custom?: readonly CustomCheck[];
  /** Time between rounds of checks. @default 5000 */
  readonly intervalMs?: number;
  /** Consecutive failures before an instance turns `critical`. @default 2 */
  readonly failuresBeforeCritical?: number;
  /** Consecutive successes before a `critical` instance is `passing` again. @default 2 */
  readonly successesBeforePassing?: number;
}

/** Passive outlier ejection (local to each consumer). @publicApi */
export interface OutlierOptions {
  /** Failed calls within `windowMs` that eject an instance. @default 5 */
  readonly failures?: number;
  /** @default 10000 */
  readonly windowMs?: number;
  /** First ejection period; doubles on each repeated ejection up to `maxEjectMs`. @default 10000 */
  readonly ejectMs?: number;
  /** @default 120000 */
  readonly maxEjectMs?: number;
}

/**
 * Options of `RegistryModule.forRoot()`. Values also come from `KEEL_REGISTRY_TTL_MS`,
 * `KEEL_REGISTRY_HEARTBEAT_MS`, `KEEL_REGISTRY_DRAIN_MS`, `KEEL_REGISTRY_SECRET` and the YAML
 * section `registry` (`service`, `ttlMs`, `heartbeatMs`, `drainMs`, `resyncMs`,
 * `emptyConfirmMs`, `discover`): per key, options win over the variables, which win over the
 * YAML section, which wins over the defaults; nested objects (`service`) merge key by key, and
 * the two `discover` lists add up.
 * @publicApi
 */
export interface RegistryModuleOptions {
  /**
   * Backend: `'redis'` (the core Redis), `'memory'` (one process only), or a store instance.
   * @default 'redis' when KeelCoreModule has Redis, else 'memory'
   */
  readonly store?: 'memory' | 'redis' | RegistryStore;
  /** Register this application as an instance of a service. Omit for a discovery-only client. */
  readonly service?: RegistryServiceOptions;
  /**
   * Advertised address. Parts left out are taken from the HTTP server once it listens; give the
   * whole address for microservice-only applications. A wildcard bind (`::`, `0.0.0.0`)
   * advertises the first non-internal IPv4 address.
   */
  readonly address?: Partial<InstanceAddress>;
  /** Time a record lives without a heartbeat. @default 15000 */
  readonly ttlMs?: number;
  /** @default ttlMs / 3 */
  readonly heartbeatMs?: number;
  /** Time between `draining` and deregistration at shutdown. @default 2000 */
  readonly drainMs?: number;
  /** Deregister at shutdown (else the record just expires). @default true */
  readonly deregisterOnShutdown?: boolean;
  /** Health checks of this instance (needs `service`). */
  readonly checks?: RegistryChecksOptions;
  /** Services discovery loads at startup (others are loaded on first use). @default [] */
  readonly discover?: readonly string[];
  /** Period of the full resync of every cached service. @default 5000 */
  readonly resyncMs?: number;
  /**
   * How long an empty answer must persist before it empties a non-empty cache (an empty answer
   * is also ignored during `recoveryMs` after a reconnect).
   * @default 2000
   */
  readonly emptyConfirmMs?: number;
  /** After a reconnect, resyncs add and update but remove nothing for this long. @default ttlMs */
  readonly recoveryMs?: number;
  /**
   * Shared secret: records are signed (HMAC-SHA256) and writes need a proof derived from it, so
   * a process without it cannot register or overwrite an instance. Records with a wrong
   * signature are ignored (metric `keel_registry_invalid_records_total`).
   */
  readonly secret?: string;
  /** Default strategy. @default 'weighted' when weights differ, else 'round-robin' */
  readonly strategy?: BalancingStrategy;
  /** Passive outlier ejection of instances whose calls keep failing. */
  readonly outlier?: OutlierOptions;
}

/** Settings in force after defaults and validation. @internal */
export interface RegistrySettings {
  readonly store: 'memory' | 'redis' | RegistryStore;
  readonly service:
    | {
        readonly name: string;
        readonly version: string;
        readonly tags: readonly string[];
        readonly metadata: Readonly<Record<string, string>>;
        readonly weight: number;
        readonly zone?: string;
        readonly instanceId: string;
      }
    | undefined;
  readonly address: Partial<InstanceAddress>;
  readonly ttlMs: number;
  readonly heartbeatMs: number;
  readonly drainMs: number;
  readonly deregisterOnShutdown: boolean;
  readonly checks: {
    readonly http?: {
      readonly path: string;
      readonly expectStatus?: number;
      readonly timeoutMs?: number;
    };
    readonly tcp?: { readonly port?: string; readonly timeoutMs?: number };
    readonly custom: readonly CustomCheck[];
    readonly intervalMs: number;
    readonly failuresBeforeCritical: number;
    readonly successesBeforePassing: number;
  };
  readonly discover: readonly string[];
  readonly resyncMs: number;
  readonly emptyConfirmMs: number;
  readonly recoveryMs: number;
  readonly secret: string | undefined;
  readonly strategy: BalancingStrategy | undefined;
  readonly outlier: Required<OutlierOptions>;
  readonly redisKeyPrefix: string;
}
