import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { KeelMetrics } from '@keel/core';
import { closeRedisClient } from '@keel/core/internal';
import {
  isLockLostError,
  LockService,
  MemoryLockStore,
  type Lock,
  type LockLostError,
  type LockLostReason,
  type LockStore,
} from '@keel/locks';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServerHandle } from '../../../test/support/fault-servers.js';
import { redisUrl, uniquePrefix } from '../../../test/support/services.js';
import { waitFor } from '../../../test/support/wait-for.js';
import {
  freezeTimeouts,
  quorumStore,
  redisStore,
  SETTINGS,
  startQuorumServers,
} from './support.js';

/**
 * Each reason a held lock can be lost for, pinned to the scenario that causes it, with
 * `keel_lock_lost_total{reason}` counting exactly that reason; and what a former holder can
 * still do once a new holder has the key.
 */

const REASONS: readonly LockLostReason[] = ['expired', 'renewal-rejected', 'store-unreachable'];

interface Instrumented {
  readonly locks: LockService;
  /** `keel_lock_lost_total` of this service, by reason (0 for a reason never counted). */
  readonly lost: () => Promise<Record<LockLostReason, number>>;
}

function instrumented(store: LockStore, settings: Partial<typeof SETTINGS> = {}): Instrumented {
  const metrics = new KeelMetrics();
  const locks = new LockService(store, { ...SETTINGS, ...settings }, metrics);
  return {
    locks,
    lost: async () => {
      const text = await metrics.render();
      const counts = { expired: 0, 'renewal-rejected': 0, 'store-unreachable': 0 };
      for (const reason of REASONS) {
        const line = new RegExp(
          `^keel_lock_lost_total\\{[^}]*reason="${reason}"[^}]*\\} (\\d+)$`,
          'm',
        );
        counts[reason] = Number(line.exec(text)?.[1] ?? 0);
      }
      return counts;
    },
  };
}

/** Only `reason` counted, `times` times. */
const only = (reason: LockLostReason, times = 1) => ({
  expired: 0,
  'renewal-rejected': 0,
  'store-unreachable': 0,
  [reason]: times,
});

const lostReason = (lock: Lock) => {
  expect(lock.signal.aborted).toBe(true);
  expect(isLockLostError(lock.signal.reason)).toBe(true);
  return (lock.signal.reason as LockLostError).reason;
};

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  jest.useRealTimers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Two services on one shared-Redis store prefix (two "processes"), closed after the test. */
function onRedis(): { a: Instrumented; b: Instrumented; prefix: string } {
  const prefix = `${uniquePrefix('locks-lost')}:`;
  const [sa, sb] = [redisStore(redisUrl(), prefix), redisStore(redisUrl(), prefix)];
  const a = instrumented(sa.store);
  const b = instrumented(sb.store);
  cleanups.push(async () => {
    await a.locks.beforeApplicationShutdown();
    await b.locks.beforeApplicationShutdown();
    await Promise.all([sa.close(), sb.close()]);
  });
  return { a, b, prefix };
}

