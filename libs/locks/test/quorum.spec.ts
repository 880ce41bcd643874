import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { isLockQuorumError, LocksHealthIndicator, type LockService } from '@keel/locks';
import type { RedisServerHandle } from '../../../test/support/fault-servers.js';
import { uniquePrefix } from '../../../test/support/services.js';
import { quorumStore, renewals, service, startQuorumServers } from './support.js';

describe('quorum mode (3 private redis-servers)', () => {
  let servers: RedisServerHandle[] = [];
  let close: (() => Promise<void>) | undefined;
  let locks: LockService | undefined;

  beforeAll(async () => {
    servers = await startQuorumServers();
  });
  afterEach(async () => {
    await locks?.beforeApplicationShutdown();
    await close?.();
    locks = close = undefined;
    await Promise.all(servers.map((s) => s.start()));
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  let store: ReturnType<typeof quorumStore>['store'] | undefined;
  async function open(): Promise<LockService> {
    const q = quorumStore(
      servers.map((s) => s.url),
      `${uniquePrefix('quorum')}:`,
    );
    close = q.close;
    store = q.store;
    await q.connected();
    return (locks = service(q.store));
  }

  it('acquires with one of three nodes down, and fencing tokens still increase', async () => {
    const svc = await open();
    const before = await svc.acquire('q');
    await before.release();
    await servers[2].stop();
    const lock = await svc.acquire('q');
    expect(lock.fencingToken).toBeGreaterThan(before.fencingToken);
    expect(await svc.tryAcquire('q')).toBeUndefined();
    expect(await lock.release()).toBe(true);
  });

  it('fails fast with a clear error when two of three nodes are down', async () => {
    const svc = await open();
    await servers[0].stop();
    await servers[1].stop();
    const started = performance.now();
    const error = await svc.acquire('q', { waitMs: 10_000 }).catch((e: unknown) => e);
    expect(isLockQuorumError(error)).toBe(true);
    expect((error as Error).message).toMatch(/a majority of 2 Redis nodes is needed but 2 failed/);
    expect((error as Error).message).toMatch(/node0: .*; node1: /);
    // Fails on the first attempt rather than waiting out waitMs.
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('health: up with all nodes, degraded with a minority down, down without a majority', async () => {
    const svc = await open();
    const health = new LocksHealthIndicator(store!, svc);
    expect((await health.check()).status).toBe('up');
    await servers[0].stop();
    expect(await health.check()).toMatchObject({
      status: 'degraded',
      details: { store: 'quorum', nodesUp: 2, nodes: 3, quorum: 2 },
    });
    await servers[1].stop();
    expect((await health.check()).status).toBe('down');
  });

  it('a lock taken on a majority survives the loss of one node during the hold', async () => {
    const svc = await open();
    // The node timeout (250 ms) must stay under ttl/3 for renewal to keep up.
    const ttlMs = 900;
    const acquiredAt = performance.now();
    const lock = await svc.acquire('h', { ttlMs, autoRenew: true });
    await servers[1].kill();
    // Renewal runs every ttl/3: four renewals on the remaining majority carry the hold past the
    // validity of its grant.
    await renewals(lock, 4);
    expect(performance.now() - acquiredAt).toBeGreaterThan(ttlMs);
    expect(lock.signal.aborted).toBe(false);
    expect(await svc.tryAcquire('h')).toBeUndefined();
    expect(await lock.release()).toBe(true);
  });
});
