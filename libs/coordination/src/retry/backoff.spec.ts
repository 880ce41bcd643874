import { describe, expect, it } from '@jest/globals';
import { nextDelay } from './backoff.js';

describe('backoff', () => {
  it('constant waits the same every time', () => {
    const s = { kind: 'constant', delayMs: 50, maxDelayMs: 1_000, factor: 2 } as const;
    expect([1, 2, 3].map((a) => nextDelay(s, { attempt: a, previous: 50 }))).toEqual([50, 50, 50]);
  });

  it('exponential grows by the factor and is capped', () => {
    const s = { kind: 'exponential', delayMs: 100, maxDelayMs: 1_000, factor: 3 } as const;
    expect([1, 2, 3, 4, 5].map((a) => nextDelay(s, { attempt: a, previous: 0 }))).toEqual([
      100, 300, 900, 1_000, 1_000,
    ]);
  });

  it('decorrelated jitter stays within [base, min(cap, 3 × previous)]', () => {
    const s = { kind: 'decorrelated-jitter', delayMs: 10, maxDelayMs: 500, factor: 2 } as const;
    let previous = 10;
    for (let attempt = 1; attempt < 200; attempt++) {
      const d = nextDelay(s, { attempt, previous });
      expect(d).toBeGreaterThanOrEqual(10);
      expect(d).toBeLessThanOrEqual(Math.min(500, previous * 3));
      previous = d;
    }
    expect(nextDelay(s, { attempt: 1, previous: 10 }, () => 0)).toBe(10);
    expect(nextDelay(s, { attempt: 1, previous: 100 }, () => 1)).toBe(300);
    expect(nextDelay(s, { attempt: 1, previous: 400 }, () => 1)).toBe(500);
  });
});
