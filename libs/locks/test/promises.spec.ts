import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Module, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { KeelCoreModule, loadKeelConfig } from '@keel/core';
import {
  isLockLostError,
  LockService,
  LocksHealthIndicator,
  LocksModule,
  MemoryLockStore,
  type Lock,
  type LockStore,
} from '@keel/locks';
import type { RedisServerHandle } from '../../../test/support/fault-servers.js';
import { startPasswordRedis } from '../../../test/support/password-redis.js';
import { redisUrl, uniquePrefix } from '../../../test/support/services.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { redisStore, service } from './support.js';

/** README promises of @keel/locks that no other suite proves. */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  jest.useRealTimers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Two services on one store (two callers), shut down after the test. */
function pair(store: () => { store: LockStore; close: () => Promise<void> }) {
  const [sa, sb] = [store(), store()];
  const a = service(sa.store, { autoRenew: false });
  const b = service(sb.store, { autoRenew: false });
  cleanups.push(async () => {
    await a.beforeApplicationShutdown();
    await b.beforeApplicationShutdown();
    await Promise.all([sa.close(), sb.close()]);
  });
  return { a, b };
}

const implementations = [
  {
    name: 'memory store, fake timers',
    fake: true,
    open: () => {
      const store = new MemoryLockStore();
      return pair(() => ({ store, close: async () => undefined }));
    },
  },
  {
    name: 'Redis',
    fake: false,
    open: () => {
      const prefix = `${uniquePrefix('locks-rw')}:`;
      return pair(() => redisStore(redisUrl(), prefix));
    },
  },
];

describe('a lapsed read-write lock holder', () => {
  for (const impl of implementations) {
    /**
     * Lets time pass until `lock` has lapsed: fake time on the memory store (whose clock is this
     * process's), real time (waiting for the event, not a fixed sleep) on Redis.
     */
    const lapse = async (lock: Lock, ttlMs: number) => {
      if (impl.fake) await jest.advanceTimersByTimeAsync(ttlMs);
      else await waitFor(() => lock.signal.aborted, { message: `'${lock.key}' to lapse` });
      expect(isLockLostError(lock.signal.reason)).toBe(true);
    };
    /** Resolves `pending`, moving fake time along for the waiter's re-checks if need be. */
    const settle = async <T>(pending: Promise<T>): Promise<T> => {
      if (!impl.fake) return pending;
      let done = false;
      void pending.then(
        () => (done = true),
        () => (done = true),
      );
      // Each step lets the waiter's next re-check (≤ 1 s) run; 20 steps is 20 s of fake time.
      for (let i = 0; i < 20 && !done; i++) await jest.advanceTimersByTimeAsync(1_000);
      return pending;
    };

    it(`a reader that never releases: its lease lapses and a queued writer proceeds (${impl.name})`, async () => {
      if (impl.fake) jest.useFakeTimers();
      const { a, b } = impl.open();
      const reader = await a.readWriteLock('doc').read.acquire({ ttlMs: 300 });
      let wrote = false;
      const writer = b
        .readWriteLock('doc')
        .write.acquire({ waitMs: 10_000 })
        .then((lock) => {
          wrote = true;
          return lock;
        });
      expect(await b.readWriteLock('doc').write.tryAcquire()).toBeUndefined();
      expect(wrote).toBe(false);
      await lapse(reader, 300);
      const write = await settle(writer);
      expect(write.fencingToken).toBeGreaterThan(reader.fencingToken);
      // The writer excludes readers, the lapsed one included.
      expect(await a.readWriteLock('doc').read.tryAcquire()).toBeUndefined();
      expect(await reader.release()).toBe(false);
      expect(await write.release()).toBe(true);
      const again = await a.readWriteLock('doc').read.tryAcquire();
      expect(again).toBeDefined();
      await again!.release();
    });

    it(`a lapsed reader beside a live one: the queued writer proceeds once the live one releases (${impl.name})`, async () => {
      if (impl.fake) jest.useFakeTimers();
      const { a, b } = impl.open();
      const lapsed = await a.readWriteLock('shelf').read.acquire({ ttlMs: 300 });
      // The live reader's TTL outlasts the writer's wait: whatever keeps the lock's keys alive
      // for it cannot be what frees the lapsed reader's share.
      const live = await b.readWriteLock('shelf').read.acquire({ ttlMs: 20_000 });
      const writer = b.readWriteLock('shelf').write.acquire({ waitMs: 5_000 });
      await lapse(lapsed, 300);
      expect(await a.readWriteLock('shelf').write.tryAcquire()).toBeUndefined(); // live reads
      expect(await live.release()).toBe(true);
      const write = await settle(writer);
      expect(write.fencingToken).toBeGreaterThan(live.fencingToken);
      expect(await lapsed.release()).toBe(false);
      expect(await write.release()).toBe(true);
    });

    it(`a writer that never releases: its lease lapses and queued readers proceed together (${impl.name})`, async () => {
      if (impl.fake) jest.useFakeTimers();
      const { a, b } = impl.open();
      const writer = await a.readWriteLock('cat').write.acquire({ ttlMs: 300 });
      const readers = Promise.all([
        b.readWriteLock('cat').read.acquire({ waitMs: 10_000, ttlMs: 10_000 }),
        a.readWriteLock('cat').read.acquire({ waitMs: 10_000, ttlMs: 10_000 }),
      ]);
      await lapse(writer, 300);
      const [r1, r2] = await settle(readers);
      // Both read at once; a writer waits for them.
      expect(r1.isHeld && r2.isHeld).toBe(true);
      expect(await b.readWriteLock('cat').write.tryAcquire()).toBeUndefined();
      expect(await writer.release()).toBe(false);
      expect(await r1.release()).toBe(true);
      expect(await r2.release()).toBe(true);
      const write = await b.readWriteLock('cat').write.tryAcquire();
      expect(write).toBeDefined();
      await write!.release();
    });
  }
});

