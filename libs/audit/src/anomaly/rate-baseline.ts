/**
 * A rolling per-key rate baseline: events are counted per fixed bucket; when a bucket closes,
 * its count updates an exponentially weighted mean and variance (West's EWMA variance). A bucket
 * is a spike when it reaches `minEvents` and its z-score against the baseline is at least
 * `zScore`. Only closed buckets teach the baseline, and none fires before `warmupBuckets`
 * buckets were seen, so a new actor's first burst is not judged against nothing.
 * @internal
 */
export class RateBaseline {
  private readonly keys = new Map<string, KeyState>();

  constructor(private readonly options: RateBaselineOptions) {}

  /** Counts one event; returns the spike measurements when this event makes its bucket one. */
  observe(key: string, at: number): Spike | undefined {
    const bucket = Math.floor(at / this.options.bucketMs);
    let state = this.keys.get(key);
    if (state === undefined) {
      state = { bucket, count: 0, mean: 0, variance: 0, seen: 0, fired: false };
      this.keys.set(key, state);
    }
    if (bucket > state.bucket) this.close(state, bucket);
    state.count += 1;
    if (
      state.fired ||
      state.seen < this.options.warmupBuckets ||
      state.count < this.options.minEvents
    ) {
      return undefined;
    }
    const deviation = Math.sqrt(Math.max(state.variance, 1));
    const z = (state.count - state.mean) / deviation;
    if (z < this.options.zScore) return undefined;
    state.fired = true;
    return { count: state.count, mean: state.mean, z };
  }

  private close(state: KeyState, bucket: number): void {
    const { alpha } = this.options;
    // Buckets with no events in between count as zeros.
    const gaps = Math.min(bucket - state.bucket - 1, 100);
    for (let i = -1; i < gaps; i++) {
      const x = i === -1 ? state.count : 0;
      const diff = x - state.mean;
      const increment = alpha * diff;
      state.mean += increment;
      state.variance = (1 - alpha) * (state.variance + diff * increment);
      state.seen += 1;
    }
    state.bucket = bucket;
    state.count = 0;
    state.fired = false;
  }
}

/** @internal */
export interface RateBaselineOptions {
  readonly bucketMs: number;
  readonly alpha: number;
  readonly zScore: number;
  readonly minEvents: number;
  readonly warmupBuckets: number;
}

/** @internal */
export interface Spike {
  readonly count: number;
  readonly mean: number;
  readonly z: number;
}

interface KeyState {
  bucket: number;
  count: number;
  mean: number;
  variance: number;
  seen: number;
  fired: boolean;
}
