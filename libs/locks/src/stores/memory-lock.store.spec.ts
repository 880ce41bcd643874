import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { MemoryLockStore } from './memory-lock.store.js';
import { QUEUE_LEASE_MS, type WaiterEvent } from './lock.store.js';

const free = { fair: false, enqueue: false };
const fairQueued = { fair: true, enqueue: true };

describe('MemoryLockStore (fake timers)', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 1_700_000_000_000 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('expires a hold after its TTL, and the next fence is higher', async () => {
    const store = new MemoryLockStore();
    const first = await store.tryAcquire('k', 'a.1', 1_000, free);
    expect(first.acquired).toBe(true);
    jest.advanceTimersByTime(999);
    expect(await store.tryAcquire('k', 'b.1', 1_000, free)).toEqual({
      acquired: false,
      retryAfterMs: 1,
    });
    jest.advanceTimersByTime(1);
    const second = await store.tryAcquire('k', 'b.1', 1_000, free);
    expect(second.acquired && first.acquired && second.fence > first.fence).toBe(true);
    expect(await store.release('k', 'a.1', first.acquired ? first.fence : 0)).toBe(false);
    expect(await store.holder('k')).toBe('b.1');
  });

  it('fences use the clock as a floor, so they never fall behind time', async () => {
    const store = new MemoryLockStore();
    const result = await store.tryAcquire('k', 'a.1', 1_000, free);
    expect(result.acquired && result.fence).toBe(1_700_000_000_000 * 1_000);
  });

  it('hands a released lock straight to the first fair waiter', async () => {
    const store = new MemoryLockStore();
    const held = await store.tryAcquire('k', 'a.1', 1_000, free);
    const events: WaiterEvent[] = [];
    store.listen('b.1', (e) => events.push(e));
    expect((await store.tryAcquire('k', 'b.1', 2_000, fairQueued)).acquired).toBe(false);
    expect((await store.tryAcquire('k', 'c.1', 2_000, fairQueued)).acquired).toBe(false);
    await store.release('k', 'a.1', held.acquired ? held.fence : 0);
    await Promise.resolve();
    expect(events).toEqual([{ type: 'grant', fence: expect.any(Number), ttlMs: 2_000 }]);
    expect(await store.holder('k')).toBe('b.1');
    // A newcomer cannot jump the queue while c.1 waits.
    await store.release('k', 'b.1', (events[0] as { fence: number }).fence);
    expect(await store.holder('k')).toBe('c.1');
  });

  it('drops a waiter whose queue lease ran out, so a dead waiter cannot wedge a fair queue', async () => {
    const store = new MemoryLockStore();
    const held = await store.tryAcquire('k', 'a.1', 60_000, free);
    await store.tryAcquire('k', 'dead.1', 1_000, fairQueued);
    jest.advanceTimersByTime(QUEUE_LEASE_MS / 2);
    await store.tryAcquire('k', 'live.1', 1_000, fairQueued);
    jest.advanceTimersByTime(QUEUE_LEASE_MS / 2 + 1);
    await store.release('k', 'a.1', held.acquired ? held.fence : 0);
    expect(await store.holder('k')).toBe('live.1');
  });

  it('records wait-for edges with an expiry', async () => {
    const store = new MemoryLockStore();
    await store.setWaitsFor('c1', 'k', 500);
    expect(await store.waitsFor('c1')).toBe('k');
    jest.advanceTimersByTime(501);
    expect(await store.waitsFor('c1')).toBeUndefined();
  });
});
