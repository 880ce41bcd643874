import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { KeelDeadlineError } from '@keel/core';
import {
  cacheStoreBack,
  cacheStoreTimedOut,
  cacheStoreUnreachable,
} from '../coordination.messages.js';
import { DeadlineList, PendingCall } from '../timeout/deadline-list.js';
import type { CacheCodec } from './cache-codec.js';
import type { LocalLru } from './local-lru.js';
import type {
  CacheInvalidation,
  CacheStore,
  InvalidationListener,
  StoredEntry,
} from './stores/cache.store.js';

/** How one value is cached. @internal */
export interface EntryPolicy {
  readonly ttlMs: number;
  /** After `ttlMs`, the value is served this long more while one caller refreshes it. */
  readonly staleWhileRevalidateMs: number;
  readonly tags: readonly string[];
  /** Cache `null` results too (`undefined` is never cached). */
  readonly cacheNull: boolean;
  /** Where this cache's hits and misses are counted (one per cache name). */
  readonly counts: CacheCounts;
}

/** Counts of one cache name for metrics, read at scrape time. @internal */
export class CacheCounts {
  hitLocal = 0;
  hitShared = 0;
  stale = 0;
  miss = 0;
  /** Calls that ran the method without the cache because the shared tier was unreachable. */
  bypassed = 0;
  /** Values not cached because their encoding is bigger than `maxValueBytes`. */
  oversize = 0;
  /** Values not cached because the codec cannot encode them (a cycle, a function). */
  unencodable = 0;
  /** Background refreshes (stale-while-revalidate) that failed; the stale value stays served. */
  refreshFailed = 0;
}

/** What a {@link TieredCache} is built from. @internal */
export interface TieredCacheOptions {
  readonly store: CacheStore;
  readonly local: LocalLru<unknown>;
  readonly codec: CacheCodec;
  readonly maxValueBytes: number;
  /** How long one replica may take to fill a miss before another tries. */
  readonly leaseMs: number;
  /** A shared-tier call slower than this counts as the store being unreachable. */
  readonly commandTimeoutMs: number;
}

// After a failed shared-tier call the cache is bypassed this long before the store is tried
// again: without it every call would wait commandTimeoutMs for a dead server.
const RETRY_STORE_AFTER_MS = 1_000;

/**
 * The engine behind `@Cached` and `CacheService`: an in-process LRU of decoded values in front
 * of a shared store of encoded ones (Redis, or the embedded memory store).
 *
 * - a miss is filled once per process (concurrent callers share one promise) and once per fleet
 *   (a fill lease in the store; the others poll briefly for the value, or serve a stale one);
 * - a stale value (within `staleWhileRevalidateMs` after `ttlMs`) is served while one caller
 *   refreshes it in the background;
 * - writes and evictions are published to every replica, which drop their in-process copies;
 *   while that feed is down (reconnecting), the in-process tier is flushed and not used;
 * - when the store is unreachable the method runs uncached: the cache never fails a call.
 * @internal
 */
export class TieredCache implements InvalidationListener {
  readonly instanceId = randomBytes(8).toString('hex');
  lastError: string | undefined;
  private readonly store: CacheStore;
  private readonly local: LocalLru<unknown>;
  private readonly codec: CacheCodec;
  private readonly options: TieredCacheOptions;
  private readonly inflight = new Map<string, Promise<unknown>>();
  /** Evictions the store could not take while unreachable; retried when it answers again. */
  private readonly pendingEvictions = new Set<string>();
  private feedLive = false;
  private warnedUnencodable = false;
  private storeDownUntil = 0;
  private storeDown = false;
  private readonly logger = new Logger('KeelCoordination');
  private readonly deadlines: DeadlineList;

  constructor(options: TieredCacheOptions) {
    this.options = options;
    this.store = options.store;
    this.local = options.local;
    this.codec = options.codec;
    const ms = options.commandTimeoutMs;
    // One timer for all of this cache's store commands, not one set and cleared per command.
    this.deadlines = new DeadlineList(ms, () => new KeelDeadlineError(cacheStoreTimedOut({ ms })));
  }

  /** Starts receiving invalidations; until they flow the in-process tier stays unused. */
  start(): Promise<void> {
    return this.store.listen(this);
  }

  /** False while the shared tier is unreachable (calls run uncached). */
  get available(): boolean {
    return !this.storeDown;
  }

  /** True while invalidations reach this process (the in-process tier is in use). */
  get localTierLive(): boolean {
    return this.feedLive;
  }

  /** Entries and bytes held in process. */
  localSize(): { entries: number; bytes: number } {
    return { entries: this.local.size, bytes: this.local.bytes };
  }

  /**
   * The fresh in-process value of `key`, or `undefined`: the hot path of a hit, synchronous so
   * that a hit costs a map lookup.
   */
  peekFresh(key: string, counts: CacheCounts): { readonly value: unknown } | undefined {
    if (!this.feedLive) return undefined;
    const now = Date.now();
    const hit = this.local.peek(key, now);
    if (hit === undefined || now >= hit.expiresAt) return undefined;
    counts.hitLocal++;
    return hit;
  }

