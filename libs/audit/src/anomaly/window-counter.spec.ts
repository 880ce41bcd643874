import { describe, expect, it } from '@jest/globals';
import {
  FallbackWindowCounter,
  MemoryWindowCounter,
  type WindowCounter,
} from './window-counter.js';

const WINDOW = 10_000; // sub-buckets of 1 000 ms

describe('MemoryWindowCounter', () => {
  it('counts the events of a key within the window', async () => {
    const counter = new MemoryWindowCounter();
    expect(await counter.add('alice', 100_000, WINDOW)).toBe(1);
    expect(await counter.add('alice', 100_500, WINDOW)).toBe(2);
    expect(await counter.add('alice', 105_000, WINDOW)).toBe(3);
  });

  it('keeps keys apart', async () => {
    const counter = new MemoryWindowCounter();
    await counter.add('alice', 100_000, WINDOW);
    await counter.add('alice', 100_001, WINDOW);
    expect(await counter.add('bob', 100_002, WINDOW)).toBe(1);
    expect(await counter.add('alice', 100_003, WINDOW)).toBe(3);
  });

  it('slides in tenths of the window: a sub-bucket drops out once ten newer ones began', async () => {
    const counter = new MemoryWindowCounter();
    await counter.add('k', 100_000, WINDOW); // bucket 100
    await counter.add('k', 101_000, WINDOW); // bucket 101
    // Bucket 109: 100 is still inside (109 - 10 = 99 < 100).
    expect(await counter.add('k', 109_999, WINDOW)).toBe(3);
    // Bucket 110: 100 drops out, 101 stays.
    expect(await counter.add('k', 110_000, WINDOW)).toBe(3);
    // Bucket 111: 101 drops out too.
    expect(await counter.add('k', 111_000, WINDOW)).toBe(3);
    // Far later: only the new event.
    expect(await counter.add('k', 500_000, WINDOW)).toBe(1);
  });

  it('uses sub-buckets of at least 1 ms for tiny windows', async () => {
    const counter = new MemoryWindowCounter();
    expect(await counter.add('k', 1_000, 5)).toBe(1);
    expect(await counter.add('k', 1_000, 5)).toBe(2);
    expect(await counter.add('k', 1_009, 5)).toBe(3);
    expect(await counter.add('k', 1_010, 5)).toBe(2);
  });
});

describe('FallbackWindowCounter', () => {
  /** A shared counter that fails while `failing` is set, and counts its calls. */
  function flakyShared(): WindowCounter & { failing: boolean; calls: number } {
    return {
      failing: false,
      calls: 0,
      async add() {
        this.calls += 1;
        if (this.failing) throw new Error('redis down');
        return 42;
      },
    };
  }

  it('answers with the shared counter while it works', async () => {
    const shared = flakyShared();
    const errors: unknown[] = [];
    const counter = new FallbackWindowCounter(shared, (e) => errors.push(e));
    expect(await counter.add('k', 1_000, WINDOW)).toBe(42);
    expect(shared.calls).toBe(1);
    expect(counter.fallbacks).toBe(0);
    expect(errors).toEqual([]);
  });

  it('counts locally while the shared counter fails, reporting each failure', async () => {
    const shared = flakyShared();
    shared.failing = true;
    const errors: unknown[] = [];
    const counter = new FallbackWindowCounter(shared, (e) => errors.push(e));
    expect(await counter.add('k', 1_000, WINDOW)).toBe(1);
    expect(await counter.add('k', 1_001, WINDOW)).toBe(2);
    expect(counter.fallbacks).toBe(2);
    expect(errors).toHaveLength(2);
    expect((errors[0] as Error).message).toBe('redis down');
    // Redis back: the shared answer again, the fallback count stays.
    shared.failing = false;
    expect(await counter.add('k', 1_002, WINDOW)).toBe(42);
    expect(counter.fallbacks).toBe(2);
    expect(shared.calls).toBe(3);
  });

  it('keeps the local counts across failures', async () => {
    const shared = flakyShared();
    const counter = new FallbackWindowCounter(shared, () => undefined);
    shared.failing = true;
    await counter.add('k', 1_000, WINDOW);
    shared.failing = false;
    await counter.add('k', 1_001, WINDOW);
    shared.failing = true;
    // The event counted by Redis in between is not in the local count.
    expect(await counter.add('k', 1_002, WINDOW)).toBe(2);
  });
});
