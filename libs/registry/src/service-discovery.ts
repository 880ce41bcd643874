import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { KeelMetrics } from '@keel/core';
import type { Counter } from 'prom-client';
import { Observable } from 'rxjs';
import { DiscoveryCache, type CacheEntry } from './discovery/discovery-cache.js';
import { hasFilter, matches } from './discovery/instance-filter.js';
import { RegistryClock } from './discovery/registry-clock.js';
import { RegistrySync } from './discovery/registry-sync.js';
import type {
  CacheState,
  ChooseOptions,
  InstancesOptions,
} from './interfaces/discovery.interface.js';
import type { ServiceInstance } from './interfaces/instance.interface.js';
import type { RegistrySettings } from './interfaces/registry-options.interface.js';
import { OutlierDetector } from './outlier-detector.js';
import { RecordCodec } from './record.codec.js';
import { REGISTRY_SETTINGS } from './registry.constants.js';
import { NoInstanceAvailableError } from './registry.errors.js';
import { instanceEjected, noneEligible, serviceNotLoaded } from './registry.messages.js';
import { REGISTRY_METRICS } from './registry.metrics.js';
import { RegistryStore } from './stores/registry.store.js';

export type {
  CacheState,
  ChooseOptions,
  InstanceFilter,
  InstancesOptions,
} from './interfaces/discovery.interface.js';

/**
 * Finds instances of services and picks one per call. Every answer comes from a local cache
 * (no network on the call path), kept fresh by the store's push channel, a periodic full
 * resync, a resync after every reconnect and a targeted re-read when a cached record is due to
 * expire. When the registry is unreachable the last known good list is served, flagged stale.
 *
 * @example
 * ```ts
 * const target = discovery.choose('payments', { strategy: 'least-outstanding' });
 * const url = `http://${target.address.host}:${target.address.port}/charge`;
 * ```
 * @publicApi
 */
