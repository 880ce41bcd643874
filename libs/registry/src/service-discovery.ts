import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { KeelMetrics } from '@keel/core';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { Observable, Subject } from 'rxjs';
import semver from 'semver';
import { Pool } from './balancers.js';
import type { InstanceStatus, ServiceInstance } from './interfaces/instance.interface.js';
import type {
  BalancingStrategy,
  RegistrySettings,
} from './interfaces/registry-options.interface.js';
import { OutlierDetector } from './outlier-detector.js';
import { RecordCodec } from './record.codec.js';
import { REGISTRY_SETTINGS } from './registry.constants.js';
import {
  consistentHashNeedsKey,
  instanceEjected,
  noneEligible,
  pushChannelUnavailable,
  registryReachable,
  registryUnreachable,
  serviceNotLoaded,
  unknownStrategy,
} from './registry.messages.js';
import { REGISTRY_METRICS } from './registry.metrics.js';
import { NoInstanceAvailableError, RegistryArgumentError } from './registry.errors.js';
import {
  RegistryStore,
  type RegistryEvent,
  type RegistrySubscription,
  type ServiceSnapshot,
} from './stores/registry.store.js';

/** Filters of {@link ServiceDiscovery.instances}. @publicApi */
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

/** Options of {@link ServiceDiscovery.instances}. @publicApi */
export interface InstancesOptions extends InstanceFilter {
  /** Include `critical` and `draining` instances. @default false */
  readonly includeUnhealthy?: boolean;
}

/** Options of {@link ServiceDiscovery.choose}. @publicApi */
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

interface Entry {
  readonly service: string;
  instances: Map<string, ServiceInstance>;
  /** Every instance, sorted by id. */
  list: readonly ServiceInstance[];
  /** Chosen from: passing or warning, not ejected. */
  pool: Pool;
  /** Passing or warning, ejected ones included (used when every instance is ejected). */
  unejected: Pool;
  filtered: Map<string, Pool>;
  loaded: boolean;
  stale: boolean;
  lastSyncAt: number;
  emptySince: number | undefined;
  signature: string;
  /** Ids removed by a `down` event, with the registry time of removal. */
  readonly tombstones: Map<string, number>;
  readonly changes: Subject<readonly ServiceInstance[]>;
  expiryTimer: NodeJS.Timeout | undefined;
  confirmTimer: NodeJS.Timeout | undefined;
  inflight: Promise<void> | undefined;
  firstLoad: { promise: Promise<void>; resolve: () => void };
}

