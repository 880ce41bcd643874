import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { closeRedisClient } from '@keel/core/internal';
import { Redis } from 'ioredis';
import type { Lock, LockService } from '@keel/locks';
import { startRedisServer, type RedisServerHandle } from '../../../test/support/fault-servers.js';
import { settlesWithin, waitFor } from '../../../test/support/wait-for.js';
import { freezeTimeouts, redisStore, service, waiterEvents } from './support.js';

/**
 * The Redis store's coalescing (operations issued in one tick share one script call) and the
 * queued mark on the lock value. A private server, so its command statistics count only what
 * these tests send.
 */
let server: RedisServerHandle;
let admin: Redis;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  admin = new Redis(server.url);
});
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
  await admin.flushall();
});
afterAll(async () => {
  await closeRedisClient(admin);
  await server.stop();
});

function open(settings: Parameters<typeof service>[1] = {}): LockService {
  const { store, close } = redisStore(server.url, 'coalesce:');
  const locks = service(store, settings);
  closers.push(async () => {
    await locks.beforeApplicationShutdown();
    await close();
  });
  return locks;
}

/** Script calls (EVAL and EVALSHA) the server has run since the last reset. */
async function scriptCalls(): Promise<number> {
  const stats = await admin.info('commandstats');
  let calls = 0;
  for (const match of stats.matchAll(/^cmdstat_(?:eval|evalsha):calls=(\d+)/gm))
    calls += Number(match[1]);
  return calls;
}

describe('RedisLockStore coalescing', () => {
  it('sends attempts and releases issued in one tick as one script call each', async () => {
    const locks = open();
    // Two at once load the batch scripts into the server's script cache.
    const warm = await Promise.all([locks.acquire('warm-1'), locks.acquire('warm-2')]);
    await Promise.all(warm.map((lock) => lock.release()));
    await admin.config('RESETSTAT');
    const held = await Promise.all(Array.from({ length: 60 }, (_, i) => locks.acquire(`k${i}`)));
    expect(held.every((lock) => lock.isHeld)).toBe(true);
    expect(await scriptCalls()).toBe(1);
    expect(await Promise.all(held.map((lock) => lock.release()))).toEqual(held.map(() => true));
    expect(await scriptCalls()).toBe(2);
    expect(await admin.keys('coalesce:{k*}')).toEqual([]);
    const again = await Promise.all(held.map((lock) => locks.acquire(lock.key)));
    again.forEach((lock, i) => expect(lock.fencingToken).toBeGreaterThan(held[i].fencingToken));
    await Promise.all(again.map((lock) => lock.release()));
  });

  it('grants one key to exactly one of several attempts in the same call', async () => {
    const locks = open();
    const peer = open();
    const attempts = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? locks : peer).tryAcquire('same')),
    );
    const granted = attempts.filter((lock): lock is Lock => lock !== undefined);
    expect(granted).toHaveLength(1);
    await granted[0].release();
  });

  it('a call that fails leaves no lock behind and fails every attempt in it', async () => {
    const locks = open();
    // Someone else's hash where the store's fence counter lives.
    await admin.hset('coalesce:fence', 'field', 'value');
    const attempts = await Promise.allSettled(['a', 'b', 'c'].map((key) => locks.acquire(key)));
    for (const attempt of attempts) {
      expect(attempt.status).toBe('rejected');
      expect(String((attempt as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
    }
    expect(await admin.keys('coalesce:{*')).toEqual([]);
  });

  it('fencing tokens increase across keys, one counter for the whole store', async () => {
    const locks = open();
    const first = await Promise.all(['p', 'q', 'r'].map((key) => locks.acquire(key)));
    const tokens = first.map((lock) => lock.fencingToken);
    expect(new Set(tokens).size).toBe(3);
    const later = await locks.acquire('s');
    expect(later.fencingToken).toBeGreaterThan(Math.max(...tokens));
    await Promise.all([...first, later].map((lock) => lock.release()));
    expect(await admin.keys('coalesce:*fence*')).toEqual(['coalesce:fence']);
  });

  it('a coalesced release of a lost hold reports it and leaves the new holder alone', async () => {
    const locks = open();
    const peer = open();
    const lost = await locks.acquire('lost', { ttlMs: 100, autoRenew: false });
    const other = await locks.acquire('other');
    await waitFor(() => lost.signal.aborted, { message: 'the hold to expire' });
    const next = await peer.acquire('lost', { waitMs: 5_000 });
    const [lostReleased, otherReleased] = await Promise.all([lost.release(), other.release()]);
    expect(lostReleased).toBe(false);
    expect(otherReleased).toBe(true);
    expect(next.isHeld).toBe(true);
    expect(await peer.tryAcquire('lost')).toBeUndefined();
    expect(await next.release()).toBe(true);
  });
});

describe('RedisLockStore queued mark', () => {
  it('a waiter marks the hold it queues behind; releasing it in a batch hands the lock on', async () => {
    const locks = open();
    const peer = open({ fair: true });
    const held = await Promise.all(['m1', 'm2', 'm3'].map((key) => locks.acquire(key)));
    const events = waiterEvents(peer);
    // Frozen timeouts: the waiter's re-check never fires, so only the hand-off can get it the lock.
    const frozen = freezeTimeouts();
    try {
      const waiting = peer.acquire('m2', { waitMs: 10_000 });
      await waitFor(async () => (await admin.get('coalesce:{m2}'))?.endsWith('|q') === true, {
        message: 'the waiter to mark the hold',
      });
      // Unmarked holds carry no mark.
      expect(await admin.get('coalesce:{m1}')).toMatch(/^[^|]+\|\d+$/);
      await Promise.all(held.map((lock) => lock.release()));
      const granted = await settlesWithin(waiting, 5_000, 'the hand-off in the batched release');
      expect(events.map((e) => e.type)).toEqual(['grant']);
      expect(granted.fencingToken).toBeGreaterThan(held[1].fencingToken);
      await granted.release();
    } finally {
      frozen.thaw();
    }
  });

  it('a stale mark (its waiter gave up) still releases and frees the lock', async () => {
    const locks = open();
    const peer = open();
    const holder = await locks.acquire('stale');
    await expect(peer.acquire('stale', { waitMs: 100 })).rejects.toThrow(/not acquired/);
    expect(await admin.get('coalesce:{stale}')).toMatch(/\|q$/);
    expect(await holder.release()).toBe(true);
    expect(await admin.exists('coalesce:{stale}')).toBe(0);
    const next = await peer.tryAcquire('stale');
    expect(next).toBeDefined();
    await next!.release();
  });

  it('a marked hold still renews', async () => {
    const locks = open();
    const peer = open();
    const holder = await locks.acquire('renew', { ttlMs: 300, autoRenew: true });
    await expect(peer.acquire('renew', { waitMs: 50 })).rejects.toThrow(/not acquired/);
    expect(await admin.get('coalesce:{renew}')).toMatch(/\|q$/);
    expect(await holder.extend(5_000)).toBe(true);
    expect(await admin.pttl('coalesce:{renew}')).toBeGreaterThan(1_000);
    expect(await holder.release()).toBe(true);
  });
});
