import type { KeelMetrics } from '@keel/core';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { Subject } from 'rxjs';
import { Pool, type BalanceContext } from '../balancers.js';
import type { CacheState, InstanceFilter } from '../interfaces/discovery.interface.js';
import type { InstanceStatus, ServiceInstance } from '../interfaces/instance.interface.js';
import type { RegistrySettings } from '../interfaces/registry-options.interface.js';
import type { OutlierDetector } from '../outlier-detector.js';
import type { RecordCodec } from '../record.codec.js';
import { REGISTRY_METRICS } from '../registry.metrics.js';
import type { RegistryEvent, ServiceSnapshot } from '../stores/registry.store.js';
import { filterKey, matches } from './instance-filter.js';
import type { RegistryClock } from './registry-clock.js';

/** The cached view of one service. @internal */
export interface CacheEntry {
  readonly service: string;
  /** Constant per service: what `Pool.pick` needs besides the call's options. */
  readonly balance: BalanceContext;
  instances: Map<string, ServiceInstance>;
  /** Every instance, sorted by id. */
  list: readonly ServiceInstance[];
  /** Chosen from: passing or warning, not ejected. */
  pool: Pool;
  /** Passing or warning, ejected ones included (used when every instance is ejected). */
  unejected: Pool;
  readonly filtered: Map<string, Pool>;
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
  /** The read in flight, shared by every caller that asks meanwhile. */
  inflight: Promise<void> | undefined;
}

/** What the cache is built from. @internal */
export interface DiscoveryCacheDeps {
  readonly settings: RegistrySettings;
  readonly codec: RecordCodec;
  readonly outliers: OutlierDetector;
  readonly clock: RegistryClock;
  readonly metrics: KeelMetrics;
  readonly outstanding: ReadonlyMap<string, number>;
  /** Reads a service again (a cached record is due to expire, an empty answer to confirm). */
  readonly reread: (entry: CacheEntry) => void;
}

const STATUSES: readonly InstanceStatus[] = ['passing', 'warning', 'critical', 'draining'];
const EMPTY_POOL = new Pool([]);

/**
 * The local cache of every watched service: applies full answers and pushed events, keeps the
 * precomputed pools `choose()` picks from, and re-reads a service when a cached record is due
 * to expire. It makes no network call itself; {@link RegistrySync} feeds it.
 * @internal
 */
export class DiscoveryCache {
  readonly entries = new Map<string, CacheEntry>();
  private stopped = false;
  private readonly instancesGauge: Gauge<'service' | 'status'>;
  private readonly propagation: Histogram<'service'>;
  private readonly invalid: Counter<'service' | 'reason'>;

  constructor(private readonly deps: DiscoveryCacheDeps) {
    const { metrics } = deps;
    this.instancesGauge = metrics.gauge(REGISTRY_METRICS.instances);
    const { buckets, ...propagation } = REGISTRY_METRICS.propagation;
    this.propagation = metrics.histogram({ ...propagation, buckets: [...buckets] });
    this.invalid = metrics.counter(REGISTRY_METRICS.invalidRecords);
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

  /** The entry of `name`, created empty (not loaded) when the service is new. */
  create(name: string): CacheEntry {
    const existing = this.entries.get(name);
    if (existing !== undefined) return existing;
    const { settings, outstanding } = this.deps;
    const entry: CacheEntry = {
      service: name,
      balance: {
        service: name,
        outstanding,
        configured: settings.strategy,
        localZone: settings.service?.zone,
      },
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
    };
    this.entries.set(name, entry);
    return entry;
  }

  /** Cache state of every watched service. */
  states(): CacheState[] {
    const now = Date.now();
    return [...this.entries.values()].map((e) => ({
      service: e.service,
      loaded: e.loaded,
      stale: e.stale,
      ageMs: e.loaded ? now - e.lastSyncAt : Number.NaN,
      instances: e.list.length,
    }));
  }

  /**
   * Applies a full answer read at local time `now`. A read that raced a newer event does not
   * undo it (tombstones, `updatedAt`); an empty answer replaces a non-empty list only once it
   * persists for `emptyConfirmMs`; during the recovery window nothing is removed.
   */
  applySnapshot(entry: CacheEntry, snapshot: ServiceSnapshot, now: number): void {
    const fresh = this.decodeSnapshot(entry, snapshot);
    entry.stale = false;
    entry.lastSyncAt = now;
    const recovering = this.deps.clock.recovering(now);
    if (fresh.size === 0 && entry.instances.size > 0 && !recovering) {
      // Push-empty protection: an empty answer replaces a non-empty list only if it persists.
      if (entry.emptySince === undefined) {
        entry.emptySince = now;
        this.scheduleConfirm(entry);
        return;
      }
      if (now - entry.emptySince < this.deps.settings.emptyConfirmMs) {
        this.scheduleConfirm(entry);
        return;
      }
    }
    entry.emptySince = undefined;
    if (recovering) {
      for (const [id, instance] of fresh) entry.instances.set(id, instance);
    } else {
      for (const id of entry.instances.keys()) {
        if (!fresh.has(id)) this.deps.outliers.forget(id);
      }
      entry.instances = fresh;
    }
    const firstLoad = !entry.loaded;
    entry.loaded = true;
    this.rebuild(entry, firstLoad);
  }

  /** Applies one pushed change; a `down` is definitive (a deregistration or a prune). */
  applyEvent(event: RegistryEvent): void {
    if (this.stopped) return;
    const entry = this.entries.get(event.service);
    if (entry === undefined) return;
    if (event.type === 'down') {
      entry.tombstones.set(event.id, event.now);
      if (entry.instances.delete(event.id)) {
        this.deps.outliers.forget(event.id);
        this.rebuild(entry, false);
      }
      return;
    }
    const decoded = this.deps.codec.decode(event.service, event.record);
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
      Math.max(0, (this.deps.clock.now() - instance.updatedAt) / 1_000),
    );
    this.rebuild(entry, false);
  }

