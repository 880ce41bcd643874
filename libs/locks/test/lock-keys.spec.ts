import { expect, it } from '@jest/globals';
import { escapeKeyValue, isKeelError } from '@keel/core';
import { isInvalidLockKeyError } from '@keel/locks';
import { describeStoreContract } from '../../../test/support/store-contract.js';
import { implementations, type ServiceUnderTest } from './support.js';

/**
 * Every store wraps a lock key in one `{hash tag}` so that all of a lock's Redis keys share a
 * Cluster slot; a `{` or `}` in the key would move that tag. LockService refuses such keys on
 * every entry point and every store, so a key behaves the same in memory and on Redis.
 */
describeStoreContract<ServiceUnderTest>(
  'LockService keys',
  implementations(() => []).filter((impl) => impl.name !== 'quorum'),
  (sut) => {
    const BAD_KEYS = ['}', 'order:}1', '{order}:1', 'a{b', 'x}y{z'];

    const expectRefused = (error: unknown, key: string) => {
      expect(isInvalidLockKeyError(error)).toBe(true);
      expect(isKeelError(error) && error.code).toBe('KEEL_LOCK_KEY_INVALID');
      expect((error as Error).message).toContain(`'${key}'`);
      expect((error as Error).message).toMatch(/hash tag.*escapeKeyValue\(\)/s);
    };
    const refusal = (run: () => unknown) =>
      Promise.resolve()
        .then(run)
        .then(
          () => undefined,
          (e: unknown) => e,
        );

    it('acquire, tryAcquire and using refuse a key with { or }', async () => {
      const { locks } = sut();
      for (const key of BAD_KEYS) {
        expectRefused(await refusal(() => locks.acquire(key)), key);
        expectRefused(await refusal(() => locks.tryAcquire(key)), key);
        let ran = false;
        expectRefused(
          await refusal(() =>
            locks.using(key, () => {
              ran = true;
            }),
          ),
          key,
        );
        expect(ran).toBe(false);
      }
      expect(locks.heldCount).toBe(0);
    });

    it('acquireMany and usingMany refuse the whole set before taking any key', async () => {
      const { locks, peer } = sut();
      expectRefused(await refusal(() => locks.acquireMany(['a', 'b}', 'c'])), 'b}');
      expectRefused(await refusal(() => locks.usingMany(['a', '{c'], {}, () => 1)), '{c');
      // 'a' sorts first: had it been taken, the peer would find it held.
      const a = await peer.tryAcquire('a');
      expect(a).toBeDefined();
      await a!.release();
      expect(locks.heldCount).toBe(0);
    });

    it('semaphores and read-write locks refuse such a key when they are created', () => {
      const { locks } = sut();
      for (const key of BAD_KEYS) {
        expectRefused(
          (() => {
            try {
              locks.semaphore(key, 2);
            } catch (e) {
              return e;
            }
          })(),
          key,
        );
        expectRefused(
          (() => {
            try {
              locks.readWriteLock(key);
            } catch (e) {
              return e;
            }
          })(),
          key,
        );
      }
    });

    it('refuses a semaphore without a whole, positive number of permits, with a Keel code', () => {
      for (const permits of [0, -1, 1.5, Number.NaN]) {
        let error: unknown;
        try {
          sut().locks.semaphore('permits', permits);
        } catch (e) {
          error = e;
        }
        expect(isKeelError(error) && error.code).toBe('KEEL_INVALID_ARGUMENT');
        expect(isKeelError(error) && error.status).toBe(500);
        expect((error as Error).message).toContain('permits');
      }
    });

    it('refuses an empty key with the same error', async () => {
      const error = await refusal(() => sut().locks.acquire(''));
      expect(isInvalidLockKeyError(error)).toBe(true);
      expect((error as Error).message).toMatch(/non-empty string/);
    });

    it('takes the escaped form of such a value, which keeps keys apart', async () => {
      const { locks, peer } = sut();
      const keys = BAD_KEYS.map((value) => `order:${escapeKeyValue(value)}`);
      expect(new Set(keys).size).toBe(BAD_KEYS.length);
      for (const key of keys) expect(key).not.toMatch(/[{}]/);
      const group = await locks.acquireMany(keys);
      for (const key of keys) expect(await peer.tryAcquire(key)).toBeUndefined();
      const permit = await locks.semaphore(keys[0], 1).acquire();
      expect(await peer.semaphore(keys[0], 1).tryAcquire()).toBeUndefined();
      expect(await group.release()).toBe(true);
      await permit.release();
    });
  },
);
