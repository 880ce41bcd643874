import { afterAll, beforeAll, expect, it, jest } from '@jest/globals';
import {
  currentLock,
  isDeadlockError,
  isLockLostError,
  isLockTimeoutError,
  type DeadlockError,
  type Lock,
  type LockTimeoutError,
} from '@keel/locks';
import type { RedisServerHandle } from '../../../test/support/fault-servers.js';
import { describeStoreContract } from '../../../test/support/store-contract.js';
import { settlesWithin, waitFor } from '../../../test/support/wait-for.js';
import {
  contendedCount,
  freezeTimeouts,
  implementations,
  renewals,
  SETTINGS,
  startQuorumServers,
  waiterEvents,
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
      const events = waiterEvents(sut().peer);
      const contended = await contendedCount(sut().peer);
      // No timer fires from here: without a wake-up (or a grant) the waiter never tries again.
      const frozen = freezeTimeouts();
      try {
        const waiting = sut().peer.acquire('w', { waitMs: 15_000 });
        await waitFor(async () => (await contendedCount(sut().peer)) > contended, {
          message: 'the waiter to queue',
        });
        await holder.release();
        const lock = await settlesWithin(waiting, 5_000, 'the waiter getting the released lock');
        expect(events.map((e) => e.type)).toContainEqual(expect.stringMatching(/^(wake|grant)$/));
        expect(lock.fencingToken).toBeGreaterThan(holder.fencingToken);
        await lock.release();
      } finally {
        frozen.thaw();
      }
    });

    it('times out with LockTimeoutError naming the key and the waited time', async () => {
      const holder = await sut().locks.acquire('t');
      const error = await sut()
        .peer.acquire('t', { waitMs: 150 })
        .catch((e: unknown) => e);
      expect(isLockTimeoutError(error)).toBe(true);
      const { waitedMs, message } = error as LockTimeoutError;
      expect(message).toContain(`lock 't' was not acquired within ${Math.round(waitedMs)} ms`);
      // It waited its own waitMs, not the service default.
      expect(waitedMs).toBeGreaterThanOrEqual(150);
      expect(waitedMs).toBeLessThan(SETTINGS.waitMs);
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

    it('renewal keeps a critical section three times the TTL', async () => {
      // Renewal runs every ttl/3: a TTL this size tolerates event-loop stalls of ~400 ms. The
      // memory store runs on fake timers (its clock is this process's); Redis keeps real time.
      const ttlMs = 600;
      const fake = impl.name === 'memory';
      if (fake) jest.useFakeTimers();
      const elapse = (ms: number) =>
        fake
          ? jest.advanceTimersByTimeAsync(ms)
          : new Promise((resolve) => setTimeout(resolve, ms));
      try {
        await sut().locks.using('r', { ttlMs }, async (lock) => {
          for (let elapsed = 0; elapsed < 3 * ttlMs; elapsed += ttlMs / 2) {
            expect(await sut().peer.tryAcquire('r')).toBeUndefined();
            await elapse(ttlMs / 2);
          }
          expect(await sut().peer.tryAcquire('r')).toBeUndefined();
          expect(lock.signal.aborted).toBe(false);
        });
      } finally {
        if (fake) jest.useRealTimers();
      }
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

    it('acquireMany takes overlapping sets in canonical order without deadlock, never two groups on one key', async () => {
      const holding = new Set<string>();
      const collisions: string[] = [];
      let sections = 0;
      const run = (svc: 'locks' | 'peer', keys: string[]) =>
        Promise.all(
          Array.from({ length: 5 }, async () => {
            const group = await sut()[svc].acquireMany(keys, { waitMs: 10_000 });
            expect(group.locks.map((l) => l.key)).toEqual([...keys].sort());
            for (const key of keys) {
              if (holding.has(key)) collisions.push(key);
              holding.add(key);
            }
            sections++;
            // Hold across a few turns of the event loop, so that a second group could interleave.
            await new Promise((resolve) => setTimeout(resolve, 2));
            for (const key of keys) holding.delete(key);
            return group.release();
          }),
        );
      const results = await Promise.all([
        run('locks', ['m1', 'm2', 'm3']),
        run('peer', ['m3', 'm2', 'm1']),
        run('locks', ['m2', 'm4']),
      ]);
      expect(collisions).toEqual([]);
      expect(sections).toBe(15);
      expect(results.flat().every(Boolean)).toBe(true);
    });

    it('detects a deadlock between two call chains (the cycle, not a timeout) and fails exactly one', async () => {
      const outcomes: unknown[] = [];
      let started = 0;
      const chain = (svc: 'locks' | 'peer', first: string, second: string) =>
        sut()[svc].using(first, { waitMs: 8_000 }, async () => {
          const locks = sut()[svc];
          started++;
          await waitFor(() => started === 2, { message: 'both chains holding' });
          outcomes.push(
            await locks.using(second, { waitMs: 8_000 }, async () => 'ok').catch((e) => e),
          );
        });
      await Promise.all([chain('locks', 'd1', 'd2'), chain('peer', 'd2', 'd1')]);
      expect(outcomes).toHaveLength(2);
      expect(outcomes).toContain('ok');
      const error = outcomes.find((o) => o !== 'ok');
      expect(isDeadlockError(error)).toBe(true);
      // Found by following the wait-for graph: both chains, each waiting for the other's key.
      const { cycle } = error as DeadlockError;
      expect(cycle.map((edge) => edge.waitsFor).sort()).toEqual(['d1', 'd2']);
      expect(new Set(cycle.map((edge) => edge.chain)).size).toBe(2);
    });

    it('an abort signal stops a wait', async () => {
      const holder = await sut().locks.acquire('ab');
      const controller = new AbortController();
      const contended = await contendedCount(sut().peer);
      const waiting = sut().peer.acquire('ab', { waitMs: 10_000, abortSignal: controller.signal });
      await waitFor(async () => (await contendedCount(sut().peer)) > contended, {
        message: 'the waiter to queue',
      });
      controller.abort(new Error('shutting down'));
      await expect(waiting).rejects.toThrow('shutting down');
      // It left the queue: the lock goes to the next taker on release.
      await holder.release();
      const next = await sut().peer.tryAcquire('ab');
      expect(next).toBeDefined();
      await next!.release();
    });

    if (impl.name === 'quorum') {
      it('refuses semaphores and read-write locks with a clear error', () => {
        const refused =
          /'s': semaphores and read-write locks are not available on the quorum store/;
        const rw = sut().locks.readWriteLock('s');
        for (const attempt of [
          () => sut().locks.semaphore('s', 2).tryAcquire(),
          () => sut().locks.semaphore('s', 2).acquire(),
          () => rw.read.tryAcquire(),
          () => rw.read.acquire(),
          () => rw.write.tryAcquire(),
          () => rw.write.acquire(),
        ]) {
          expect(attempt).toThrow(refused);
        }
      });
    }

    if (impl.name !== 'quorum') {
      it('semaphore: at most N holders, a waiter is woken when a permit comes back', async () => {
        const sem = sut().locks.semaphore('sem', 3);
        const other = sut().peer.semaphore('sem', 3);
        const held = [await sem.acquire(), await other.acquire(), await sem.acquire()];
        expect(await other.tryAcquire()).toBeUndefined();
        const events = waiterEvents(sut().peer);
        const contended = await contendedCount(sut().peer);
        // No timer fires from here: the fourth holder can only come from a wake-up or a grant.
        const frozen = freezeTimeouts();
        let fourth: Lock;
        try {
          const waiting = other.acquire({ waitMs: 10_000 });
          await waitFor(async () => (await contendedCount(sut().peer)) > contended, {
            message: 'the waiter to queue',
          });
          expect(await held[1].release()).toBe(true);
          fourth = await settlesWithin(waiting, 5_000, 'the waiter getting the permit back');
          expect(events.map((e) => e.type)).toContainEqual(expect.stringMatching(/^(wake|grant)$/));
          expect(await sem.tryAcquire()).toBeUndefined(); // three holders again
        } finally {
          frozen.thaw();
        }
        expect(fourth.fencingToken).toBeGreaterThan(Math.max(...held.map((l) => l.fencingToken)));
        expect(await held[1].release()).toBe(true);
        await Promise.all([held[0].release(), held[2].release(), fourth.release()]);
        const free = await sem.tryAcquire();
        expect(free).toBeDefined();
        await free!.release();
      });

      it('semaphore: an expired holder gives its permit back; renewal keeps it', async () => {
        const sem = sut().locks.semaphore('sem-exp', 1);
        const lapsed = await sem.acquire({ ttlMs: 100 });
        await waitFor(() => lapsed.signal.aborted, { message: 'permit to expire' });
        const ttlMs = 600;
        const acquiredAt = performance.now();
        const renewed = await sut()
          .peer.semaphore('sem-exp', 1)
          .acquire({ ttlMs, autoRenew: true });
        // Renewal runs every ttl/3: four renewals carry the permit past the TTL of its grant.
        await renewals(renewed, 4);
        expect(performance.now() - acquiredAt).toBeGreaterThan(ttlMs);
        expect(renewed.signal.aborted).toBe(false);
        expect(await sem.tryAcquire()).toBeUndefined();
        expect(await lapsed.release()).toBe(false);
        expect(await renewed.release()).toBe(true);
      });

      it('read-write lock: readers share, a writer excludes, and a waiting writer is not starved', async () => {
        const rw = sut().locks.readWriteLock('doc');
        const peerRw = sut().peer.readWriteLock('doc');
        // A writer excludes readers and other writers, on either service (nobody queues here, so
        // a refusal is the writer's doing, not fairness).
        const alone = await rw.write.acquire();
        expect(await peerRw.read.tryAcquire()).toBeUndefined();
        expect(await rw.read.tryAcquire()).toBeUndefined();
        expect(await peerRw.write.tryAcquire()).toBeUndefined();
        await alone.release();

        const r1 = await rw.read.acquire();
        const r2 = await peerRw.read.acquire();
        // Readers exclude a writer.
        expect(await rw.write.tryAcquire()).toBeUndefined();
        const events: string[] = [];
        const peerContended = await contendedCount(sut().peer);
        const writer = peerRw.write.acquire({ waitMs: 10_000 }).then(async (w) => {
          events.push('write');
          await w.release();
        });
        await waitFor(async () => (await contendedCount(sut().peer)) > peerContended, {
          message: 'the writer to queue',
        });
        // A reader arriving after the writer queues behind it, though only readers hold the lock.
        const contended = await contendedCount(sut().locks);
        const lateReader = rw.read.acquire({ waitMs: 10_000 }).then(async (r) => {
          events.push('late read');
          await r.release();
        });
        await waitFor(async () => (await contendedCount(sut().locks)) > contended, {
          message: 'the late reader to queue',
        });
        expect(events).toEqual([]);
        await r1.release();
        await r2.release();
        await Promise.all([writer, lateReader]);
        expect(events).toEqual(['write', 'late read']);
      });

      it('fair: 20 waiters are granted in arrival order, each by push hand-off', async () => {
        const holder = await sut().locks.acquire('f', { ttlMs: 20_000 });
        const grants = [waiterEvents(sut().locks), waiterEvents(sut().peer)];
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
        // One grant per waiter (on the memory store both services share one store and one record).
        const granted = new Set(grants.flat().filter((e) => e.type === 'grant'));
        expect(granted.size).toBe(20);
      });

      it('a fair waiter that times out does not strand the one behind it', async () => {
        const holder = await sut().locks.acquire('s', { ttlMs: 20_000 });
        const events = waiterEvents(sut().peer);
        const contended = await contendedCount(sut().peer);
        // Both waiters' timeouts are frozen: the early one's is fired by hand once its waitMs
        // has passed; the late one's re-check never fires, so only a hand-off gets it the lock
        // (a stranded waiter would need that re-check, and the early waiter's queue lease to end).
        const frozen = freezeTimeouts();
        try {
          const earlyStarted = performance.now();
          const early = sut()
            .peer.acquire('s', { fair: true, waitMs: 100 })
            .catch((e: unknown) => e);
          await waitFor(async () => (await contendedCount(sut().peer)) > contended, {
            message: 'the early waiter to queue',
          });
          const late = sut().peer.acquire('s', { fair: true, waitMs: 10_000 });
          await waitFor(async () => (await contendedCount(sut().peer)) > contended + 1, {
            message: 'the late waiter to queue',
          });
          await waitFor(() => performance.now() > earlyStarted + 150, {
            message: "the early waiter's waitMs to pass",
          });
          frozen.advance(150); // the early waiter's sleep (≤ 100 ms) ends, the late one's does not
          expect(isLockTimeoutError(await settlesWithin(early, 5_000, 'the early timeout'))).toBe(
            true,
          );
          await holder.release();
          const lock = await settlesWithin(late, 5_000, 'the hand-off to the late waiter');
          expect(events.map((e) => e.type)).toContain('grant');
          await lock.release();
        } finally {
          frozen.thaw();
        }
      });
    }
  },
);
