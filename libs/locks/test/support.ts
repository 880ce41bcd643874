import { KeelMetrics } from '@keel/core';
import { closeRedisClient } from '@keel/core/internal';
import { Redis } from 'ioredis';
import {
  LockService,
  MemoryLockStore,
  QuorumLockStore,
  RedisLockStore,
  type LockStore,
} from '@keel/locks';
import { startRedisServer, type RedisServerHandle } from '../../../test/support/fault-servers.js';
import { redisUrl, uniquePrefix } from '../../../test/support/services.js';
import type { StoreImplementation } from '../../../test/support/store-contract.js';

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

/** Opens a Redis lock store on `url` with its own connections. */
export function redisStore(
  url: string,
  prefix: string,
): { store: RedisLockStore; close: () => Promise<void> } {
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
    close: async () => {
      await store.close();
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
): { store: QuorumLockStore; close: () => Promise<void> } {
  const parts = urls.map((url) => redisStore(url, prefix));
  const store = new QuorumLockStore({
    nodes: parts.map((p, i) => ({ label: `node${i}`, store: p.store })),
    nodeTimeoutMs: 250,
  });
  return { store, close: async () => void (await Promise.all(parts.map((p) => p.close()))) };
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
      create: () => {
        const prefix = `${uniquePrefix('locks-q')}:`;
        const urls = servers().map((s) => s.url);
        return build(() => [quorumStore(urls, prefix), quorumStore(urls, prefix)]);
      },
      destroy: (s) => s.close(),
    },
  ];
}