  /**
   * Recomputes the sorted list, the pools and the gauges after a change, and tells watchers
   * when the list changed (or always, with `force`: the first load).
   */
  rebuild(entry: CacheEntry, force: boolean): void {
    const list = [...entry.instances.values()].sort((a, b) =>
      a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
    );
    const now = Date.now();
    const eligible = list.filter((i) => i.status === 'passing' || i.status === 'warning');
    const chosen = eligible.filter((i) => !this.deps.outliers.isEjected(i.id, now));
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

  /** Rebuilds every service (an ejection period ended). */
  rebuildAll(): void {
    for (const entry of this.entries.values()) this.rebuild(entry, false);
  }

  /** The pool of eligible instances matching `filter`, cached until the next rebuild. */
  filteredPool(entry: CacheEntry, filter: InstanceFilter): Pool {
    const key = filterKey(filter);
    let pool = entry.filtered.get(key);
    if (pool === undefined) {
      const base = entry.pool.instances.length > 0 ? entry.pool : entry.unejected;
      pool = new Pool(base.instances.filter((i) => matches(i, filter)));
      entry.filtered.set(key, pool);
    }
    return pool;
  }

  /** Stops every timer and completes every watcher. Idempotent. */
  stop(): void {
    this.stopped = true;
    for (const entry of this.entries.values()) {
      clearTimeout(entry.expiryTimer);
      clearTimeout(entry.confirmTimer);
      entry.changes.complete();
    }
  }

  private decodeSnapshot(
    entry: CacheEntry,
    snapshot: ServiceSnapshot,
  ): Map<string, ServiceInstance> {
    const fresh = new Map<string, ServiceInstance>();
    for (const [id, removedAt] of entry.tombstones) {
      if (removedAt < snapshot.now - 60_000) entry.tombstones.delete(id);
    }
    for (const raw of snapshot.records) {
      const decoded = this.deps.codec.decode(entry.service, raw);
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
    return fresh;
  }

  private scheduleConfirm(entry: CacheEntry): void {
    if (entry.confirmTimer !== undefined || this.stopped) return;
    entry.confirmTimer = setTimeout(() => {
      entry.confirmTimer = undefined;
      this.deps.reread(entry);
    }, this.deps.settings.emptyConfirmMs + 10);
    entry.confirmTimer.unref();
  }

  /** Re-reads the service when its earliest cached record is due to expire. */
  private scheduleExpiry(entry: CacheEntry, list: readonly ServiceInstance[]): void {
    clearTimeout(entry.expiryTimer);
    entry.expiryTimer = undefined;
    if (list.length === 0 || this.stopped) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const i of list) if (i.expiresAt < earliest) earliest = i.expiresAt;
    // A few ms past expiry, so the store prunes it (or answers with the extended expiry).
    let delay = Math.max(20, earliest - this.deps.clock.now() + 15);
    // While recovering, reads remove nothing: re-reading records that are already past due
    // would spin until the window closes.
    const recoveringFor = this.deps.clock.recoveringUntil - Date.now();
    if (recoveringFor > 0) delay = Math.max(delay, recoveringFor + 15);
    entry.expiryTimer = setTimeout(
      () => {
        entry.expiryTimer = undefined;
        this.deps.reread(entry);
      },
      Math.min(delay, 2_147_000_000),
    );
    entry.expiryTimer.unref();
  }
}
