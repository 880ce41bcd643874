import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { KeelMetrics, escapeKeyValue } from '@keel/core';
import { COORDINATION_METRICS } from '../coordination.metrics.js';
import { DEFAULTS } from '../coordination.settings.js';
import { entryKey } from './cache-keys.js';
import { CacheRegistry } from './cache.registry.js';
import type { EntryPolicy } from './tiered-cache.js';

/** How `CacheService.set` / `wrap` cache one value. @publicApi */
export interface CacheEntryOptions {
  /** @default 60000 */
  readonly ttlMs?: number;
  /** @default 0 */
  readonly staleWhileRevalidateMs?: number;
  /** Tags, as given (escape values taken from input with `escapeKeyValue`). */
  readonly tags?: readonly string[];
  /** @default false */
  readonly cacheNull?: boolean;
}

/** What the cache holds and whether it reaches its store, for health and dashboards. @publicApi */
export interface CacheStatus {
  readonly store: 'memory' | 'redis';
  /** False while the shared tier is unreachable (cached methods run uncached). */
  readonly available: boolean;
  /** True while invalidations reach this process, so the in-process tier is used. */
  readonly localTier: boolean;
  readonly entries: number;
  readonly bytes: number;
  readonly lastError?: string;
}

/**
 * The cache behind `@Cached`, for code that reads and writes it directly. `name` is the cache
 * name of the `@Cached` that shares the entries; `key` is the key within it **as a value** — it
 * is escaped here exactly as a key template escapes its placeholders, so
 * `evict('order', id)` drops what `@Cached({ name: 'order', key: '{id}' })` stored for `id`.
 * @publicApi
 */
@Injectable()
export class CacheService implements OnApplicationShutdown {
  constructor(
    @Inject(CacheRegistry) private readonly registry: CacheRegistry,
    @Inject(KeelMetrics) metrics: KeelMetrics,
  ) {
    registerCacheMetrics(metrics, registry);
  }

  /** The cached value, or `undefined`. */
  async get<T>(name: string, key: string): Promise<T | undefined> {
    await this.registry.start();
    return this.registry.engineFor(name).get<T>(this.key(name, key));
  }

  /** Caches `value` and drops every replica's in-process copy. */
  async set(name: string, key: string, value: unknown, options?: CacheEntryOptions): Promise<void> {
    await this.registry.start();
    await this.registry.engineFor(name).set(this.key(name, key), value, this.policy(name, options));
  }

  /** The cached value, or `load()`'s — computed once in the fleet for concurrent callers. */
  async wrap<T>(
    name: string,
    key: string,
    load: () => Promise<T>,
    options?: CacheEntryOptions,
  ): Promise<T> {
    await this.registry.start();
    const engine = this.registry.engineFor(name);
    return engine.wrap(this.key(name, key), load, this.policy(name, options));
  }

  /** Drops entries of cache `name` everywhere. */
  async evict(name: string, keys: string | readonly string[]): Promise<void> {
    await this.registry.start();
    const list = typeof keys === 'string' ? [keys] : keys;
    await this.registry.engineFor(name).evict(list.map((key) => this.key(name, key)));
  }

  /** Drops every entry carrying one of `tags`, everywhere. */
  async evictTags(tags: readonly string[]): Promise<void> {
    await this.registry.start();
    await Promise.all(this.registry.engines().map((engine) => engine.evictTags(tags)));
  }

  status(): CacheStatus {
    const engine = this.registry.engine;
    const { entries, bytes } = this.registry.localSize();
    return {
      store: this.registry.store.kind,
      available: engine.available,
      localTier: engine.localTierLive,
      entries,
      bytes,
      ...(engine.lastError === undefined || engine.available
        ? {}
        : { lastError: engine.lastError }),
    };
  }

  onApplicationShutdown(): Promise<void> {
    return this.registry.close();
  }

  private key(name: string, key: string): string {
    return entryKey(name, escapeKeyValue(key));
  }

  private policy(name: string, options: CacheEntryOptions = {}): EntryPolicy {
    const defaults = DEFAULTS.policy.cached;
    return {
      ttlMs: options.ttlMs ?? defaults.ttlMs,
      staleWhileRevalidateMs: options.staleWhileRevalidateMs ?? defaults.staleWhileRevalidateMs,
      cacheNull: options.cacheNull ?? defaults.cacheNull,
      tags: options.tags ?? [],
      counts: this.registry.counts(name),
    };
  }
}

const RESULTS = ['hitLocal', 'hitShared', 'stale', 'miss', 'bypassed'] as const;
const RESULT_LABEL: Record<(typeof RESULTS)[number], string> = {
  hitLocal: 'hit_local',
  hitShared: 'hit_shared',
  stale: 'stale',
  miss: 'miss',
  bypassed: 'bypassed',
};
const NOT_STORED = ['oversize', 'unencodable', 'refreshFailed'] as const;
const NOT_STORED_LABEL: Record<(typeof NOT_STORED)[number], string> = {
  oversize: 'oversize',
  unencodable: 'unencodable',
  refreshFailed: 'refresh_failed',
};

/** Counters read from each cache's plain counts at scrape time: the hot path only adds. */
function registerCacheMetrics(metrics: KeelMetrics, registry: CacheRegistry): void {
  const reported = new Map<string, number>();
  const delta = (name: string, field: string, value: number): number => {
    const id = `${name}\u0000${field}`;
    const change = value - (reported.get(id) ?? 0);
    reported.set(id, value);
    return change;
  };
  metrics.counter({
    ...COORDINATION_METRICS.cacheRequests,
    collect() {
      for (const [name, counts] of registry.entries()) {
        for (const field of RESULTS) {
          const change = delta(name, field, counts[field]);
          if (change > 0) this.inc({ name, result: RESULT_LABEL[field] }, change);
        }
      }
    },
  });
  metrics.counter({
    ...COORDINATION_METRICS.cacheNotStored,
    collect() {
      for (const [name, counts] of registry.entries()) {
        for (const field of NOT_STORED) {
          const change = delta(name, field, counts[field]);
          if (change > 0) this.inc({ name, reason: NOT_STORED_LABEL[field] }, change);
        }
      }
    },
  });
  metrics.gauge({
    ...COORDINATION_METRICS.cacheLocalEntries,
    collect() {
      this.set(registry.localSize().entries);
    },
  });
  metrics.gauge({
    ...COORDINATION_METRICS.cacheLocalBytes,
    collect() {
      this.set(registry.localSize().bytes);
    },
  });
  metrics.gauge({
    ...COORDINATION_METRICS.cacheStoreAvailable,
    collect() {
      this.set(registry.engine.available ? 1 : 0);
    },
  });
}
