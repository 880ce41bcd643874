import { randomUUID } from 'node:crypto';
import { RedisScript, type KeelRedisClient } from '@keel/core';
import {
  runWithLease,
  type IdempotencyStore,
  type IdempotentOutcome,
  type IdempotentRun,
  type LeaseBackend,
} from './idempotency.store.js';
import {
  CLAIM_SCRIPT,
  COMPLETE_SCRIPT,
  EXTEND_SCRIPT,
  RELEASE_SCRIPT,
} from './redis-idempotency.lua.js';

const claimScript = new RedisScript<[number, number]>(CLAIM_SCRIPT);
const completeScript = new RedisScript<number>(COMPLETE_SCRIPT);
const releaseScript = new RedisScript<number>(RELEASE_SCRIPT);
const extendScript = new RedisScript<number>(EXTEND_SCRIPT);

/**
 * Idempotency keys in Redis, shared by the fleet: one script call claims a key (a duplicate
 * anywhere sees it running or done), one marks it done with the retention as its TTL, so Redis
 * expires old keys itself. Two round trips per first delivery, one per duplicate.
 * @internal
 */
export class RedisIdempotencyStore implements IdempotencyStore, LeaseBackend {
  readonly kind = 'redis';

  private readonly client: KeelRedisClient;
  private readonly prefix: string;
  private readonly onCompleteFailed: (error: unknown) => void;

  constructor(options: {
    readonly client: KeelRedisClient;
    /** Core's `redisKeyPrefix`. */
    readonly prefix: string;
    readonly onCompleteFailed: (error: unknown) => void;
  }) {
    this.client = options.client;
    this.prefix = options.prefix;
    this.onCompleteFailed = options.onCompleteFailed;
  }

  run<T>(request: IdempotentRun, body: () => Promise<T>): Promise<IdempotentOutcome<T>> {
    const key = `${this.prefix}${request.key}`;
    return runWithLease(this, randomUUID(), { ...request, key }, body, this.onCompleteFailed);
  }

  async claim(key: string, token: string, leaseMs: number) {
    const [state, pttl] = await claimScript.run(this.client, 1, key, token, leaseMs);
    if (state === 1) return { state: 'claimed' as const };
    if (state === 2) return { state: 'done' as const };
    return { state: 'running' as const, retryAfterMs: Math.max(1, pttl) };
  }

  async complete(key: string, token: string, ttlMs: number): Promise<void> {
    await completeScript.run(this.client, 1, key, token, ttlMs);
  }

  async release(key: string, token: string): Promise<void> {
    await releaseScript.run(this.client, 1, key, token);
  }

  async extend(key: string, token: string, leaseMs: number): Promise<void> {
    await extendScript.run(this.client, 1, key, token, leaseMs);
  }

  /** Redis expires completed keys with their TTL. */
  async prune(): Promise<number> {
    return 0;
  }

  /** The connection is core's shared one; `RedisConnectionFactory` closes it. */
  async close(): Promise<void> {}
}
