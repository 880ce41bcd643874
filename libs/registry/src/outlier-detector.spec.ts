import { describe, expect, it } from '@jest/globals';
import { OutlierDetector } from './outlier-detector.js';

describe('OutlierDetector', () => {
  const make = () => {
    let now = 1_000;
    const detector = new OutlierDetector(
      { failures: 3, windowMs: 1_000, ejectMs: 500, maxEjectMs: 1_500 },
      () => now,
    );
    return { detector, advance: (ms: number) => (now += ms), now: () => now };
  };

  it('ejects after N failures within the window, not after one', () => {
    const { detector } = make();
    expect(detector.record('a', false)).toBe(false);
    expect(detector.isEjected('a')).toBe(false);
    expect(detector.record('a', false)).toBe(false);
    expect(detector.record('a', false)).toBe(true);
    expect(detector.isEjected('a')).toBe(true);
    expect(detector.isEjected('b')).toBe(false);
  });

  it('failures outside the window do not count', () => {
    const { detector, advance } = make();
    detector.record('a', false);
    detector.record('a', false);
    advance(1_500);
    expect(detector.record('a', false)).toBe(false);
  });

  it('the back-off doubles on repeated ejection and is capped', () => {
    const { detector, advance, now } = make();
    for (let i = 0; i < 3; i++) detector.record('a', false);
    expect(detector.nextExpiry()).toBe(now() + 500);
    advance(500);
    expect(detector.isEjected('a')).toBe(false);
    for (let i = 0; i < 3; i++) detector.record('a', false);
    expect(detector.nextExpiry()).toBe(now() + 1_000);
    advance(1_000);
    for (let i = 0; i < 3; i++) detector.record('a', false);
    expect(detector.nextExpiry()).toBe(now() + 1_500);
  });

  it('a success after the back-off resets the streak', () => {
    const { detector, advance, now } = make();
    for (let i = 0; i < 3; i++) detector.record('a', false);
    advance(500);
    detector.record('a', true);
    for (let i = 0; i < 3; i++) detector.record('a', false);
    expect(detector.nextExpiry()).toBe(now() + 500);
  });
});
