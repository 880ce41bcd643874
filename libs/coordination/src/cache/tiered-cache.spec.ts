import { describe, expect, it } from '@jest/globals';
import { createTaggedJsonCodec } from './cache-codec.js';
import { LocalLru } from './local-lru.js';
import type { CacheStore } from './stores/cache.store.js';
import { MemoryCacheStore } from './stores/memory-cache.store.js';
import { CacheCounts, TieredCache, type EntryPolicy } from './tiered-cache.js';

function engine(store: CacheStore = new MemoryCacheStore(), maxValueBytes = 10_000): TieredCache {
  return new TieredCache({
    store,
    local: new LocalLru<unknown>({ maxEntries: 100, maxBytes: 1_000_000 }),
    codec: createTaggedJsonCodec(),
    maxValueBytes,
    leaseMs: 1_000,
    commandTimeoutMs: 200,
  });
}

function policy(overrides: Partial<EntryPolicy> = {}): EntryPolicy {
  return {
    ttlMs: 60_000,
    staleWhileRevalidateMs: 0,
    tags: [],
    cacheNull: false,
    counts: new CacheCounts(),
    ...overrides,
  };
}

/** A store whose every call fails, as Redis does while it is down. */
function deadStore(): CacheStore {
  const fail = () => Promise.reject(new Error('connection refused'));
  return {
    kind: 'redis',
    get: fail,
    set: fail,
    delete: fail,
    takeTagged: fail,
    tryLease: fail,
    releaseLease: fail,
    publish: fail,
    listen: (listener) => {
      listener.feed(false);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}

describe('TieredCache', () => {
  it('loads once, then answers from process memory, counting each', async () => {
    const cache = engine();
    await cache.start();
    const p = policy();
    let loads = 0;
    const load = () => Promise.resolve(++loads);
    await expect(cache.wrap('k', load, p)).resolves.toBe(1);
    await expect(cache.wrap('k', load, p)).resolves.toBe(1);
    expect(loads).toBe(1);
    expect(p.counts).toMatchObject({ miss: 1, hitLocal: 1 });
    expect(cache.localSize().entries).toBe(1);
    await expect(cache.get('k')).resolves.toBe(1);
  });

  it('set, evict and evictTags change what get answers', async () => {
    const cache = engine();
    await cache.start();
    await cache.set('a', { n: 1 }, policy({ tags: ['t'] }));
    await cache.set('b', { n: 2 }, policy());
    await expect(cache.get('a')).resolves.toEqual({ n: 1 });
    await cache.evictTags(['t']);
    await expect(cache.get('a')).resolves.toBeUndefined();
    await cache.evict(['b']);
    await expect(cache.get('b')).resolves.toBeUndefined();
  });

  it('does not cache undefined, null unless asked, oversize or unencodable values', async () => {
    const cache = engine(new MemoryCacheStore(), 100);
    await cache.start();
    const p = policy();
    await cache.set('u', undefined, p);
    await cache.set('n', null, p);
    await cache.set('big', 'x'.repeat(200), p);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await cache.set('c', cyclic, p);
    for (const key of ['u', 'n', 'big', 'c']) await expect(cache.get(key)).resolves.toBeUndefined();
    expect(p.counts).toMatchObject({ oversize: 1, unencodable: 1 });
    await cache.set('n', null, policy({ cacheNull: true }));
    await expect(cache.get('n')).resolves.toBeNull();
  });

  it('drops keys another replica invalidated, ignores its own, and flushes on a feed change', async () => {
    const cache = engine();
    await cache.start();
    await cache.set('a', 1, policy());
    await cache.set('b', 2, policy());
    cache.message({ origin: cache.instanceId, keys: ['a'] });
    expect(cache.localSize().entries).toBe(2);
    cache.message({ origin: 'other', keys: ['a'] });
    expect(cache.localSize().entries).toBe(1);
    cache.message({ origin: 'other', flush: true });
    expect(cache.localSize().entries).toBe(0);
    await cache.set('c', 3, policy());
    cache.feed(false);
    expect(cache.localTierLive).toBe(false);
    expect(cache.localSize().entries).toBe(0);
  });

  it('runs the loader uncached while the store fails, and says so', async () => {
    const cache = engine(deadStore());
    await cache.start();
    const p = policy();
    let loads = 0;
    const load = () => Promise.resolve(++loads);
    await expect(cache.wrap('k', load, p)).resolves.toBe(1);
    await expect(cache.wrap('k', load, p)).resolves.toBe(2);
    expect(cache.available).toBe(false);
    expect(cache.lastError).toBe('connection refused');
    expect(p.counts.bypassed).toBe(2);
    await expect(cache.get('k')).resolves.toBeUndefined();
    await expect(cache.evict(['k'])).resolves.toBeUndefined();
    await expect(cache.evictTags(['t'])).resolves.toBeUndefined();
  });
});
