import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { GcraBuckets, gcraDecide, gcraParams } from './gcra.js';

/** Most calls allowed in any window of `windowUs` (half-open) among sorted times. */
function maxInWindow(times: readonly number[], windowUs: number): number {
  let best = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while (times[end]! - times[start]! >= windowUs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

describe('GCRA', () => {
  it('spaces calls perMs / limit apart with burst 0', () => {
    const params = gcraParams(10, 1000, 0);
    expect(params).toEqual({ intervalUs: 100_000, toleranceUs: 0 });
    const first = gcraDecide(params, 0, 1_000_000, 0);
    expect(first.decision).toMatchObject({ allowed: true, delayUs: 0, remaining: 0 });
    const second = gcraDecide(params, first.tat, 1_050_000, 0);
    expect(second.decision).toMatchObject({ allowed: false, delayUs: 50_000, remaining: 0 });
    expect(second.tat).toBe(first.tat);
    expect(gcraDecide(params, first.tat, 1_100_000, 0).decision.allowed).toBe(true);
  });

  it('lets burst + 1 calls through at once and counts down remaining', () => {
    const buckets = new GcraBuckets(gcraParams(10, 1000, 3));
    const remaining = [0, 1, 2, 3, 4].map((i) => buckets.decide('k', 5_000_000 + i, 0));
    expect(remaining.map((d) => d.allowed)).toEqual([true, true, true, true, false]);
    expect(remaining.slice(0, 4).map((d) => d.remaining)).toEqual([3, 2, 1, 0]);
    expect(remaining[4]!.delayUs).toBeGreaterThan(90_000);
  });

  it('in wait mode reserves later turns, one interval apart, up to maxWait', () => {
    const buckets = new GcraBuckets(gcraParams(100, 1000, 0));
    const delays = Array.from({ length: 6 }, () => buckets.decide('k', 0, 40_000));
    expect(delays.map((d) => d.allowed)).toEqual([true, true, true, true, true, false]);
    expect(delays.slice(0, 5).map((d) => d.delayUs)).toEqual([0, 10_000, 20_000, 30_000, 40_000]);
  });

  it('keeps buckets apart by key', () => {
    const buckets = new GcraBuckets(gcraParams(1, 1000, 0));
    expect(buckets.decide('a', 0, 0).allowed).toBe(true);
    expect(buckets.decide('b', 0, 0).allowed).toBe(true);
    expect(buckets.decide('a', 1, 0).allowed).toBe(false);
  });

  it('drops buckets whose time has passed, so per-client limits stay bounded', () => {
    const buckets = new GcraBuckets(gcraParams(1, 1, 0));
    for (let i = 0; i < 5000; i++) buckets.decide(`client-${i}`, i * 10_000, 0);
    expect(buckets.size).toBeLessThan(1000);
  });

  it('never allows more than limit + burst in any sliding window (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: 10 }),
        fc.array(fc.integer({ min: 0, max: 5_000_000 }), { minLength: 1, maxLength: 400 }),
        fc.boolean(),
        (limit, burst, rawTimes, wait) => {
          const perMs = 1000;
          const buckets = new GcraBuckets(gcraParams(limit, perMs, burst));
          const allowedAt: number[] = [];
          for (const now of [...rawTimes].sort((a, b) => a - b)) {
            const decision = buckets.decide('k', now, wait ? 2_000_000 : 0);
            if (decision.allowed) allowedAt.push(now + decision.delayUs);
          }
          allowedAt.sort((a, b) => a - b);
          // Rounding of the interval to whole µs may shift a window edge by < 1 µs per call.
          expect(maxInWindow(allowedAt, perMs * 1000 - 400)).toBeLessThanOrEqual(limit + burst);
        },
      ),
    );
  });
});
