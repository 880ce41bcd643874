import { GcraBuckets, nowMicros, type GcraDecision } from '../gcra.js';
import type { RateLimitRequest, RateLimitStore } from './rate-limit.store.js';

/**
 * The embedded rate-limit store: buckets in this process (one process is the whole fleet). Keeps
 * one {@link GcraBuckets} per distinct limit, so two limits sharing a bucket name with different
 * rates cannot corrupt each other.
 * @internal
 */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly kind = 'memory';
  private readonly limits = new Map<string, GcraBuckets>();

  constructor(private readonly clock: () => number = nowMicros) {}

  take(request: RateLimitRequest): Promise<GcraDecision> {
    const id = `${request.intervalUs}/${request.toleranceUs}`;
    let buckets = this.limits.get(id);
    if (buckets === undefined) {
      buckets = new GcraBuckets(request);
      this.limits.set(id, buckets);
    }
    return Promise.resolve(buckets.decide(request.bucket, this.clock(), request.maxWaitUs));
  }
}
