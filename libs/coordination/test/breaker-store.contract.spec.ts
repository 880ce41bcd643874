import { expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import {
  MemoryBreakerStore,
  RedisBreakerStore,
  type BreakerStateMessage,
  type BreakerStore,
  type SharedBreakerPolicy,
} from '@keel/coordination';
import { redisUrl, uniquePrefix } from '../../../test/support/services.js';
import { describeStoreContract } from '../../../test/support/store-contract.js';
import { waitFor } from '../../../test/support/wait-for.js';

const clients = new Map<BreakerStore, Redis[]>();

const policy: SharedBreakerPolicy = {
  slidingWindow: 'count',
  windowSize: 10,
  minimumCalls: 4,
  failureRateThreshold: 50,
  slowCallRateThreshold: 100,
  consecutiveFailures: 0,
  // Short: no assertion here depends on its length, only on the period being over or not.
  openDurationMs: 50,
  halfOpenProbes: 2,
  probeTimeoutMs: 30_000,
};
/** For assertions that need the breaker still open when the next call reaches the store. */
const longOpen: SharedBreakerPolicy = { ...policy, openDurationMs: 60_000 };
const ok = (calls: number) => ({
  calls,
  failures: 0,
  slow: 0,
  trailingFailures: 0,
  hadSuccess: calls > 0,
});
const failed = (calls: number) => ({
  calls,
  failures: calls,
  slow: 0,
  trailingFailures: calls,
  hadSuccess: false,
});

describeStoreContract<BreakerStore>(
  'BreakerStore',
  [
    { name: 'memory', create: () => new MemoryBreakerStore(), destroy: (s) => s.close() },
    {
      name: 'redis',
      create: () => {
        const client = new Redis(redisUrl());
        const subscriber = new Redis(redisUrl());
        const store = new RedisBreakerStore({
          client,
          subscriber: () => subscriber,
          keyPrefix: `${uniquePrefix('breaker')}:`,
          serviceName: 'contract',
        });
        clients.set(store, [client, subscriber]);
        return store;
      },
      destroy: async (store) => {
        await store.close();
        for (const c of clients.get(store) ?? []) c.disconnect();
        clients.delete(store);
      },
    },
  ],
  (store) => {
    /** Waits until `name`'s open period is over (the store reports none of it left). */
    const openPeriodOver = (name: string) =>
      waitFor(async () => (await store().read(name)).remainingOpenMs === 0, {
        intervalMs: 10,
        message: `the open period of '${name}' to end`,
      });

    it('a breaker nobody wrote is closed', async () => {
      await expect(store().read('fresh')).resolves.toMatchObject({
        state: 'closed',
        version: 0,
        probes: 0,
      });
    });

    it('opens when the failure rate reaches the threshold after minimumCalls', async () => {
      await expect(store().record('b', policy, failed(3))).resolves.toMatchObject({
        state: 'closed',
      });
      const opened = await store().record('b', policy, ok(1));
      expect(opened.state).toBe('open'); // 3 of 4 failed
      expect(opened.remainingOpenMs).toBeGreaterThan(0);
      expect(opened.remainingOpenMs).toBeLessThanOrEqual(policy.openDurationMs);
      expect(opened.version).toBe(1);
    });

    it('keeps a count window of windowSize calls across batches', async () => {
      const s = await store().record('w2', policy, ok(8));
      expect(s.state).toBe('closed');
      await store().record('w2', policy, failed(3)); // window: 7 ok + 3 failed → 30 %
      await expect(store().read('w2')).resolves.toMatchObject({ state: 'closed' });
      await expect(store().record('w2', policy, failed(2))).resolves.toMatchObject({
        state: 'open',
      }); // 5 of 10
    });

    it('time window: counts the calls of the last windowSize seconds', async () => {
      const time = { ...policy, slidingWindow: 'time' as const, windowSize: 60 };
      await store().record('t', time, ok(2));
      await expect(store().record('t', time, failed(1))).resolves.toMatchObject({
        state: 'closed',
      });
      await expect(store().record('t', time, failed(1))).resolves.toMatchObject({ state: 'open' });
    });

    it('consecutive failures across batches', async () => {
      const consecutive = { ...policy, minimumCalls: 1_000, consecutiveFailures: 5 };
      await store().record('c', consecutive, {
        calls: 4,
        failures: 3,
        slow: 0,
        trailingFailures: 3,
        hadSuccess: true,
      });
      await expect(store().record('c', consecutive, failed(1))).resolves.toMatchObject({
        state: 'closed',
      });
      await expect(store().record('c', consecutive, failed(1))).resolves.toMatchObject({
        state: 'open',
      });
    });

    it('slow-call rate', async () => {
      const slow = { ...policy, slowCallRateThreshold: 50 };
      await expect(store().record('s', slow, { ...ok(4), slow: 2 })).resolves.toMatchObject({
        state: 'open',
      });
    });

    it('rejects probes while open, then admits exactly halfOpenProbes', async () => {
      // A long open period where the assertion needs the breaker still open: 50 ms can be over
      // before the next round trip on a loaded machine.
      await store().record('p-long', longOpen, failed(4));
      await expect(store().acquireProbe('p-long', longOpen)).resolves.toMatchObject({
        permit: 'rejected',
      });
      await store().record('p', policy, failed(4));
      await openPeriodOver('p');
      const grants = await Promise.all(
        Array.from({ length: 6 }, () => store().acquireProbe('p', policy)),
      );
      expect(grants.filter((g) => g.permit === 'probe')).toHaveLength(2);
      expect(grants.filter((g) => g.permit === 'rejected')).toHaveLength(4);
      expect(grants[grants.length - 1].snapshot).toMatchObject({ state: 'half-open', probes: 2 });
    });

    it('closes after every probe succeeds; a failed probe re-opens', async () => {
      await store().record('h', policy, failed(4));
      await openPeriodOver('h');
      const a = await store().acquireProbe('h', policy);
      await store().acquireProbe('h', policy);
      await expect(
        store().reportProbe('h', policy, a.snapshot.version, 'success'),
      ).resolves.toMatchObject({ state: 'half-open' });
      await expect(
        store().reportProbe('h', policy, a.snapshot.version, 'success'),
      ).resolves.toMatchObject({ state: 'closed' });
      await store().record('h', policy, failed(4));
      await openPeriodOver('h');
      const b = await store().acquireProbe('h', policy);
      await expect(
        store().reportProbe('h', policy, b.snapshot.version, 'failure'),
      ).resolves.toMatchObject({ state: 'open' });
      // A report from an earlier half-open period is ignored.
      await expect(
        store().reportProbe('h', policy, a.snapshot.version, 'success'),
      ).resolves.toMatchObject({ state: 'open' });
    });

    it('an ignored probe gives its slot back', async () => {
      const one = { ...policy, halfOpenProbes: 1 };
      await store().record('i', one, failed(4));
      await openPeriodOver('i');
      const g = await store().acquireProbe('i', one);
      await expect(store().acquireProbe('i', one)).resolves.toMatchObject({ permit: 'rejected' });
      await store().reportProbe('i', one, g.snapshot.version, 'ignored');
      await expect(store().acquireProbe('i', one)).resolves.toMatchObject({ permit: 'probe' });
    });

    it('outcomes recorded while open are ignored', async () => {
      await store().record('o', longOpen, failed(4));
      await expect(store().record('o', longOpen, ok(100))).resolves.toMatchObject({
        state: 'open',
      });
    });

    it('isolate holds the breaker open past its open period; reset closes it', async () => {
      await expect(store().isolate('x')).resolves.toMatchObject({ state: 'isolated' });
      // A breaker opened at the same moment has gone through its whole open period.
      await store().record('x-opened', policy, failed(4));
      await openPeriodOver('x-opened');
      await expect(store().acquireProbe('x-opened', policy)).resolves.toMatchObject({
        permit: 'probe',
      });
      await expect(store().acquireProbe('x', policy)).resolves.toMatchObject({
        permit: 'rejected',
      });
      await expect(store().reset('x')).resolves.toMatchObject({ state: 'closed' });
      await expect(store().acquireProbe('x', policy)).resolves.toMatchObject({ permit: 'call' });
    });

    it('pushes every transition to subscribers', async () => {
      const messages: BreakerStateMessage[] = [];
      await store().subscribe((m) => messages.push(m));
      await store().record('n', policy, failed(4));
      await store().isolate('n');
      await store().reset('n');
      await waitFor(() => messages.length >= 3, {
        timeoutMs: 5_000,
        message: 'three state messages',
      });
      expect(messages.map((m) => `${m.name}:${m.snapshot.state}:${m.snapshot.version}`)).toEqual([
        'n:open:1',
        'n:isolated:2',
        'n:closed:3',
      ]);
    });
  },
);