describe('locks health on a single Redis (own redis-server with a password)', () => {
  const PASSWORD = 'pw-Keel-5ecret-0042';
  let app: INestApplication | undefined;
  let server: RedisServerHandle | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
    await server?.stop();
    server = undefined;
  });

  async function boot(redis: string): Promise<INestApplication> {
    @Module({
      imports: [
        KeelCoreModule.forRoot({
          serviceName: 'locks-health',
          redis,
          redisKeyPrefix: `${uniquePrefix('locks-health')}:`,
          config: loadKeelConfig({ env: {} }),
        }),
        LocksModule.forRoot({ store: 'redis' }),
      ],
    })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    return app;
  }

  const secrets = (report: unknown) => {
    const text = JSON.stringify(report);
    return [PASSWORD, 'redis://', 'keel-user'].filter((secret) => text.includes(secret));
  };

  it('up while the server answers, down once it is stopped and kept down; never shows the URL or password', async () => {
    const redis = await startPasswordRedis(PASSWORD);
    server = redis.server;
    const nest = await boot(redis.url());
    const health = nest.get(LocksHealthIndicator);
    const locks = nest.get(LockService);
    const held = await locks.acquire('h');
    const up = await health.check();
    expect(up).toMatchObject({ status: 'up', details: { store: 'redis', held: 1 } });
    expect(typeof up.details?.roundTripMs).toBe('number');
    expect(secrets(up)).toEqual([]);
    expect(await held.release()).toBe(true);

    await server.stop();
    // The check ends when the client gives up on the dead server (bounded retries), not never.
    const down = await waitFor(
      async () => {
        const report = await health.check();
        return report.status === 'down' ? report : undefined;
      },
      { timeoutMs: 20_000, message: 'health to report down' },
    );
    expect(down.details).toMatchObject({ store: 'redis', held: 0 });
    expect(typeof down.details?.error).toBe('string');
    expect(down.details).not.toHaveProperty('roundTripMs');
    expect(secrets(down)).toEqual([]);
    expect(server.running).toBe(false);
    // Once the client knows the connection is gone, readiness says so without a ping that would
    // wait out the client's retries (~2.8 s a check before).
    const again = await health.check();
    expect(again).toMatchObject({ status: 'down', details: { store: 'redis', held: 0 } });
    expect(again.details?.error).toMatch(/^connection (connecting|reconnecting|close|end)$/);
  });

  it('a wrong password is reported down without echoing either password', async () => {
    const redis = await startPasswordRedis(PASSWORD);
    server = redis.server;
    const wrong = 'pw-wrong-Keel-9911';
    const nest = await boot(redis.url({ user: 'keel-user', password: wrong }));
    const report = await waitFor(
      async () => {
        const r = await nest.get(LocksHealthIndicator).check();
        return r.status === 'down' ? r : undefined;
      },
      { timeoutMs: 20_000, message: 'health to report down' },
    );
    expect(typeof report.details?.error).toBe('string');
    expect(secrets(report)).toEqual([]);
    expect(JSON.stringify(report)).not.toContain(wrong);
  });
});