const STATUSES: readonly InstanceStatus[] = ['passing', 'warning', 'critical', 'draining'];
const EMPTY_POOL = new Pool([]);

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
  private readonly entries = new Map<string, Entry>();
  private readonly codec: RecordCodec;
  private readonly outliers: OutlierDetector;
  private readonly outstanding = new Map<string, number>();
  private subscription: RegistrySubscription | undefined;
  private subscribing: Promise<void> | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private ejectionTimer: NodeJS.Timeout | undefined;
  /** Store clock minus local clock, measured at every full read. */
  private offsetMs = 0;
  private unreachable = false;
  private recoveringUntil = 0;
  private started = false;
  private stopped = false;
  private readonly instancesGauge: Gauge<'service' | 'status'>;
  private readonly propagation: Histogram<'service'>;
  private readonly invalid: Counter<'service' | 'reason'>;
  private readonly ejections: Counter<'service'>;

  constructor(
    @Inject(RegistryStore) private readonly store: RegistryStore,
    @Inject(REGISTRY_SETTINGS) private readonly settings: RegistrySettings,
    @Inject(KeelMetrics) metrics: KeelMetrics,
  ) {
    this.codec = new RecordCodec(settings.secret);
    this.outliers = new OutlierDetector(settings.outlier);
    this.instancesGauge = metrics.gauge(REGISTRY_METRICS.instances);
    const { buckets, ...propagation } = REGISTRY_METRICS.propagation;
    this.propagation = metrics.histogram({ ...propagation, buckets: [...buckets] });
    this.invalid = metrics.counter(REGISTRY_METRICS.invalidRecords);
    this.ejections = metrics.counter(REGISTRY_METRICS.ejections);
    const entries = this.entries;
    metrics.gauge({
      ...REGISTRY_METRICS.cacheAge,
      collect() {
        const now = Date.now();
        for (const entry of entries.values()) {
          if (entry.loaded) this.set({ service: entry.service }, (now - entry.lastSyncAt) / 1_000);
        }
      },
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
   * Picks one eligible instance (passing or warning, not ejected) from the cache.
   * @throws NoInstanceAvailableError when none is eligible.
   * @throws RegistryArgumentError for `consistent-hash` without a key.
   */
  choose(name: string, options?: ChooseOptions): ServiceInstance {
    const entry = this.entries.get(name) ?? this.entry(name);
    let pool = entry.pool;
    if (pool.instances.length === 0) pool = entry.unejected;
    if (options !== undefined && hasFilter(options)) pool = this.filteredPool(entry, options);
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
    const strategy = options?.strategy ?? pool.defaultStrategy(this.settings.strategy);
    switch (strategy) {
      case 'round-robin':
        return pool.roundRobin();
      case 'weighted':
        return pool.weighted();
      case 'random':
        return pool.random();
      case 'least-outstanding':
        return pool.leastOutstanding(this.outstanding);
      case 'consistent-hash':
        if (options?.key === undefined) {
          throw new RegistryArgumentError(consistentHashNeedsKey({ service: name }));
        }
        return pool.consistentHash(options.key);
      case 'zone': {
        const zone = options?.zone ?? this.settings.service?.zone;
        const local = zone === undefined ? undefined : pool.inZone(zone);
        const chosen = local ?? pool;
        return chosen.cumulative === undefined ? chosen.roundRobin() : chosen.weighted();
      }
      default:
        throw new RegistryArgumentError(
          unknownStrategy({ service: name, strategy: String(strategy) }),
        );
    }
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
    const entry = this.entry(name, false);
    await this.sync(entry);
  }

  /** True once the service's list was read at least once (no network). */
  isLoaded(name: string): boolean {
    return this.entries.get(name)?.loaded === true;
  }

  /** Cache state of every watched service. */
  cacheStates(): CacheState[] {
    const now = Date.now();
    return [...this.entries.values()].map((e) => ({
      service: e.service,
      loaded: e.loaded,
      stale: e.stale,
      ageMs: e.loaded ? now - e.lastSyncAt : Number.NaN,
      instances: e.list.length,
    }));
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
    const entry = this.entries.get(instance.service);
    if (entry) this.rebuild(entry, false);
    this.scheduleEjectionEnd();
  }

  /** True when `id` is currently ejected by this process. */
  isEjected(id: string): boolean {
    return this.outliers.isEjected(id);
  }

  /** The registry clock, estimated from the last full read. @internal */
  registryNow(): number {
    return Date.now() + this.offsetMs;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.started = true;
    for (const name of this.settings.discover) this.entry(name, false);
    if (this.settings.service) this.entry(this.settings.service.name, false);
    await this.ensureSubscribed();
    await Promise.allSettled([...this.entries.values()].map((e) => this.sync(e)));
    this.resyncTimer = setInterval(() => void this.resyncAll(), this.settings.resyncMs);
    this.resyncTimer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.resyncTimer);
    clearTimeout(this.ejectionTimer);
    for (const entry of this.entries.values()) {
      clearTimeout(entry.expiryTimer);
      clearTimeout(entry.confirmTimer);
      entry.changes.complete();
      entry.firstLoad.resolve();
    }
    const subscription = this.subscription;
    this.subscription = undefined;
    await subscription?.close().catch(() => undefined);
  }

  private entry(name: string, load = true): Entry {
    let entry = this.entries.get(name);
    if (entry !== undefined) return entry;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    entry = {
      service: name,
      instances: new Map(),
      list: [],
      pool: EMPTY_POOL,
      unejected: EMPTY_POOL,
      filtered: new Map(),
      loaded: false,
      stale: false,
      lastSyncAt: 0,
      emptySince: undefined,
      signature: '',
      tombstones: new Map(),
      changes: new Subject(),
      expiryTimer: undefined,
      confirmTimer: undefined,
      inflight: undefined,
      firstLoad: { promise, resolve },
    };
    this.entries.set(name, entry);
    if (this.started && !this.stopped) {
      void this.subscription?.add([name]).catch(() => undefined);
      if (load) void this.sync(entry);
    }
    return entry;
  }

  private async ensureSubscribed(): Promise<void> {
    if (this.subscription !== undefined || this.stopped) return;
    this.subscribing ??= (async () => {
      try {
        const subscription = await this.store.subscribe(
          [...this.entries.keys()],
          (event) => this.onEvent(event),
          () => this.onReconnect(),
        );
        if (this.stopped) {
          await subscription.close();
          return;
        }
        this.subscription = subscription;
        // Services first asked for while subscribing.
        await subscription.add([...this.entries.keys()]);
      } catch (error) {
        this.logger.warn(pushChannelUnavailable({ error: (error as Error).message }));
      } finally {
        this.subscribing = undefined;
      }
    })();
    await this.subscribing;
  }

  private onReconnect(): void {
    if (this.stopped) return;
    this.recoveringUntil = Date.now() + this.settings.recoveryMs;
    void this.resyncAll();
  }

  private async resyncAll(): Promise<void> {
    if (this.stopped) return;
    if (this.subscription === undefined) await this.ensureSubscribed();
    await Promise.allSettled([...this.entries.values()].map((e) => this.sync(e)));
  }

  private sync(entry: Entry): Promise<void> {
    // One read per service at a time; a caller arriving meanwhile shares it.
    entry.inflight ??= this.read(entry).finally(() => {
      entry.inflight = undefined;
    });
    return entry.inflight;
  }

  private async read(entry: Entry): Promise<void> {
    if (this.stopped) return;
    let snapshot: ServiceSnapshot;
    const before = Date.now();
    try {
      snapshot = await this.store.snapshot(entry.service);
    } catch (error) {
      if (!this.unreachable) {
        this.logger.warn(registryUnreachable({ error: (error as Error).message }));
      }
      this.unreachable = true;
      if (entry.loaded) entry.stale = true;
      return;
    }
    if (this.stopped) return;
    const after = Date.now();
    this.offsetMs = snapshot.now - (before + after) / 2;
    if (this.unreachable) {
      // The registry may have restarted empty: give instances time to register again before
      // a resync may remove anything.
      this.unreachable = false;
      this.recoveringUntil = Math.max(this.recoveringUntil, after + this.settings.recoveryMs);
      this.logger.log(registryReachable());
    }
    this.applySnapshot(entry, snapshot, after);
  }

  private applySnapshot(entry: Entry, snapshot: ServiceSnapshot, now: number): void {
    const fresh = new Map<string, ServiceInstance>();
    for (const [id, removedAt] of entry.tombstones) {
      if (removedAt < snapshot.now - 60_000) entry.tombstones.delete(id);
    }
    for (const raw of snapshot.records) {
      const decoded = this.codec.decode(entry.service, raw);
      if (!decoded.ok) {
        this.invalid.inc({ service: entry.service, reason: decoded.reason });
        continue;
      }
      // A read that raced a newer event must not undo it.
      const removedAt = entry.tombstones.get(raw.id);
      if (
        removedAt !== undefined &&
        removedAt >= snapshot.now &&
        removedAt >= decoded.instance.updatedAt
      )
        continue;
      const cached = entry.instances.get(raw.id);
      fresh.set(
        raw.id,
        cached !== undefined && cached.updatedAt > decoded.instance.updatedAt
          ? cached
          : decoded.instance,
      );
    }
    entry.stale = false;
    entry.lastSyncAt = now;
    const recovering = now < this.recoveringUntil;
    if (fresh.size === 0 && entry.instances.size > 0 && !recovering) {
      // Push-empty protection: an empty answer replaces a non-empty list only if it persists.
      if (entry.emptySince === undefined) {
        entry.emptySince = now;
        this.scheduleConfirm(entry);
        return;
      }
      if (now - entry.emptySince < this.settings.emptyConfirmMs) {
        this.scheduleConfirm(entry);
        return;
      }
    }
    entry.emptySince = undefined;
    if (recovering) {
      for (const [id, instance] of fresh) entry.instances.set(id, instance);
    } else {
      for (const id of entry.instances.keys()) {
        if (!fresh.has(id)) this.outliers.forget(id);
      }
      entry.instances = fresh;
    }
    const firstLoad = !entry.loaded;
    entry.loaded = true;
    this.rebuild(entry, firstLoad);
    if (firstLoad) entry.firstLoad.resolve();
  }

  private scheduleConfirm(entry: Entry): void {
    if (entry.confirmTimer !== undefined || this.stopped) return;
    entry.confirmTimer = setTimeout(() => {
      entry.confirmTimer = undefined;
      void this.sync(entry);
    }, this.settings.emptyConfirmMs + 10);
    entry.confirmTimer.unref();
  }

  private onEvent(event: RegistryEvent): void {
    if (this.stopped) return;
    const entry = this.entries.get(event.service);
    if (entry === undefined) return;
    if (event.type === 'down') {
      // A deregistration or a prune by the store is definitive.
      entry.tombstones.set(event.id, event.now);
      if (entry.instances.delete(event.id)) {
        this.outliers.forget(event.id);
        this.rebuild(entry, false);
      }
      return;
    }
    const decoded = this.codec.decode(event.service, event.record);
    if (!decoded.ok) {
      this.invalid.inc({ service: event.service, reason: decoded.reason });
      return;
    }
    const instance = decoded.instance;
    const previous = entry.instances.get(instance.id);
    if (previous !== undefined && previous.updatedAt > instance.updatedAt) return;
    entry.tombstones.delete(instance.id);
    entry.instances.set(instance.id, instance);
    entry.emptySince = undefined;
    this.propagation.observe(
      { service: event.service },
      Math.max(0, (Date.now() + this.offsetMs - instance.updatedAt) / 1_000),
    );
    this.rebuild(entry, false);
  }

  private rebuild(entry: Entry, force: boolean): void {
    const list = [...entry.instances.values()].sort((a, b) =>
      a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
    );
    const now = Date.now();
    const eligible = list.filter((i) => i.status === 'passing' || i.status === 'warning');
    const chosen = eligible.filter((i) => !this.outliers.isEjected(i.id, now));
    const cursor = entry.pool.cursor;
    entry.pool = new Pool(chosen);
    entry.pool.cursor = chosen.length > 0 ? cursor % chosen.length : 0;
    entry.unejected = chosen.length === eligible.length ? entry.pool : new Pool(eligible);
    entry.filtered.clear();
    const counts: Record<InstanceStatus, number> = {
      passing: 0,
      warning: 0,
      critical: 0,
      draining: 0,
    };
    for (const i of list) counts[i.status] += 1;
    for (const status of STATUSES)
      this.instancesGauge.set({ service: entry.service, status }, counts[status]);
    this.scheduleExpiry(entry, list);
    const signature = list.map((i) => `${i.id}:${i.status}:${i.updatedAt}`).join('|');
    const changed = signature !== entry.signature;
    entry.signature = signature;
    entry.list = list;
    if (changed || force) entry.changes.next(list);
  }

  /** Re-reads the service when its earliest cached record is due to expire. */
  private scheduleExpiry(entry: Entry, list: readonly ServiceInstance[]): void {
    clearTimeout(entry.expiryTimer);
    entry.expiryTimer = undefined;
    if (list.length === 0 || this.stopped) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const i of list) if (i.expiresAt < earliest) earliest = i.expiresAt;
    // A few ms past expiry, so the store prunes it (or answers with the extended expiry).
    let delay = Math.max(20, earliest - this.registryNow() + 15);
    // While recovering, reads remove nothing: re-reading records that are already past due
    // would spin until the window closes.
    const recoveringFor = this.recoveringUntil - Date.now();
    if (recoveringFor > 0) delay = Math.max(delay, recoveringFor + 15);
    entry.expiryTimer = setTimeout(
      () => {
        entry.expiryTimer = undefined;
        void this.sync(entry);
      },
      Math.min(delay, 2_147_000_000),
    );
    entry.expiryTimer.unref();
  }

  private scheduleEjectionEnd(): void {
    clearTimeout(this.ejectionTimer);
    const next = this.outliers.nextExpiry();
    if (next === undefined || this.stopped) return;
    this.ejectionTimer = setTimeout(
      () => {
        for (const entry of this.entries.values()) this.rebuild(entry, false);
        this.scheduleEjectionEnd();
      },
      Math.max(1, next - Date.now() + 1),
    );
    this.ejectionTimer.unref();
  }

  private filteredPool(entry: Entry, filter: InstanceFilter): Pool {
    const key = `${filter.tags?.join('\u0000') ?? ''}\u0001${filter.version ?? ''}\u0001${
      filter.metadata ? JSON.stringify(filter.metadata) : ''
    }`;
    let pool = entry.filtered.get(key);
    if (pool === undefined) {
      const base = entry.pool.instances.length > 0 ? entry.pool : entry.unejected;
      pool = new Pool(base.instances.filter((i) => matches(i, filter)));
      entry.filtered.set(key, pool);
    }
    return pool;
  }
}

function hasFilter(filter: InstanceFilter): boolean {
  return filter.tags !== undefined || filter.version !== undefined || filter.metadata !== undefined;
}

function matches(instance: ServiceInstance, filter: InstanceFilter): boolean {
  if (filter.tags !== undefined && !filter.tags.every((t) => instance.tags.includes(t)))
    return false;
  if (filter.metadata !== undefined) {
    for (const [k, v] of Object.entries(filter.metadata))
      if (instance.metadata[k] !== v) return false;
  }
  if (filter.version !== undefined) {
    const version = semver.valid(instance.version);
    if (version === null || !semver.satisfies(version, filter.version, { includePrerelease: true }))
      return false;
  }
  return true;
}