@Injectable()
export class ServiceDiscovery implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('KeelRegistry');
  private readonly outliers: OutlierDetector;
  private readonly outstanding = new Map<string, number>();
  private readonly clock = new RegistryClock();
  private readonly cache: DiscoveryCache;
  private readonly sync: RegistrySync;
  private readonly ejections: Counter<'service'>;
  private ejectionTimer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;

  constructor(
    @Inject(RegistryStore) store: RegistryStore,
    @Inject(REGISTRY_SETTINGS) private readonly settings: RegistrySettings,
    @Inject(KeelMetrics) metrics: KeelMetrics,
  ) {
    this.outliers = new OutlierDetector(settings.outlier);
    this.ejections = metrics.counter(REGISTRY_METRICS.ejections);
    this.cache = new DiscoveryCache({
      settings,
      codec: new RecordCodec(settings.secret),
      outliers: this.outliers,
      clock: this.clock,
      metrics,
      outstanding: this.outstanding,
      reread: (entry) => void this.sync.sync(entry),
    });
    this.sync = new RegistrySync({
      store,
      settings,
      cache: this.cache,
      clock: this.clock,
      logger: this.logger,
    });
  }

  /**
   * Instances of `name` from the cache. Unknown services start being watched and return `[]`
   * until their first answer (await {@link refresh} or list them in `discover` to preload).
   */
  instances(name: string, options: InstancesOptions = {}): readonly ServiceInstance[] {
    const entry = this.entry(name);
    const base = options.includeUnhealthy ? entry.list : entry.unejected.instances;
    if (!hasFilter(options) && options.zone === undefined) return base;
    return base.filter(
      (i) => matches(i, options) && (options.zone === undefined || i.zone === options.zone),
    );
  }

  /**
   * Picks one eligible instance (passing or warning, not ejected) from the cache, with the
   * strategies of `balancers.ts`.
   * @throws NoInstanceAvailableError when none is eligible.
   * @throws RegistryArgumentError for `consistent-hash` without a key.
   */
  choose(name: string, options?: ChooseOptions): ServiceInstance {
    const entry = this.cache.entries.get(name) ?? this.entry(name);
    let pool = entry.pool;
    if (pool.instances.length === 0) pool = entry.unejected;
    if (options !== undefined && hasFilter(options)) pool = this.cache.filteredPool(entry, options);
    if (pool.instances.length === 0) {
      throw new NoInstanceAvailableError(
        name,
        entry.loaded
          ? noneEligible({
              known: entry.list.length,
              filtered: options !== undefined && hasFilter(options),
            })
          : serviceNotLoaded(),
      );
    }
    return pool.pick(entry.balance, options);
  }

  /**
   * Changes of a service's instance list (every instance, any status): the current list on
   * subscription once loaded, then each change.
   */
  watch(name: string): Observable<readonly ServiceInstance[]> {
    return new Observable<readonly ServiceInstance[]>((subscriber) => {
      const entry = this.entry(name);
      if (entry.loaded) subscriber.next(entry.list);
      const subscription = entry.changes.subscribe(subscriber);
      return () => subscription.unsubscribe();
    });
  }

  /** Reads the service from the registry now (one round trip) and updates the cache. */
  async refresh(name: string): Promise<void> {
    await this.sync.sync(this.entry(name, false));
  }

  /** True once the service's list was read at least once (no network). */
  isLoaded(name: string): boolean {
    return this.cache.entries.get(name)?.loaded === true;
  }

  /** Cache state of every watched service. */
  cacheStates(): CacheState[] {
    return this.cache.states();
  }

  /** Cache state of one service, or undefined when not watched. */
  cacheState(name: string): CacheState | undefined {
    return this.cacheStates().find((s) => s.service === name);
  }

  /**
   * Counts a call in flight to `instance` (least-outstanding) and returns the function that ends
   * it, with the call's outcome for outlier ejection. Keel's clients call this; use it when you
   * call an instance by other means.
   */
  track(instance: ServiceInstance): (ok: boolean) => void {
    const id = instance.id;
    this.outstanding.set(id, (this.outstanding.get(id) ?? 0) + 1);
    let done = false;
    return (ok: boolean) => {
      if (done) return;
      done = true;
      const left = (this.outstanding.get(id) ?? 1) - 1;
      if (left <= 0) this.outstanding.delete(id);
      else this.outstanding.set(id, left);
      this.reportResult(instance, ok);
    };
  }

  /** Calls in flight to an instance through Keel's clients. */
  inFlight(id: string): number {
    return this.outstanding.get(id) ?? 0;
  }

  /** Feeds passive outlier ejection with one call result. */
  reportResult(instance: ServiceInstance, ok: boolean): void {
    if (!this.outliers.record(instance.id, ok)) return;
    this.ejections.inc({ service: instance.service });
    this.logger.warn(instanceEjected({ id: instance.id, service: instance.service }));
    const entry = this.cache.entries.get(instance.service);
    if (entry) this.cache.rebuild(entry, false);
    this.scheduleEjectionEnd();
  }

  /** True when `id` is currently ejected by this process. */
  isEjected(id: string): boolean {
    return this.outliers.isEjected(id);
  }

  /** The registry clock, estimated from the last full read. @internal */
  registryNow(): number {
    return this.clock.now();
  }

  async onApplicationBootstrap(): Promise<void> {
    this.started = true;
    for (const name of this.settings.discover) this.entry(name, false);
    if (this.settings.service) this.entry(this.settings.service.name, false);
    await this.sync.start();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.ejectionTimer);
    this.cache.stop();
    await this.sync.stop();
  }

  /** The cache entry of `name`; a new one is watched and, with `load`, read at once. */
  private entry(name: string, load = true): CacheEntry {
    const existing = this.cache.entries.get(name);
    if (existing !== undefined) return existing;
    const entry = this.cache.create(name);
    if (this.started && !this.stopped) {
      this.sync.watch(name);
      if (load) void this.sync.sync(entry);
    }
    return entry;
  }

  private scheduleEjectionEnd(): void {
    clearTimeout(this.ejectionTimer);
    const next = this.outliers.nextExpiry();
    if (next === undefined || this.stopped) return;
    this.ejectionTimer = setTimeout(
      () => {
        this.cache.rebuildAll();
        this.scheduleEjectionEnd();
      },
      Math.max(1, next - Date.now() + 1),
    );
    this.ejectionTimer.unref();
  }
}
