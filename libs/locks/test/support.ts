import { jest } from '@jest/globals';
import { KeelMetrics } from '@keel/core';
import { closeRedisClient } from '@keel/core/internal';
import { Redis } from 'ioredis';
import {
  LockService,
  MemoryLockStore,
  QuorumLockStore,
  RedisLockStore,
  type Lock,
  type LockStore,
  type WaiterEvent,
} from '@keel/locks';
import { startRedisServer, type RedisServerHandle } from '../../../test/support/fault-servers.js';
import { redisUrl, uniquePrefix } from '../../../test/support/services.js';
import type { StoreImplementation } from '../../../test/support/store-contract.js';
import { waitFor } from '../../../test/support/wait-for.js';

/** A LockService over one store, as the contract suite uses it. */
export interface ServiceUnderTest {
  readonly locks: LockService;
  readonly store: LockStore;
  /** A second, independent service on the same backing store (another "process"). */
  readonly peer: LockService;
  readonly close: () => Promise<void>;
}

export const SETTINGS = {
  store: 'memory' as const,
  ttlMs: 5_000,
  autoRenew: true,
  waitMs: 5_000,
  fair: false,
  reentrant: false,
  deadlockDetection: true,
  keyPrefix: '',
};

const metricsOf = new WeakMap<LockService, KeelMetrics>();

export function service(store: LockStore, settings: Partial<typeof SETTINGS> = {}): LockService {
  const metrics = new KeelMetrics();
  const locks = new LockService(store, { ...SETTINGS, ...settings }, metrics);
  metricsOf.set(locks, metrics);
  return locks;
}

/**
 * Acquisitions of `locks` that found the lock held: it counts one once the waiter's first attempt
 * has been answered, i.e. once the waiter stands in the store's queue.
 */
export async function contendedCount(locks: LockService): Promise<number> {
  const counter = metricsOf.get(locks)?.registry.getSingleMetric('keel_lock_contended_total');
  if (counter === undefined) throw new Error('not a service built by service()');
  return (await counter.get()).values[0]?.value ?? 0;
}

const recorded = new WeakMap<LockStore, WaiterEvent[]>();

/**
 * Every event the store of `locks` delivers to its waiters from now on (grant or wake), in
 * order: proof that a waiter got the lock by a push from the store rather than by re-checking.
 * Services sharing one store (the memory implementation) share one record.
 */
export function waiterEvents(locks: LockService): WaiterEvent[] {
  const store = locks.store;
  let events = recorded.get(store);
  if (events === undefined) {
    const record: WaiterEvent[] = (events = []);
    const listen = store.listen.bind(store);
    store.listen = (token, listener) =>
      listen(token, (event) => {
        record.push(event);
        listener(event);
      });
    recorded.set(store, record);
  }
  return events;
}

/** Frozen `setTimeout`s, see {@link freezeTimeouts}. */
export interface FrozenTimeouts {
  /** Fires the frozen timeouts due within `ms` of fake time (real time does not move). */
  advance(ms: number): void;
  /** Back to real timers; frozen timeouts that never fired are dropped. */
  thaw(): void;
}

/**
 * Freezes `setTimeout` (fake timers that only {@link FrozenTimeouts.advance} moves; the clocks
 * and everything else stay real) until `thaw()`. While frozen, a lock waiter's re-check never
 * fires, so a waiter that gets the lock got it from a wake-up or a grant. Freeze before the
 * waiter starts: a timeout set earlier is a real one. Waits of the test itself use
 * test/support/wait-for.ts, which keeps real timers.
 */
export function freezeTimeouts(): FrozenTimeouts {
  jest.useFakeTimers({
    doNotFake: [
      'Date',
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'requestAnimationFrame',
      'cancelAnimationFrame',
      'requestIdleCallback',
      'cancelIdleCallback',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
    ],
  });
  return { advance: (ms) => jest.advanceTimersByTime(ms), thaw: () => jest.useRealTimers() };
}

/**
 * Resolves once `lock` has been renewed `times` more times: each renewal that a store accepts
 * moves its validity out again, which is what this watches for.
 */
