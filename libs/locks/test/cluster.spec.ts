import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KeelMetrics, escapeKeyValue } from '@keel/core';
import { isDeadlockError, isInvalidLockKeyError, LockService, RedisLockStore } from '@keel/locks';
import { Cluster } from 'ioredis';
import { sharedRedisCluster } from '../../../test/support/redis-cluster.js';
import { uniquePrefix } from '../../../test/support/services.js';
import { settlesWithin, waitFor } from '../../../test/support/wait-for.js';
import { freezeTimeouts, SETTINGS, waiterEvents } from './support.js';

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
    const events = waiterEvents(b);
    for (let i = 0; i < 12; i++) {
      const key = `order:${i}`;
      const fair = i % 2 === 0;
      const first = await a.acquire(key);
      const contended = await bContended();
      const seen = events.length;
      // Frozen timeouts: b's re-check never fires, only the wake-up (or, when fair, the grant)
      // published across the cluster gets it the lock.
      const frozen = freezeTimeouts();
      try {
        const waiting = b.acquire(key, { fair });
        await waitFor(async () => (await bContended()) > contended, { message: 'b to queue' });
        await first.release();
        const second = await settlesWithin(waiting, 5_000, `the hand-off of ${key}`);
        expect(events.slice(seen).map((e) => e.type)).toContain(fair ? 'grant' : 'wake');
        expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
        await second.release();
      } finally {
        frozen.thaw();
      }
    }
  });

  it('semaphores, read-write locks and deadlock detection', async () => {
    // A semaphore of 2 across both services: a third holder waits for a permit to come back.
    const permits = [
      await a.semaphore('exports', 2).acquire(),
      await a.semaphore('exports', 2).acquire(),
    ];
    expect(await b.semaphore('exports', 2).tryAcquire()).toBeUndefined();
    let contended = await bContended();
    let thirdHeld = false;
    const third = b
      .semaphore('exports', 2)
      .acquire()
      .then((lock) => {
        thirdHeld = true;
        return lock;
      });
    await waitFor(async () => (await bContended()) > contended, { message: 'the third to queue' });
    expect(thirdHeld).toBe(false);
    await permits[0].release();
    const thirdLock = await third;
    expect(thirdLock.fencingToken).toBeGreaterThan(Math.max(...permits.map((p) => p.fencingToken)));
    expect(await a.semaphore('exports', 2).tryAcquire()).toBeUndefined(); // 2 held again
    expect(await thirdLock.release()).toBe(true);
    expect(await permits[1].release()).toBe(true);

    // A read-write lock: readers share and exclude a writer until they release; a writer
    // excludes readers and writers.
    const reader = await a.readWriteLock('doc').read.acquire();
    const sharing = await b.readWriteLock('doc').read.tryAcquire(); // readers share
    expect(sharing).toBeDefined();
    await sharing!.release();
    contended = await bContended();
    let writerHeld = false;
    const writer = b
      .readWriteLock('doc')
      .write.acquire()
      .then((lock) => {
        writerHeld = true;
        return lock;
      });
    await waitFor(async () => (await bContended()) > contended, { message: 'the writer to queue' });
    expect(writerHeld).toBe(false);
    await reader.release();
    const writerLock = await writer;
    expect(await a.readWriteLock('doc').read.tryAcquire()).toBeUndefined();
    expect(await a.readWriteLock('doc').write.tryAcquire()).toBeUndefined();
    expect(await writerLock.release()).toBe(true);
    const readAgain = await a.readWriteLock('doc').read.tryAcquire();
    expect(readAgain).toBeDefined();
    await readAgain!.release();

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
