import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KeelMetrics } from '@keel/core';
import { isDeadlockError, LockService, RedisLockStore } from '@keel/locks';
import { Cluster } from 'ioredis';
import { startRedisServer, type RedisServerHandle } from '../../../test/support/fault-servers.js';
import { uniquePrefix } from '../../../test/support/services.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { SETTINGS } from './support.js';

const run = promisify(execFile);

/** Every key one lock's scripts touch shares a hash tag: on a real cluster, no CROSSSLOT. */
describe('Redis Cluster (3 private masters)', () => {
  const name = uniquePrefix('locks-cluster');
  const files = [0, 1, 2].map((i) => `${name}-${i}.conf`);
  let servers: RedisServerHandle[] = [];
  const clients: Cluster[] = [];
  let a: LockService;
  let b: LockService;

  beforeAll(async () => {
    servers = await Promise.all(
      files.map((file) =>
        startRedisServer({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', file] }),
      ),
    );
    await run('redis-cli', [
      '--cluster',
      'create',
      ...servers.map((s) => `127.0.0.1:${s.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    await waitFor(
      async () =>
        (
          await run('redis-cli', ['-p', String(servers[0].port), 'cluster', 'info'])
        ).stdout.includes('cluster_state:ok'),
      { message: 'cluster_state:ok' },
    );
    const nodes = servers.map((s) => ({ host: '127.0.0.1', port: s.port }));
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
    await Promise.all(servers.map((s) => s.stop()));
    for (const file of files) rmSync(join(tmpdir(), file), { force: true });
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