  /** The cached value of `key`, or `load()`'s, cached under `policy`. */
  wrap<T>(key: string, load: () => Promise<T>, policy: EntryPolicy): Promise<T> {
    const fresh = this.peekFresh(key, policy.counts);
    if (fresh !== undefined) return Promise.resolve(fresh.value as T);
    if (this.feedLive) {
      const hit = this.local.get(key, Date.now());
      if (hit !== undefined) {
        policy.counts.stale++;
        this.refreshInBackground(key, load, policy);
        return Promise.resolve(hit.value as T);
      }
    }
    const pending = this.inflight.get(key);
    if (pending !== undefined) return pending as Promise<T>;
    const resolving = this.resolveMiss(key, load, policy).then(
      (value) => {
        this.inflight.delete(key);
        return value;
      },
      (error: unknown) => {
        this.inflight.delete(key);
        throw error;
      },
    );
    this.inflight.set(key, resolving);
    return resolving;
  }

  /** The cached value of `key` (`undefined` when absent), without loading anything. */
  async get<T>(key: string): Promise<T | undefined> {
    if (this.feedLive) {
      const hit = this.local.get(key, Date.now());
      if (hit !== undefined) return hit.value as T;
    }
    if (!this.storeUsable()) return undefined;
    const entry = await this.call(() => this.store.get(key)).catch(() => undefined);
    return entry === undefined ? undefined : (this.accept(key, entry) as T);
  }

  /** Caches `value` under `key` and drops every other replica's in-process copy. */
  async set(key: string, value: unknown, policy: EntryPolicy): Promise<void> {
    await this.put(key, value, policy);
    await this.publish({ origin: this.instanceId, keys: [key] });
  }

  /** Drops `keys` everywhere: here, in the store, and in every replica's in-process tier. */
  async evict(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.local.delete(key);
    if (keys.length === 0) return;
    try {
      await this.call(() => this.store.delete(keys));
    } catch {
      for (const key of keys) this.pendingEvictions.add(key);
    }
    await this.publish({ origin: this.instanceId, keys });
  }

  /** Drops every key cached with one of `tags`. */
  async evictTags(tags: readonly string[]): Promise<void> {
    let keys: string[];
    try {
      keys = await this.call(() => this.store.takeTagged(tags));
    } catch {
      // The tagged keys cannot be known: drop everything held here; what the store holds stays
      // until it expires (counted and logged as the store being unreachable).
      this.local.clear();
      return;
    }
    await this.evict(keys);
  }

  // --- InvalidationListener ----------------------------------------------------------------

  message(invalidation: CacheInvalidation): void {
    if (invalidation.origin === this.instanceId) return;
    if ('flush' in invalidation) {
      this.local.clear();
      return;
    }
    for (const key of invalidation.keys) this.local.delete(key);
  }

  feed(live: boolean): void {
    // Whatever was missed while the feed was down may have changed: start empty.
    if (live !== this.feedLive) this.local.clear();
    this.feedLive = live;
  }

  // --- misses ------------------------------------------------------------------------------

  private resolveMiss<T>(key: string, load: () => Promise<T>, policy: EntryPolicy): Promise<T> {
    const counts = policy.counts;
    if (!this.storeUsable()) {
      counts.bypassed++;
      return load();
    }
    return this.call(() => this.store.get(key)).then(
      (entry) => this.settleLookup(key, entry, load, policy),
      () => {
        counts.bypassed++;
        return load();
      },
    );
  }

  /** What a shared-tier lookup found: a hit (maybe stale, then refreshed) or a miss to fill. */
  private settleLookup<T>(
    key: string,
    entry: StoredEntry | undefined,
    load: () => Promise<T>,
    policy: EntryPolicy,
  ): T | Promise<T> {
    const counts = policy.counts;
    const now = Date.now();
    if (entry !== undefined && now < entry.staleUntil) {
      if (now < entry.expiresAt) counts.hitShared++;
      else {
        counts.stale++;
        this.refreshInBackground(key, load, policy, true);
      }
      return this.accept(key, entry) as T;
    }
    counts.miss++;
    return this.fill(key, load, policy);
  }

  /** Fills a miss: under the fleet lease, or after waiting for the replica that holds it. */
  private async fill<T>(key: string, load: () => Promise<T>, policy: EntryPolicy): Promise<T> {
    const holder = `${this.instanceId}:${randomBytes(4).toString('hex')}`;
    let leased: boolean;
    try {
      leased = await this.call(() => this.store.tryLease(key, holder, this.options.leaseMs));
    } catch {
      policy.counts.bypassed++;
      return load();
    }
    if (!leased) {
      const filled = await this.waitForFill(key, policy.counts);
      if (filled !== undefined) return filled.value as T;
      // The holder gave up or crashed: fill it here (one more call, never a stuck caller).
    }
    try {
      const value = await load();
      await this.put(key, value, policy);
      return value;
    } finally {
      if (leased) this.store.releaseLease(key, holder).catch(() => undefined);
    }
  }

