import { expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import {
  MemoryCacheStore,
  RedisCacheStore,
  type CacheInvalidation,
  type CacheStore,
  type StoredEntry,
} from '@keel/coordination/internal';
import { redisUrl, uniquePrefix } from '../../../test/support/services.js';
import { describeStoreContract } from '../../../test/support/store-contract.js';
import { waitFor } from '../../../test/support/wait-for.js';

const clients = new Map<CacheStore, Redis[]>();

function entry(payload: string, liveMs = 60_000): StoredEntry {
  const now = Date.now();
  return { payload, expiresAt: now + liveMs, staleUntil: now + liveMs * 2 };
}

describeStoreContract<CacheStore>(
  'CacheStore',
  [
    { name: 'memory', create: () => new MemoryCacheStore() },
    {
      name: 'redis',
      create: () => {
        const client = new Redis(redisUrl());
        const opened: Redis[] = [client];
        const store = new RedisCacheStore({
          client,
          subscriber: () => {
            const subscriber = new Redis(redisUrl());
            opened.push(subscriber);
            return subscriber;
          },
          keyPrefix: `${uniquePrefix('cache')}:`,
          serviceName: 'contract',
        });
        clients.set(store, opened);
        return store;
      },
      destroy: async (store) => {
        await store.close();
        for (const client of clients.get(store) ?? []) client.disconnect();
        clients.delete(store);
      },
    },
  ],
  (store) => {
    it('returns what was set, byte for byte, with its expiry times', async () => {
      const value = entry('T{"a":"|pipes|and ünïcode 😀"}');
      await store().set('order:1', value, []);
      await expect(store().get('order:1')).resolves.toEqual(value);
      await expect(store().get('order:2')).resolves.toBeUndefined();
    });

    it('forgets an entry once it is past staleUntil', async () => {
      const now = Date.now();
      await store().set('short', { payload: 'J1', expiresAt: now + 10, staleUntil: now + 40 }, []);
      await expect(store().get('short')).resolves.toBeDefined();
      await waitFor(async () => (await store().get('short')) === undefined, {
        timeoutMs: 5_000,
        message: 'the entry expires',
      });
      await expect(store().get('short')).resolves.toBeUndefined();
    });

    it('deletes keys', async () => {
      await store().set('a', entry('J1'), []);
      await store().set('b', entry('J2'), []);
      await store().delete(['a', 'b', 'never-set']);
      await expect(store().get('a')).resolves.toBeUndefined();
      await expect(store().get('b')).resolves.toBeUndefined();
    });

    it('hands out the keys of tags once, and forgets the tags', async () => {
      await store().set('o:1', entry('J1'), ['customer:7', 'orders']);
      await store().set('o:2', entry('J2'), ['orders']);
      await store().set('o:3', entry('J3'), ['customer:8']);
      const keys = await store().takeTagged(['customer:7', 'orders']);
      expect(keys.sort()).toEqual(['o:1', 'o:2']);
      await expect(store().takeTagged(['orders'])).resolves.toEqual([]);
      await expect(store().takeTagged(['customer:8'])).resolves.toEqual(['o:3']);
    });

    it('grants a fill lease to one holder at a time; only the holder frees it; set frees it', async () => {
      await expect(store().tryLease('k', 'a', 10_000)).resolves.toBe(true);
      await expect(store().tryLease('k', 'b', 10_000)).resolves.toBe(false);
      await store().releaseLease('k', 'b');
      await expect(store().tryLease('k', 'b', 10_000)).resolves.toBe(false);
      await store().releaseLease('k', 'a');
      await expect(store().tryLease('k', 'b', 10_000)).resolves.toBe(true);
      await store().set('k', entry('J1'), []);
      await expect(store().tryLease('k', 'c', 10_000)).resolves.toBe(true);
    });

    it('lets a lease run out, so a crashed filler never blocks a key', async () => {
      await expect(store().tryLease('k', 'a', 30)).resolves.toBe(true);
      await waitFor(() => store().tryLease('k', 'b', 10_000), {
        timeoutMs: 5_000,
        message: 'the lease runs out',
      });
      await expect(store().tryLease('k', 'c', 10_000)).resolves.toBe(false);
    });

    it('delivers published invalidations to listeners and reports the feed live', async () => {
      const received: CacheInvalidation[] = [];
      let live = false;
      await store().listen({
        message: (invalidation) => received.push(invalidation),
        feed: (isLive) => {
          live = isLive;
        },
      });
      expect(live).toBe(true);
      await store().publish({ origin: 'x', keys: ['a', 'b'] });
      await store().publish({ origin: 'y', flush: true });
      await waitFor(() => received.length === 2, {
        timeoutMs: 5_000,
        message: 'both invalidations arrive',
      });
      expect(received).toEqual([
        { origin: 'x', keys: ['a', 'b'] },
        { origin: 'y', flush: true },
      ]);
    });
  },
);

it('the memory store keeps at most maxEntries, dropping the oldest write first', async () => {
  const store = new MemoryCacheStore(3);
  for (const key of ['a', 'b', 'c', 'd']) await store.set(key, entry('J1'), ['t']);
  await expect(store.get('a')).resolves.toBeUndefined();
  await expect(store.get('d')).resolves.toBeDefined();
  expect((await store.takeTagged(['t'])).sort()).toEqual(expect.arrayContaining(['b', 'c', 'd']));
});

it('the redis store keeps a tag at least as long as its longest-lived key', async () => {
  const client = new Redis(redisUrl());
  const prefix = `${uniquePrefix('cache-tag')}:`;
  const store = new RedisCacheStore({
    client,
    subscriber: () => new Redis(redisUrl()),
    keyPrefix: prefix,
    serviceName: 'contract',
  });
  try {
    await store.set('long', entry('J1', 60_000), ['t']);
    await store.set('short', entry('J1', 100), ['t']);
    const ttl = await client.pttl(`${prefix}cache-tag:{contract:t}`);
    expect(ttl).toBeGreaterThan(100_000);
  } finally {
    await store.close();
    await client.quit();
  }
});
