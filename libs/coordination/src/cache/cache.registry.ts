import { Inject, Injectable } from '@nestjs/common';
import { KeelDecoratorError } from '@keel/core';
import { COORDINATION_SETTINGS } from '../coordination.constants.js';
import { cacheStoreNeedsRedis } from '../coordination.messages.js';
import type { CoordinationSettings } from '../interfaces/coordination-options.interface.js';
import { createTaggedJsonCodec } from './cache-codec.js';
import { LocalLru } from './local-lru.js';
import { CacheStore, InjectCacheStore } from './stores/cache.store.js';
import { MemoryCacheStore } from './stores/memory-cache.store.js';
import { CacheCounts, TieredCache } from './tiered-cache.js';

/**
 * The application's caches: one {@link TieredCache} over the store (Redis, or the embedded
 * store), one more over an in-process store for caches declared `store: 'memory'` while Redis
 * is there, and the counts of each cache name (metrics, health). The shared engine joins the
 * invalidation feed on first use, so an application without caches opens no subscriber
 * connection.
 * @internal
 */
@Injectable()
export class CacheRegistry {
  readonly engine: TieredCache;
  private processEngine: TieredCache | undefined;
  private readonly storeOfName = new Map<string, 'redis' | 'memory'>();
  private readonly countsByName = new Map<string, CacheCounts>();
  private started: Promise<void> | undefined;

  constructor(
    @Inject(COORDINATION_SETTINGS) private readonly settings: CoordinationSettings,
    @InjectCacheStore() readonly store: CacheStore,
  ) {
    this.engine = this.build(store);
  }

  /** True once a cache was declared or used: the invalidation feed is (being) joined. */
  get inUse(): boolean {
    return this.started !== undefined;
  }

  /**
   * Records which store cache `name` lives in (its first declaration decides).
   * @throws KeelDecoratorError when `store: 'redis'` is asked for without Redis.
   */
  declare(name: string, store: 'redis' | 'memory' | undefined, label: string): void {
    if (store === 'redis' && this.store.kind !== 'redis') {
      throw new KeelDecoratorError(cacheStoreNeedsRedis({ label }));
    }
    if (!this.storeOfName.has(name)) this.storeOfName.set(name, store ?? this.store.kind);
  }

  /** The engine holding cache `name`. */
  engineFor(name: string): TieredCache {
    if (this.store.kind === 'redis' && this.storeOfName.get(name) === 'memory') {
      return this.processTier();
    }
    return this.engine;
  }

  /** Every engine in use, for tag evictions and the in-process totals. */
  engines(): TieredCache[] {
    return this.processEngine === undefined ? [this.engine] : [this.engine, this.processEngine];
  }

  /** Joins the invalidation feed (once); until it is live the in-process tier stays unused. */
  start(): Promise<void> {
    this.started ??= this.engine.start().catch(() => undefined);
    return this.started;
  }

  /** The counts of cache `name`, created on first use. */
  counts(name: string): CacheCounts {
    let counts = this.countsByName.get(name);
    if (counts === undefined) this.countsByName.set(name, (counts = new CacheCounts()));
    return counts;
  }

  /** Every cache name with its counts. */
  entries(): IterableIterator<[string, CacheCounts]> {
    return this.countsByName.entries();
  }

  /** What the in-process tiers hold, over every engine. */
  localSize(): { entries: number; bytes: number } {
    let entries = 0;
    let bytes = 0;
    for (const engine of this.engines()) {
      const size = engine.localSize();
      entries += size.entries;
      bytes += size.bytes;
    }
    return { entries, bytes };
  }

  close(): Promise<void> {
    return this.store.close();
  }

  private processTier(): TieredCache {
    if (this.processEngine === undefined) {
      const { maxEntries } = this.settings.cache;
      this.processEngine = this.build(new MemoryCacheStore(Math.max(1_000, maxEntries * 10)));
      void this.processEngine.start();
    }
    return this.processEngine;
  }

  private build(store: CacheStore): TieredCache {
    const { maxEntries, maxBytes, maxValueBytes, leaseMs, classes, codec } = this.settings.cache;
    return new TieredCache({
      store,
      local: new LocalLru<unknown>({ maxEntries, maxBytes }),
      codec: codec ?? createTaggedJsonCodec(classes),
      maxValueBytes,
      leaseMs,
      commandTimeoutMs: this.settings.fleet.commandTimeoutMs,
    });
  }
}