export async function renewals(lock: Lock, times: number): Promise<void> {
  let seen = 0;
  let last = lock.remainingMs();
  await waitFor(
    () => {
      if (!lock.isHeld) throw new Error(`lock '${lock.key}' was lost`);
      const remaining = lock.remainingMs();
      if (remaining > last) seen++;
      last = remaining;
      return seen >= times;
    },
    { intervalMs: 5, message: `${times} renewals of lock '${lock.key}'` },
  );
}

/** Opens a Redis lock store on `url` with its own connections. */
export function redisStore(
  url: string,
  prefix: string,
): { store: RedisLockStore; close: () => Promise<void>; connected: () => Promise<void> } {
  // A short disconnectTimeout: ioredis otherwise keeps a 2 s timer per connection to a dead server.
  const client = new Redis(url, { maxRetriesPerRequest: 1, disconnectTimeout: 50 });
  const subscribers: Redis[] = [];
  client.on('error', () => undefined);
  const store = new RedisLockStore({
    client,
    subscriber: () => {
      const sub = new Redis(url, { maxRetriesPerRequest: 1, disconnectTimeout: 50 });
      sub.on('error', () => undefined);
      subscribers.push(sub);
      return sub;
    },
    prefix,
  });
  return {
    store,
    connected: async () => void (await client.ping()),
    close: async () => {
      await store.close();
      // closeRedisClient disconnects at once a connection whose server the test stopped.
      await Promise.all([...subscribers, client].map((c) => closeRedisClient(c)));
    },
  };
}

/** Three private redis-servers for quorum tests. */
export async function startQuorumServers(): Promise<RedisServerHandle[]> {
  return Promise.all([startRedisServer(), startRedisServer(), startRedisServer()]);
}

export function quorumStore(
  urls: readonly string[],
  prefix: string,
): { store: QuorumLockStore; close: () => Promise<void>; connected: () => Promise<void> } {
  const parts = urls.map((url) => redisStore(url, prefix));
  const store = new QuorumLockStore({
    nodes: parts.map((p, i) => ({ label: `node${i}`, store: p.store })),
    nodeTimeoutMs: 250,
  });
  return {
    store,
    // Tests await this first: a first command that also has to open its connection can miss
    // the 250 ms node timeout on a loaded machine, on every node at once.
    connected: async () => void (await Promise.all(parts.map((p) => p.connected()))),
    close: async () => void (await Promise.all(parts.map((p) => p.close()))),
  };
}

/** The three implementations of the contract; `servers` must be started before use. */
export function implementations(
  servers: () => readonly RedisServerHandle[],
): StoreImplementation<ServiceUnderTest>[] {
  const build = (make: () => { store: LockStore; close: () => Promise<void> }[]) => {
    const [a, b] = make();
    const locks = service(a.store);
    const peer = service(b.store);
    return {
      locks,
      peer,
      store: a.store,
      close: async () => {
        await locks.beforeApplicationShutdown();
        await peer.beforeApplicationShutdown();
        await a.close();
        await b.close();
      },
    };
  };
  return [
    {
      name: 'memory',
      create: () => {
        const store = new MemoryLockStore();
        // Two services on one memory store stand for two callers in one process.
        return build(() => [
          { store, close: async () => undefined },
          { store, close: async () => undefined },
        ]);
      },
      destroy: (s) => s.close(),
    },
    {
      name: 'redis',
      create: () => {
        const prefix = `${uniquePrefix('locks')}:`;
        return build(() => [redisStore(redisUrl(), prefix), redisStore(redisUrl(), prefix)]);
      },
      destroy: (s) => s.close(),
    },
    {
      name: 'quorum',
      create: async () => {
        const prefix = `${uniquePrefix('locks-q')}:`;
        const urls = servers().map((s) => s.url);
        const stores = [quorumStore(urls, prefix), quorumStore(urls, prefix)];
        await Promise.all(stores.map((q) => q.connected()));
        return build(() => stores);
      },
      destroy: (s) => s.close(),
    },
  ];
}