describe('a lost lock says why (keel_lock_lost_total{reason})', () => {
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(redisUrl());
  });
  afterAll(async () => {
    await closeRedisClient(admin);
  });

  it("'expired': a hold without renewal outlives its TTL (memory store, fake timers)", async () => {
    jest.useFakeTimers();
    const store = new MemoryLockStore();
    const a = instrumented(store);
    const b = instrumented(store);
    cleanups.push(async () => {
      await a.locks.beforeApplicationShutdown();
      await b.locks.beforeApplicationShutdown();
    });
    const lock = await a.locks.acquire('exp', { ttlMs: 1_000, autoRenew: false });
    await jest.advanceTimersByTimeAsync(900);
    expect(lock.isHeld).toBe(true);
    expect(await a.lost()).toEqual(only('expired', 0));
    await jest.advanceTimersByTimeAsync(100);
    expect(lostReason(lock)).toBe('expired');
    expect(await a.lost()).toEqual(only('expired'));
    // The key is free for another holder, and the late release reports the loss.
    const next = await b.locks.tryAcquire('exp');
    expect(next).toBeDefined();
    expect(await lock.release()).toBe(false);
    expect(next!.isHeld).toBe(true);
    await next!.release();
    expect(await b.lost()).toEqual(only('expired', 0));
  });

  it("'renewal-rejected': the watchdog's renewal finds the store no longer lists the hold", async () => {
    const { a, prefix } = onRedis();
    const lock = await a.locks.acquire('rej', { ttlMs: 3_000, autoRenew: true });
    // The store loses the hold (evicted, or a failover to a replica that never had it); the
    // process, its clock and the store's connection are all fine.
    expect(await admin.del(`${prefix}{rej}`)).toBe(1);
    // Renewal runs at ttl/3: the first one after the loss is rejected, well before validity ends.
    await waitFor(() => lock.signal.aborted, { message: 'the rejected renewal' });
    expect(lostReason(lock)).toBe('renewal-rejected');
    expect(await a.lost()).toEqual(only('renewal-rejected'));
    expect(await lock.extend()).toBe(false);
    expect(await lock.release()).toBe(false);
    expect(await a.lost()).toEqual(only('renewal-rejected'));
  });

  it("'expired', not 'store-unreachable': a renewing holder whose process was paused past the hold's validity", async () => {
    const { a, b } = onRedis();
    // The pause (GC, SIGSTOP): no timer of this process fires, so the watchdog never renews;
    // the store stays reachable throughout.
    const frozen = freezeTimeouts();
    try {
      const lock = await a.locks.acquire('paused', { ttlMs: 300, autoRenew: true });
      const next = await waitFor(() => b.locks.tryAcquire('paused'), {
        message: 'the store to expire the paused hold',
      });
      expect(lock.isHeld).toBe(true); // still paused: it has not noticed
      frozen.advance(300); // the process resumes: its overdue timer fires
      expect(lostReason(lock)).toBe('expired');
      expect(await a.lost()).toEqual(only('expired'));
      await next.release();
    } finally {
      frozen.thaw();
    }
  });

  it("'store-unreachable': the store's own Redis is stopped and kept down past the hold's validity", async () => {
    const server: RedisServerHandle = await startRedisServer();
    const { store, close, connected } = redisStore(server.url, 'unreachable:');
    const a = instrumented(store);
    cleanups.push(async () => {
      await a.locks.beforeApplicationShutdown();
      await close();
      await server.stop();
    });
    await connected();
    const lock = await a.locks.acquire('down', { ttlMs: 900, autoRenew: true });
    await server.stop();
    expect(server.running).toBe(false);
    // Every renewal fails for want of a server; the hold ends when its validity does, without
    // waiting for the store to answer (goal: the TTL, 900 ms; bound: 10 s).
    await waitFor(() => lock.signal.aborted, { message: 'the hold to end at its validity' });
    expect(lostReason(lock)).toBe('store-unreachable');
    expect(lock.remainingMs()).toBe(0);
    expect(a.locks.heldCount).toBe(0);
    expect(await a.lost()).toEqual(only('store-unreachable'));
    expect(server.running).toBe(false);
  });

  it("'store-unreachable' in quorum mode: two of three nodes stopped and kept down", async () => {
    const servers = await startQuorumServers();
    const q = quorumStore(
      servers.map((s) => s.url),
      `${uniquePrefix('locks-lost-q')}:`,
    );
    const a = instrumented(q.store);
    cleanups.push(async () => {
      await a.locks.beforeApplicationShutdown();
      await q.close();
      await Promise.all(servers.map((s) => s.stop()));
    });
    await q.connected();
    const lock = await a.locks.acquire('qdown', { ttlMs: 1_500, autoRenew: true });
    await Promise.all([servers[0].stop(), servers[1].stop()]);
    // No majority answers a renewal: unreachable, not rejected (one node still says yes).
    await waitFor(() => lock.signal.aborted, { message: 'the hold to end at its validity' });
    expect(lostReason(lock)).toBe('store-unreachable');
    expect(await a.lost()).toEqual(only('store-unreachable'));
  });
});

describe('a former holder', () => {
  const impls = [
    { name: 'memory', open: () => instrumentedPair(new MemoryLockStore()) },
    { name: 'redis', open: () => onRedis() },
  ];

  function instrumentedPair(store: MemoryLockStore) {
    const a = instrumented(store);
    const b = instrumented(store);
    cleanups.push(async () => {
      await a.locks.beforeApplicationShutdown();
      await b.locks.beforeApplicationShutdown();
    });
    return { a, b };
  }

  for (const impl of impls) {
    it(`extend() while a new holder holds the key fails and leaves the new holder alone (${impl.name})`, async () => {
      const { a, b } = impl.open();
      // A's process is paused (GC, SIGSTOP): its hold's timer never fires (frozen, then
      // dropped), so it still believes it holds the key while the store lets the hold expire.
      const frozen = freezeTimeouts();
      let former: Lock;
      try {
        former = await a.locks.acquire('fx', { ttlMs: 150, autoRenew: false });
      } finally {
        frozen.thaw();
      }
      const current = await waitFor(() => b.locks.tryAcquire('fx', { ttlMs: 1_500 }), {
        message: "the store to expire the former holder's hold and grant the key to B",
      });
      expect(former.isHeld).toBe(true); // it has not noticed
      expect(current.fencingToken).toBeGreaterThan(former.fencingToken);
      expect(await former.extend(60_000)).toBe(false);
      expect(lostReason(former)).toBe('renewal-rejected');
      expect(await a.lost()).toEqual(only('renewal-rejected'));
      // The new holder is unaffected: still held, still exclusive, and its TTL is its own (the
      // former holder's 60 s extension did not land on it).
      expect(current.isHeld).toBe(true);
      expect(await a.locks.tryAcquire('fx')).toBeUndefined();
      expect(await former.release()).toBe(false);
      expect(await a.locks.tryAcquire('fx')).toBeUndefined();
      await waitFor(() => current.signal.aborted, { message: "the new holder's own TTL" });
      const after = await waitFor(() => a.locks.tryAcquire('fx'), {
        message: 'the key free once the new holder’s 1.5 s TTL ended (bound: 10 s)',
      });
      expect(after.fencingToken).toBeGreaterThan(current.fencingToken);
      await after.release();
      expect(await b.lost()).toEqual(only('expired'));
    });
  }
});
