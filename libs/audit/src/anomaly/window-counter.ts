import { RedisScript, type KeelRedisClient } from '@keel/core';

/**
 * Counts events per key in a sliding window, cut into ten sub-buckets (so the window slides
 * in steps of a tenth of its length). The Redis counter shares the counts across replicas; the
 * memory one counts for this process only.
 * @internal
 */
export interface WindowCounter {
  /** Adds one event at `at` (epoch ms) and returns the count over the window ending at `at`. */
  add(key: string, at: number, windowMs: number): Promise<number>;
}

const SUB_BUCKETS = 10;

/** @internal */
export class MemoryWindowCounter implements WindowCounter {
  private readonly buckets = new Map<string, Map<number, number>>();

  async add(key: string, at: number, windowMs: number): Promise<number> {
    const width = Math.max(1, Math.floor(windowMs / SUB_BUCKETS));
    const current = Math.floor(at / width);
    let counts = this.buckets.get(key);
    if (counts === undefined) this.buckets.set(key, (counts = new Map()));
    counts.set(current, (counts.get(current) ?? 0) + 1);
    let total = 0;
    for (const [bucket, count] of counts) {
      if (bucket <= current - SUB_BUCKETS) counts.delete(bucket);
      else total += count;
    }
    return total;
  }
}

/**
 * KEYS[1] = the key's hash (one field per sub-bucket). ARGV: current bucket, buckets per window,
 * TTL ms. Adds one to the current bucket, drops buckets older than the window, returns the sum.
 * One hash per key keeps every field in one Cluster slot.
 */
const ADD_LUA = `
local current = tonumber(ARGV[1])
local span = tonumber(ARGV[2])
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local fields = redis.call('HGETALL', KEYS[1])
local total = 0
for i = 1, #fields, 2 do
  local bucket = tonumber(fields[i])
  if bucket <= current - span then
    redis.call('HDEL', KEYS[1], fields[i])
  else
    total = total + tonumber(fields[i + 1])
  end
end
return total
`;
const ADD = new RedisScript<number>(ADD_LUA);

/** @internal */
export class RedisWindowCounter implements WindowCounter {
  constructor(
    private readonly redis: KeelRedisClient,
    private readonly prefix: string,
  ) {}

  async add(key: string, at: number, windowMs: number): Promise<number> {
    const width = Math.max(1, Math.floor(windowMs / SUB_BUCKETS));
    const current = Math.floor(at / width);
    return ADD.run(this.redis, 1, `${this.prefix}{${key}}`, current, SUB_BUCKETS, windowMs * 2);
  }
}

/**
 * A Redis counter that falls back to a local one while Redis fails, so ingest never waits on
 * or fails because of Redis; the fleet then degrades to per-process windows.
 * @internal
 */
export class FallbackWindowCounter implements WindowCounter {
  private readonly local = new MemoryWindowCounter();
  fallbacks = 0;

  constructor(
    private readonly shared: WindowCounter,
    private readonly onFallback: (error: unknown) => void,
  ) {}

  async add(key: string, at: number, windowMs: number): Promise<number> {
    try {
      return await this.shared.add(key, at, windowMs);
    } catch (error) {
      this.fallbacks += 1;
      this.onFallback(error);
      return this.local.add(key, at, windowMs);
    }
  }
}
