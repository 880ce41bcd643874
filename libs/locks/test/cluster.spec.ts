import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KeelMetrics } from '@keel/core';
import { isDeadlockError, LockService, RedisLockStore } from '@keel/locks';
import { Cluster } from 'ioredis';
import { startRedisCluster, type RedisClusterHandle } from '../../../test/support/redis-cluster.js';
import { uniquePrefix } from '../../../test/support/services.js';
import { SETTINGS } from './support.js';

/** Every key one lock's scripts touch shares a hash tag: on a real cluster, no CROSSSLOT. */
describe('Redis Cluster (3 private masters)', () => {
  let redisCluster: RedisClusterHandle | undefined;
  const clients: Cluster[] = [];
  let a: LockService;
  let b: LockService;

  beforeAll(async () => {
    redisCluster = await startRedisCluster();
    const nodes = [...redisCluster.nodes];
    const cluster = () => {
      const client = new Cluster(nodes, { redisOptions: { disconnectTimeout: 50 } });
      client.on('error', () => undefined);
      clients.push(client);
      return client;
    };
    const service = (prefix: string) =>
      new LockService(
        new RedisLockStore({ client: cluster(), subscriber: cluster, prefix }),
        SETTINGS,
        new KeelMetrics(),
      );
    const prefix = `${uniquePrefix('locks-c')}:`;
    a = service(prefix);
    b = service(prefix);
  }, 30_000);

  afterAll(async () => {
    await a?.beforeApplicationShutdown();
    await b?.beforeApplicationShutdown();
    await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
    await redisCluster?.stop();
  });

  it('locks on keys spread over all slots: wake-up and push hand-off, increasing fences', async () => {
    for (let i = 0; i < 12; i++) {
      const key = `order:${i}`;
      const first = await a.acquire(key);
      const waiting = b.acquire(key, { fair: i % 2 === 0 });
      await new Promise((resolve) => setTimeout(resolve, 10));
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

    const outcomes = await Promise.allSettled([
      a.using('p', async () => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        await a.using('q', async () => undefined);
      }),
      b.using('q', async () => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        await b.using('p', async () => undefined);
      }),
    ]);
    const rejected = outcomes.filter((o) => o.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect(isDeadlockError((rejected[0] as PromiseRejectedResult).reason)).toBe(true);
  });
});
