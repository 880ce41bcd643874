import { Inject, Injectable } from '@nestjs/common';
import { COORDINATION_SETTINGS } from '../coordination.constants.js';
import type { CoordinationSettings } from '../interfaces/coordination-options.interface.js';
import { createTaggedJsonCodec } from './cache-codec.js';
import { LocalLru } from './local-lru.js';
import { CacheStore, InjectCacheStore } from './stores/cache.store.js';
import { CacheCounts, TieredCache } from './tiered-cache.js';

/**
 * The application's cache: one {@link TieredCache} over the store, and the counts of each cache
 * name (for metrics and health). Started on first use, so an application without `@Cached`
 * opens no subscriber connection.
 * @internal
 */
@Injectable()
export class CacheRegistry {
  readonly engine: TieredCache;
  private readonly countsByName = new Map<string, CacheCounts>();
  private started: Promise<void> | undefined;

  constructor(
    @Inject(COORDINATION_SETTINGS) settings: CoordinationSettings,
    @InjectCacheStore() readonly store: CacheStore,
  ) {
    const { maxEntries, maxBytes, maxValueBytes, leaseMs, classes } = settings.cache;
    this.engine = new TieredCache({
      store,
      local: new LocalLru<unknown>({ maxEntries, maxBytes }),
      codec: createTaggedJsonCodec(classes),
      maxValueBytes,
      leaseMs,
      commandTimeoutMs: settings.fleet.commandTimeoutMs,
    });
  }

  /** True once a cache was declared or used: the invalidation feed is (being) joined. */
  get inUse(): boolean {
    return this.started !== undefined;
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

  close(): Promise<void> {
    return this.store.close();
  }
}