  /** Polls the store (10 → 50 ms) for the value another replica is filling, up to its lease. */
  private async waitForFill(
    key: string,
    counts: CacheCounts,
  ): Promise<{ value: unknown } | undefined> {
    const deadline = Date.now() + this.options.leaseMs;
    let pause = 10;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(50, pause * 2);
      const entry = await this.call(() => this.store.get(key)).catch(() => undefined);
      if (entry !== undefined && Date.now() < entry.staleUntil) {
        counts.hitShared++;
        return { value: this.accept(key, entry) };
      }
    }
    return undefined;
  }

  private refreshInBackground<T>(
    key: string,
    load: () => Promise<T>,
    policy: EntryPolicy,
    fromMiss = false,
  ): void {
    // A miss being resolved is this key's own lookup (from the miss path) or a fill in flight.
    if (this.inflight.has(key) && !fromMiss) return;
    if (this.inflight.has(`refresh:${key}`)) return;
    const refresh = (async () => {
      const holder = `${this.instanceId}:${randomBytes(4).toString('hex')}`;
      // One replica refreshes; the others keep serving the stale value until it lands.
      if (!(await this.call(() => this.store.tryLease(key, holder, this.options.leaseMs)))) return;
      try {
        await this.put(key, await load(), policy);
        await this.publish({ origin: this.instanceId, keys: [key] });
      } finally {
        this.store.releaseLease(key, holder).catch(() => undefined);
      }
    })()
      .catch(() => {
        policy.counts.refreshFailed++;
      })
      .finally(() => this.inflight.delete(`refresh:${key}`));
    this.inflight.set(`refresh:${key}`, refresh);
  }

  // --- writes ------------------------------------------------------------------------------

  /** Caches `value` here and in the store, unless it is not cacheable. */
  private async put(key: string, value: unknown, policy: EntryPolicy): Promise<void> {
    if (value === undefined || (value === null && !policy.cacheNull)) return;
    const payload = this.encode(value, policy.counts);
    if (payload === undefined) return;
    const bytes = payload.length * 2;
    if (bytes > this.options.maxValueBytes) {
      policy.counts.oversize++;
      return;
    }
    const now = Date.now();
    const expiresAt = now + policy.ttlMs;
    const staleUntil = expiresAt + policy.staleWhileRevalidateMs;
    if (this.feedLive) this.local.set(key, { value, bytes, expiresAt, staleUntil });
    if (!this.storeUsable()) return;
    await this.call(() =>
      this.store.set(key, { payload, expiresAt, staleUntil }, policy.tags),
    ).catch(() => undefined);
  }

  /** The value's encoding, or `undefined` when it cannot be cached (logged once). */
  private encode(value: unknown, counts: CacheCounts): string | undefined {
    try {
      return this.codec.encode(value);
    } catch (error) {
      counts.unencodable++;
      if (!this.warnedUnencodable) {
        this.warnedUnencodable = true;
        this.logger.warn(error instanceof Error ? error.message : String(error));
      }
      return undefined;
    }
  }

  /** Decodes a stored entry and keeps it in process. */
  private accept(key: string, entry: StoredEntry): unknown {
    const value = this.codec.decode(entry.payload);
    if (this.feedLive) {
      this.local.set(key, {
        value,
        bytes: entry.payload.length * 2,
        expiresAt: entry.expiresAt,
        staleUntil: entry.staleUntil,
      });
    }
    return value;
  }

  private async publish(invalidation: CacheInvalidation): Promise<void> {
    if (!this.storeUsable()) return;
    await this.call(() => this.store.publish(invalidation)).catch(() => undefined);
  }

  // --- the store's health ------------------------------------------------------------------

  private storeUsable(): boolean {
    return !this.storeDown || Date.now() >= this.storeDownUntil;
  }

  /** One store call under the command timeout; a failure marks the store unreachable. */
  private call<T>(operation: () => Promise<T>): Promise<T> {
    let work: Promise<T>;
    try {
      work = operation();
    } catch (error) {
      this.markDown(error);
      return Promise.reject(error as Error);
    }
    // Not an async function: on a shared-tier hit every promise and tick is a visible share
    // of the round trip.
    const pending = new PendingCall(Date.now() + this.options.commandTimeoutMs);
    return (this.deadlines.race(pending, work) as Promise<T>).then(
      this.answered as (value: T) => T,
      this.failed,
    );
  }

  private readonly answered = <T>(value: T): T => {
    if (this.storeDown) this.storeBack();
    return value;
  };

  private readonly failed = (error: unknown): never => {
    this.markDown(error);
    throw error;
  };

  private markDown(error: unknown): void {
    this.storeDownUntil = Date.now() + RETRY_STORE_AFTER_MS;
    this.lastError = error instanceof Error ? error.message : String(error);
    if (this.storeDown) return;
    this.storeDown = true;
    this.logger.warn(cacheStoreUnreachable({ reason: this.lastError }));
  }

  private storeBack(): void {
    this.storeDown = false;
    this.logger.log(cacheStoreBack());
    if (this.pendingEvictions.size === 0) return;
    const keys = [...this.pendingEvictions];
    this.pendingEvictions.clear();
    void this.evict(keys);
  }
}
