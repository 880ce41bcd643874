import { expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import {
  MemoryRateLimitStore,
  RedisRateLimitStore,
  gcraParams,
  type RateLimitStore,
} from '@keel/coordination/internal';
import { redisUrl, uniquePrefix } from '../../../test/support/services.js';
import { describeStoreContract } from '../../../test/support/store-contract.js';

const clients = new Map<RateLimitStore, Redis>();

describeStoreContract<RateLimitStore>(
  'RateLimitStore',
  [
    { name: 'memory', create: () => new MemoryRateLimitStore() },
    {
      name: 'redis',
      create: () => {
        const client = new Redis(redisUrl());
        const store = new RedisRateLimitStore({
          client,
          keyPrefix: `${uniquePrefix('rate-limit')}:`,
          serviceName: 'contract',
        });
        clients.set(store, client);
        return store;
      },
      destroy: async (store) => {
        await clients.get(store)?.quit();
        clients.delete(store);
      },
    },
  ],
  (store) => {
    // One call a minute plus a burst of 2: three at once, then nothing for 20 s.
    const params = gcraParams(3, 60_000, 2);
    const take = (bucket = 'psp', maxWaitUs = 0) => store().take({ ...params, bucket, maxWaitUs });

    it('allows burst + 1 at once, counting remaining down, then refuses with the wait', async () => {
      const decisions = [await take(), await take(), await take(), await take()];
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
      expect(decisions.slice(0, 3).map((d) => d.remaining)).toEqual([2, 1, 0]);
      expect(decisions.every((d) => d.delayUs >= 0)).toBe(true);
      const refused = decisions[3]!;
      expect(refused.remaining).toBe(0);
      // The next turn is one interval (20 s) after the first call, less the time since.
      expect(refused.delayUs).toBeGreaterThan(19_000_000);
      expect(refused.delayUs).toBeLessThanOrEqual(20_000_000);
      expect(refused.resetUs).toBeGreaterThan(59_000_000);
    });

    it('reports its clock in epoch microseconds', async () => {
      const { nowUs } = await take();
      expect(Math.abs(nowUs / 1000 - Date.now())).toBeLessThan(5_000);
    });

    it('reserves later turns up to maxWaitUs, one interval apart', async () => {
      const wait = 50_000_000;
      const decisions = [];
      for (let i = 0; i < 6; i++) decisions.push(await take('queued', wait));
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, false]);
      const delays = decisions.slice(3, 5).map((d) => d.delayUs / 1_000_000);
      expect(delays[0]).toBeCloseTo(20, 0);
      expect(delays[1]).toBeCloseTo(40, 0);
    });

    it('keeps buckets apart', async () => {
      for (let i = 0; i < 3; i++) await take('a');
      expect((await take('a')).allowed).toBe(false);
      expect((await take('b')).allowed).toBe(true);
    });

    it('decides concurrent calls one at a time (no lost update)', async () => {
      const decisions = await Promise.all(Array.from({ length: 20 }, () => take('race')));
      expect(decisions.filter((d) => d.allowed)).toHaveLength(3);
    });
  },
);
