import { expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import {
  MemoryBulkheadSlotStore,
  RedisBulkheadSlotStore,
  type BulkheadSlotStore,
} from '@keel/coordination/internal';
import { redisUrl, uniquePrefix } from '../../../test/support/services.js';
import { describeStoreContract } from '../../../test/support/store-contract.js';
import { waitFor } from '../../../test/support/wait-for.js';

const clients = new Map<BulkheadSlotStore, Redis>();

describeStoreContract<BulkheadSlotStore>(
  'BulkheadSlotStore',
  [
    { name: 'memory', create: () => new MemoryBulkheadSlotStore() },
    {
      name: 'redis',
      create: () => {
        const client = new Redis(redisUrl());
        const store = new RedisBulkheadSlotStore({
          client,
          keyPrefix: `${uniquePrefix('bulkhead-slots')}:`,
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
    const slot = (holder: string, limit = 2, leaseMs = 30_000, name = 'imports') => ({
      name,
      holder,
      limit,
      leaseMs,
    });

    it('grants up to the limit and refuses the next', async () => {
      expect(await store().acquire(slot('a'))).toBe(true);
      expect(await store().acquire(slot('b'))).toBe(true);
      expect(await store().acquire(slot('c'))).toBe(false);
    });

    it('frees a released slot for the next holder', async () => {
      expect(await store().acquire(slot('a', 1))).toBe(true);
      expect(await store().acquire(slot('b', 1))).toBe(false);
      await store().release('imports', 'a');
      expect(await store().acquire(slot('b', 1))).toBe(true);
    });

    it('counts each bulkhead on its own', async () => {
      expect(await store().acquire(slot('a', 1, 30_000, 'imports'))).toBe(true);
      expect(await store().acquire(slot('b', 1, 30_000, 'exports'))).toBe(true);
      expect(await store().acquire(slot('c', 1, 30_000, 'imports'))).toBe(false);
    });

    it("frees a holder's slot when its lease runs out (a crashed replica)", async () => {
      expect(await store().acquire(slot('crashed', 1, 100))).toBe(true);
      expect(await store().acquire(slot('waiting', 1))).toBe(false);
      await waitFor(() => store().acquire(slot('waiting', 1)), {
        timeoutMs: 5_000,
        message: 'the expired lease to free its slot',
      });
    });

    it('renews only leases still held: a released holder stays gone', async () => {
      expect(await store().acquire(slot('a', 1))).toBe(true);
      await store().release('imports', 'a');
      await store().renew({ name: 'imports', holders: ['a'], leaseMs: 30_000 });
      expect(await store().acquire(slot('b', 1))).toBe(true);
    });
  },
);
