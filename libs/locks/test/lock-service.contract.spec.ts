import { afterAll, beforeAll, expect, it } from '@jest/globals';
import {
  currentLock,
  isDeadlockError,
  isLockLostError,
  isLockTimeoutError,
  type Lock,
} from '@keel/locks';
import type { RedisServerHandle } from '../../../test/support/fault-servers.js';
import { describeStoreContract } from '../../../test/support/store-contract.js';
import { waitFor } from '../../../test/support/wait-for.js';
import {
  contendedCount,
  implementations,
  startQuorumServers,
  type ServiceUnderTest,
} from './support.js';

let servers: RedisServerHandle[] = [];
beforeAll(async () => {
  servers = await startQuorumServers();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

describeStoreContract<ServiceUnderTest>(
  'LockService',
  implementations(() => servers),
  (sut, impl) => {
    it('grants a free lock once, with a fencing token, and refuses a second holder', async () => {
      const lock = await sut().locks.acquire('a');
      expect(lock.key).toBe('a');
      expect(lock.fencingToken).toBeGreaterThan(0);
      expect(lock.isHeld).toBe(true);
      expect(await sut().peer.tryAcquire('a')).toBeUndefined();
      expect(await sut().locks.tryAcquire('b')).toBeDefined();
      expect(await lock.release()).toBe(true);
    });

    it('release is idempotent and the next holder gets a higher fencing token', async () => {
      const first = await sut().locks.acquire('k');
      expect(await first.release()).toBe(true);
      expect(await first.release()).toBe(true);
      const second = await sut().peer.acquire('k');
      expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
      await second.release();
    });

    it('fencing tokens increase across expiry, and a late release never deletes the new holder', async () => {
      const first = await sut().locks.acquire('x', { ttlMs: 100 });
      await waitFor(() => first.signal.aborted, { message: 'first hold to expire' });
      expect(isLockLostError(first.signal.reason)).toBe(true);
      const second = await sut().peer.acquire('x', { waitMs: 5_000 });
      expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
      expect(await first.release()).toBe(false);
      expect(await sut().locks.tryAcquire('x')).toBeUndefined();
      await second.release();
    });

    it('wakes a waiter on release instead of polling', async () => {
      const holder = await sut().locks.acquire('w', { ttlMs: 20_000 });
      const started = performance.now();
      const waiting = sut().peer.acquire('w', { waitMs: 15_000 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      await holder.release();
      const lock = await waiting;
      // Without a wake-up the waiter would sleep until its 1 s re-check (or the 20 s TTL).
      expect(performance.now() - started).toBeLessThan(900);
      expect(lock.fencingToken).toBeGreaterThan(holder.fencingToken);
      await lock.release();
    });

    it('times out with LockTimeoutError naming the key and the waited time', async () => {
      const holder = await sut().locks.acquire('t');
      const error = await sut()
        .peer.acquire('t', { waitMs: 150 })
        .catch((e: unknown) => e);
      expect(isLockTimeoutError(error)).toBe(true);
      expect((error as Error).message).toMatch(/lock 't' was not acquired within 1\d\d ms/);
      await holder.release();
      // The timed-out waiter left the queue: the lock is free for anyone.
      const next = await sut().peer.tryAcquire('t');
      expect(next).toBeDefined();
      await next!.release();
    });

    it('using() releases on success and on failure, and exposes currentLock()', async () => {
      let inside: Lock | undefined;
      const value = await sut().locks.using('u', async (lock) => {
        inside = currentLock();
        expect(inside).toBe(lock);
        return 42;
      });
      expect(value).toBe(42);
      expect(inside!.isHeld).toBe(false);
      await expect(
        sut().locks.using('u', async () => {
          throw new RangeError('boom');
        }),
      ).rejects.toThrow(RangeError);
      const again = await sut().peer.tryAcquire('u');
      expect(again).toBeDefined();
      await again!.release();
      expect(currentLock()).toBeUndefined();
    });

    it('renewal keeps a critical section five times the TTL', async () => {
      // Renewal runs every ttl/3: a TTL this size tolerates event-loop stalls of ~400 ms.
      const ttlMs = 600;
      await sut().locks.using('r', { ttlMs }, async (lock) => {
        const until = performance.now() + 5 * ttlMs;
        while (performance.now() < until) {
          expect(await sut().peer.tryAcquire('r')).toBeUndefined();
          await new Promise((resolve) => setTimeout(resolve, ttlMs / 2));
        }
        expect(lock.signal.aborted).toBe(false);
      });
    });

    it('extend() pushes the expiry out; after loss it reports false', async () => {
      const lock = await sut().locks.acquire('e', { ttlMs: 200 });
      expect(await lock.extend(10_000)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(lock.signal.aborted).toBe(false);
      expect(await sut().peer.tryAcquire('e')).toBeUndefined();
      await lock.release();
      expect(await lock.extend()).toBe(false);
    });

    it('reentrancy is opt-in; without it a nested acquire of the same key fails fast', async () => {
      await sut().locks.using('re', async (outer) => {
        await sut().locks.using('re', { reentrant: true }, async (inner) => {
          expect(inner.fencingToken).toBe(outer.fencingToken);
        });
        expect(outer.isHeld).toBe(true);
        const error = await sut()
          .locks.using('re', async () => undefined)
          .catch((e: unknown) => e);
        expect(isDeadlockError(error)).toBe(true);
      });
    });

    it('acquireMany takes overlapping sets in canonical order without deadlock', async () => {
      const run = (keys: string[]) =>
        Promise.all(
          Array.from({ length: 5 }, async () => {
            const group = await sut().locks.acquireMany(keys, { waitMs: 10_000 });
            await new Promise((resolve) => setTimeout(resolve, 2));
            return group.release();
          }),
        );
      const results = await Promise.all([run(['m1', 'm2', 'm3']), run(['m3', 'm2', 'm1'])]);
      expect(results.flat().every(Boolean)).toBe(true);
    });

    it('detects a deadlock between two call chains within 1 s and fails exactly one', async () => {
      const outcomes: string[] = [];
      let started = 0;
      const chain = (svc: 'locks' | 'peer', first: string, second: string) =>
        sut()[svc].using(first, { waitMs: 8_000 }, async () => {
          started++;
          await waitFor(() => started === 2, { message: 'both chains holding' });
          const t0 = performance.now();
          try {
            await sut()[svc].using(second, { waitMs: 8_000 }, async () => undefined);
            outcomes.push('ok');
          } catch (error) {
            expect(isDeadlockError(error)).toBe(true);
            expect(performance.now() - t0).toBeLessThan(1_000);
            outcomes.push('deadlock');
          }
        });
      await Promise.all([chain('locks', 'd1', 'd2'), chain('peer', 'd2', 'd1')]);
      expect(outcomes.sort()).toEqual(['deadlock', 'ok']);
    });

    it('an abort signal stops a wait', async () => {
      const holder = await sut().locks.acquire('ab');
      const controller = new AbortController();
      const waiting = sut().peer.acquire('ab', { waitMs: 10_000, abortSignal: controller.signal });
      setTimeout(() => controller.abort(new Error('shutting down')), 50);
      await expect(waiting).rejects.toThrow('shutting down');
      await holder.release();
    });

    if (impl.name === 'quorum') {
      it('refuses semaphores and read-write locks with a clear error', () => {
        expect(() => sut().locks.semaphore('s', 2).tryAcquire()).toThrow(
          /not available on the quorum store/,
        );
      });
    }

    if (impl.name !== 'quorum') {
      it('semaphore: at most N holders, a waiter is woken when a permit comes back', async () => {
        const sem = sut().locks.semaphore('sem', 3);
        const other = sut().peer.semaphore('sem', 3);
        const held = [await sem.acquire(), await other.acquire(), await sem.acquire()];
        expect(await other.tryAcquire()).toBeUndefined();
        const contended = await contendedCount(sut().peer);
        const t0 = performance.now();
        const waiting = other.acquire({ waitMs: 10_000 });
        await waitFor(async () => (await contendedCount(sut().peer)) > contended, {
          message: 'the waiter to queue',
        });
        expect(await held[1].release()).toBe(true);
        const fourth = await waiting;
        expect(performance.now() - t0).toBeLessThan(900);
        expect(fourth.fencingToken).toBeGreaterThan(Math.max(...held.map((l) => l.fencingToken)));
        expect(await held[1].release()).toBe(true);
        await Promise.all([held[0].release(), held[2].release(), fourth.release()]);
        expect(await sem.tryAcquire()).toBeDefined();
      });

      it('semaphore: an expired holder gives its permit back; renewal keeps it', async () => {
        const sem = sut().locks.semaphore('sem-exp', 1);
        const lapsed = await sem.acquire({ ttlMs: 100 });
        await waitFor(() => lapsed.signal.aborted, { message: 'permit to expire' });
        const renewed = await sut()
          .peer.semaphore('sem-exp', 1)
          .acquire({ ttlMs: 600, autoRenew: true });
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        expect(renewed.signal.aborted).toBe(false);
        expect(await sem.tryAcquire()).toBeUndefined();
        expect(await lapsed.release()).toBe(false);
        expect(await renewed.release()).toBe(true);
      });

      it('read-write lock: readers share, a writer excludes, and a waiting writer is not starved', async () => {
        const rw = sut().locks.readWriteLock('doc');
        const peerRw = sut().peer.readWriteLock('doc');
        const r1 = await rw.read.acquire();
        const r2 = await peerRw.read.acquire();
        expect(await rw.write.tryAcquire()).toBeUndefined();
        const events: string[] = [];
        const contended = await contendedCount(sut().peer);
        const writer = peerRw.write.acquire({ waitMs: 10_000 }).then(async (w) => {
          events.push('write');
          await new Promise((resolve) => setTimeout(resolve, 20));
          await w.release();
        });
        await waitFor(async () => (await contendedCount(sut().peer)) > contended, {
          message: 'the writer to queue',
        });
        // A reader arriving after the writer queues behind it.
        const lateReader = rw.read.acquire({ waitMs: 10_000 }).then(async (r) => {
          events.push('late read');
          await r.release();
        });
        await new Promise((resolve) => setTimeout(resolve, 30));
        expect(events).toEqual([]);
        await r1.release();
        await r2.release();
        await Promise.all([writer, lateReader]);
        expect(events).toEqual(['write', 'late read']);
      });

      it('fair: 20 waiters are granted in arrival order, each by push hand-off', async () => {
        const holder = await sut().locks.acquire('f', { ttlMs: 20_000 });
        const order: number[] = [];
        const waiters: Promise<void>[] = [];
        for (let i = 0; i < 20; i++) {
          const svc = i % 2 === 0 ? sut().locks : sut().peer;
          const contended = await contendedCount(svc);
          waiters.push(
            svc.acquire('f', { fair: true, waitMs: 15_000 }).then(async (lock) => {
              order.push(i);
              await lock.release();
            }),
          );
          // Arrival order is the order the queue saw them: each one queues before the next
          // starts (a fixed pause was not enough where the first wait opens a subscription).
          await waitFor(async () => (await contendedCount(svc)) > contended, {
            message: `waiter ${i} to queue`,
          });
        }
        await holder.release();
        await Promise.all(waiters);
        expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
      });

      it('a fair waiter that times out does not strand the one behind it', async () => {
        const holder = await sut().locks.acquire('s', { ttlMs: 20_000 });
        const contended = await contendedCount(sut().peer);
        const early = sut()
          .peer.acquire('s', { fair: true, waitMs: 100 })
          .catch((e: unknown) => e);
        await waitFor(async () => (await contendedCount(sut().peer)) > contended, {
          message: 'the early waiter to queue',
        });
        const late = sut().peer.acquire('s', { fair: true, waitMs: 10_000 });
        expect(isLockTimeoutError(await early)).toBe(true);
        const t0 = performance.now();
        await holder.release();
        const lock = await late;
        expect(performance.now() - t0).toBeLessThan(900);
        await lock.release();
      });
    }
  },
);
