import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { BulkheadRejectedError } from '../coordination.errors.js';
import { LocalBulkhead } from './local-bulkhead.js';

describe('LocalBulkhead', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('admits maxConcurrent calls, queues maxQueue, rejects the rest as full', async () => {
    const b = new LocalBulkhead({
      name: 'b',
      maxConcurrent: 2,
      maxQueue: 1,
      queueTimeoutMs: 1_000,
    });
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false);
    const queued = b.wait();
    await expect(b.wait()).rejects.toMatchObject({
      code: 'KEEL_BULKHEAD_REJECTED',
      reason: 'full',
    });
    b.release(); // hands the slot to the queued call
    await expect(queued).resolves.toBeUndefined();
    expect(b.active).toBe(2);
    b.release();
    b.release();
    expect(b.active).toBe(0);
    expect(b.rejectedFull).toBe(1);
  });

  it('rejects a queued call after queueTimeoutMs and forgets it', async () => {
    const b = new LocalBulkhead({ name: 'b', maxConcurrent: 1, maxQueue: 5, queueTimeoutMs: 200 });
    b.tryAcquire();
    const waiting = b.wait().catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(199);
    expect(b.queued).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    const error = await waiting;
    expect(error).toBeInstanceOf(BulkheadRejectedError);
    expect(error).toMatchObject({ reason: 'queue-timeout', retryAfterMs: 200 });
    expect(b.queued).toBe(0);
    b.release();
    expect(b.active).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('serves the queue first in, first out', async () => {
    const b = new LocalBulkhead({
      name: 'b',
      maxConcurrent: 1,
      maxQueue: 3,
      queueTimeoutMs: 1_000,
    });
    b.tryAcquire();
    const order: number[] = [];
    const waits = [1, 2, 3].map((i) => b.wait().then(() => order.push(i)));
    b.release();
    b.release();
    b.release();
    await Promise.all(waits);
    expect(order).toEqual([1, 2, 3]);
  });
});
