import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KeelMetrics, escapeKeyValue } from '@keel/core';
import { isDeadlockError, isInvalidLockKeyError, LockService, RedisLockStore } from '@keel/locks';
import { Cluster } from 'ioredis';
import { sharedRedisCluster } from '../../../test/support/redis-cluster.js';
import { uniquePrefix } from '../../../test/support/services.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { SETTINGS } from './support.js';

/** Every key one lock's scripts touch shares a hash tag: on a real cluster, no CROSSSLOT. */
describe('Redis Cluster (3 masters shared by the run)', () => {
  const clients: Cluster[] = [];
  let a: LockService;
  let b: LockService;
  let aStore: RedisLockStore;
  const bMetrics = new KeelMetrics();
  /** Acquisitions of `b` that found the lock held: a waiter counts once it stands in the queue. */
  const bContended = async () =>
    (await bMetrics.registry.getSingleMetric('keel_lock_contended_total')!.get()).values[0]
      ?.value ?? 0;

  beforeAll(async () => {
    const nodes = [...(await sharedRedisCluster())];
    const cluster = () => {
      const client = new Cluster(nodes, { redisOptions: { disconnectTimeout: 50 } });
      client.on('error', () => undefined);
      clients.push(client);
      return client;
    };
    const service = (store: RedisLockStore, metrics: KeelMetrics) =>
      new LockService(store, SETTINGS, metrics);
    const prefix = `${uniquePrefix('locks-c')}:`;
    aStore = new RedisLockStore({ client: cluster(), subscriber: cluster, prefix });
    a = service(aStore, new KeelMetrics());
    b = service(new RedisLockStore({ client: cluster(), subscriber: cluster, prefix }), bMetrics);
  }, 30_000);

  afterAll(async () => {
    await a?.beforeApplicationShutdown();
    await b?.beforeApplicationShutdown();
    await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
  });

  it('locks on keys spread over all slots: wake-up and push hand-off, increasing fences', async () => {
    for (let i = 0; i < 12; i++) {
      const key = `order:${i}`;
      const first = await a.acquire(key);
      const contended = await bContended();
      const waiting = b.acquire(key, { fair: i % 2 === 0 });
      await waitFor(async () => (await bContended()) > contended, { message: 'b to queue' });
      await first.release();
      const second = await waiting;
      expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
      await second.release();
    }
  });

  it('semaphores, read-write locks and deadlock detection', async () => {
    const permits = [
      await a.semaphore('exports', 2).acquire(),
      await a.semaphore('exports', 2).acquire(),
    ];
    const third = b.semaphore('exports', 2).acquire();
    await permits[0].release();
    await (await third).release();
    await permits[1].release();

    const reader = await a.readWriteLock('doc').read.acquire();
    const writer = b.readWriteLock('doc').write.acquire();
    await reader.release();
    await (await writer).release();

    let holding = 0;
    const bothHolding = () => {
      holding++;
      return waitFor(() => holding === 2, { message: 'both chains holding' });
    };
    const outcomes = await Promise.allSettled([
      a.using('p', async () => {
        await bothHolding();
        await a.using('q', async () => undefined);
      }),
      b.using('q', async () => {
        await bothHolding();
        await b.using('p', async () => undefined);
      }),
    ]);
    const rejected = outcomes.filter((o) => o.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect(isDeadlockError((rejected[0] as PromiseRejectedResult).reason)).toBe(true);
  });

  it('keeps a lock on one hash tag: a raw brace is refused, its escaped form stays in one slot', async () => {
    const slot = (key: string) => clients[0].cluster('KEYSLOT', key) as Promise<number>;
    // The hazard: with '}' first the tag is empty, so Redis hashes each whole key, and the
    // lock's keys (hold, fence, queue) land on different slots, i.e. CROSSSLOT in one script.
    const raw = aStore.lockKey('}x');
    expect(await slot(raw)).not.toBe(await slot(`${raw}:q`));
    for (const key of ['}x', 'order:}1', '{order}:1']) {
      const error = await a.acquire(key).catch((e: unknown) => e);
      expect(isInvalidLockKeyError(error)).toBe(true);
    }

    const key = `order:${escapeKeyValue('}x{')}`;
    const base = aStore.lockKey(key);
    const tagSlot = await slot(key);
    for (const suffix of ['', ':fence', ':q', ':qe']) {
      expect(await slot(`${base}${suffix}`)).toBe(tagSlot);
    }
    const first = await a.acquire(key);
    const contended = await bContended();
    const waiting = b.acquire(key, { fair: true });
    await waitFor(async () => (await bContended()) > contended, { message: 'b to queue' });
    await first.release();
    const second = await waiting;
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    await second.release();
  });
});
