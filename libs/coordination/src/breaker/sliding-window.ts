/** Outcome bits of one call in a window. @internal */
export const FAILED = 1;
/** @internal */
export const SLOW = 2;

/** A breaker's sliding window of call outcomes. @internal */
export interface SlidingWindow {
  /** Adds one call (`outcome` is a combination of FAILED and SLOW, 0 for a fast success). */
  add(outcome: number, now: number): void;
  /** Brings totals up to date (the time window drops expired seconds). */
  refresh(now: number): void;
  readonly calls: number;
  readonly failures: number;
  readonly slow: number;
  reset(): void;
}

/** The last `size` calls, in a ring buffer: O(1) per call, no allocation. @internal */
export class CountWindow implements SlidingWindow {
  private readonly ring: Uint8Array;
  private next = 0;
  calls = 0;
  failures = 0;
  slow = 0;

  constructor(private readonly size: number) {
    this.ring = new Uint8Array(size);
  }

  add(outcome: number): void {
    if (this.calls === this.size) {
      const old = this.ring[this.next];
      if (old & FAILED) this.failures--;
      if (old & SLOW) this.slow--;
    } else {
      this.calls++;
    }
    this.ring[this.next] = outcome;
    if (outcome & FAILED) this.failures++;
    if (outcome & SLOW) this.slow++;
    this.next = this.next + 1 === this.size ? 0 : this.next + 1;
  }

  refresh(): void {}

  reset(): void {
    this.ring.fill(0);
    this.next = 0;
    this.calls = this.failures = this.slow = 0;
  }
}

/** The calls of the last `seconds` seconds, in one bucket per second. @internal */
export class TimeWindow implements SlidingWindow {
  private readonly epochs: Float64Array;
  private readonly bucketCalls: Uint32Array;
  private readonly bucketFailures: Uint32Array;
  private readonly bucketSlow: Uint32Array;
  calls = 0;
  failures = 0;
  slow = 0;

  constructor(private readonly seconds: number) {
    this.epochs = new Float64Array(seconds).fill(-1);
    this.bucketCalls = new Uint32Array(seconds);
    this.bucketFailures = new Uint32Array(seconds);
    this.bucketSlow = new Uint32Array(seconds);
  }

  add(outcome: number, now: number): void {
    const second = Math.floor(now / 1000);
    const i = second % this.seconds;
    if (this.epochs[i] !== second) {
      this.clear(i);
      this.epochs[i] = second;
    }
    this.bucketCalls[i]++;
    this.calls++;
    if (outcome & FAILED) {
      this.bucketFailures[i]++;
      this.failures++;
    }
    if (outcome & SLOW) {
      this.bucketSlow[i]++;
      this.slow++;
    }
  }

  refresh(now: number): void {
    const oldest = Math.floor(now / 1000) - this.seconds;
    for (let i = 0; i < this.seconds; i++) {
      if (this.epochs[i] !== -1 && this.epochs[i] <= oldest) this.clear(i);
    }
  }

  reset(): void {
    for (let i = 0; i < this.seconds; i++) this.clear(i);
  }

  private clear(i: number): void {
    this.calls -= this.bucketCalls[i];
    this.failures -= this.bucketFailures[i];
    this.slow -= this.bucketSlow[i];
    this.bucketCalls[i] = this.bucketFailures[i] = this.bucketSlow[i] = 0;
    this.epochs[i] = -1;
  }
}
