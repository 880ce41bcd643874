import type {
  CacheInvalidation,
  CacheStore,
  InvalidationListener,
  StoredEntry,
} from './cache.store.js';

/**
 * The embedded shared tier: one process is the whole fleet, so invalidations are delivered to
 * this process's listeners at once and the feed is always live. Bounded like Redis with an
 * eviction policy: past `maxEntries` the oldest write goes first.
 * @internal
 */
export class MemoryCacheStore implements CacheStore {
  readonly kind = 'memory';
  private readonly entries = new Map<string, StoredEntry>();
  private readonly tags = new Map<string, Set<string>>();
  private readonly leases = new Map<string, { holder: string; until: number }>();
  private readonly listeners = new Set<InvalidationListener>();
  private writesSinceSweep = 0;

  constructor(
    private readonly maxEntries = 100_000,
    private readonly clock: () => number = Date.now,
  ) {}

  get(key: string): Promise<StoredEntry | undefined> {
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.staleUntil <= this.clock()) {
      this.entries.delete(key);
      return Promise.resolve(undefined);
    }
    return Promise.resolve(entry);
  }

  set(key: string, entry: StoredEntry, tags: readonly string[]): Promise<void> {
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (++this.writesSinceSweep >= this.maxEntries) this.sweep();
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    for (const tag of tags) {
      let keys = this.tags.get(tag);
      if (keys === undefined) this.tags.set(tag, (keys = new Set()));
      keys.add(key);
    }
    this.leases.delete(key);
    return Promise.resolve();
  }

  delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.entries.delete(key);
    return Promise.resolve();
  }

  // Once per maxEntries writes (amortised O(1)): drops what expired unread, and tags of keys
  // that are gone, so a store that is written more than read does not grow without bound.
  private sweep(): void {
    this.writesSinceSweep = 0;
    const now = this.clock();
    for (const [key, entry] of this.entries) if (entry.staleUntil <= now) this.entries.delete(key);
    for (const [tag, keys] of this.tags) {
      for (const key of keys) if (!this.entries.has(key)) keys.delete(key);
      if (keys.size === 0) this.tags.delete(tag);
    }
  }

  takeTagged(tags: readonly string[]): Promise<string[]> {
    const keys = new Set<string>();
    for (const tag of tags) {
      for (const key of this.tags.get(tag) ?? []) keys.add(key);
      this.tags.delete(tag);
    }
    return Promise.resolve([...keys]);
  }

  tryLease(key: string, holder: string, ms: number): Promise<boolean> {
    const now = this.clock();
    const lease = this.leases.get(key);
    if (lease !== undefined && lease.until > now) return Promise.resolve(false);
    this.leases.set(key, { holder, until: now + ms });
    return Promise.resolve(true);
  }

  releaseLease(key: string, holder: string): Promise<void> {
    if (this.leases.get(key)?.holder === holder) this.leases.delete(key);
    return Promise.resolve();
  }

  publish(invalidation: CacheInvalidation): Promise<void> {
    for (const listener of this.listeners) listener.message(invalidation);
    return Promise.resolve();
  }

  listen(listener: InvalidationListener): Promise<void> {
    this.listeners.add(listener);
    listener.feed(true);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.listeners.clear();
    return Promise.resolve();
  }
}
