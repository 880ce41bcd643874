import { randomBytes } from 'node:crypto';
import { KeelDeadlineError, RedisScript, type KeelRedisClient } from '@keel/core';
import { withDeadline } from '@keel/core/internal';
import { bulkheadRedisTimedOut } from '../coordination.messages.js';
import { BulkheadRejectedError } from '../coordination.errors.js';
import { LocalBulkhead, type BulkheadLimits } from './local-bulkhead.js';

// One sorted set per bulkhead: member = slot holder, score = lease expiry (server time). Expired
// leases (a crashed holder) are dropped before counting, so a dead replica frees its slots.
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
  return 1
end
return 0
`;

const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
return 1
`;

const ACQUIRE_SCRIPT = new RedisScript<number>(ACQUIRE);
const RENEW_SCRIPT = new RedisScript<number>(RENEW);

/** A fleet slot: a Redis lease, or a local slot while Redis is unreachable. @internal */
export type FleetSlot = string | 'local';

/**
 * A bulkhead whose `maxConcurrent` spans every replica: a Redis sorted set of leases, renewed
 * while calls run. Waiting calls poll for a slot (20 → 100 ms) until `queueTimeoutMs`. When Redis
 * is unreachable the bulkhead degrades to a per-replica limit of `maxConcurrent` rather than
 * blocking calls.
 * @internal
 */
export class FleetBulkhead {
  private readonly client: KeelRedisClient;
  private readonly held = new Set<string>();
  private readonly local: LocalBulkhead;
  private renewTimer: NodeJS.Timeout | undefined;
  private waiting = 0;
  private closed = false;
  private fleetRejectedFull = 0;
  private fleetRejectedTimeout = 0;
  degraded = false;

  constructor(
    readonly limits: BulkheadLimits,
    client: KeelRedisClient,
    private readonly key: string,
    private readonly leaseMs: number,
    private readonly commandTimeoutMs: number,
  ) {
    this.client = client;
    this.local = new LocalBulkhead(limits);
  }

  /** Calls refused as `full`, on Redis or by the per-replica fallback while Redis is down. */
  get rejectedFull(): number {
    return this.fleetRejectedFull + this.local.rejectedFull;
  }

  /** Calls refused as `queue-timeout`, on Redis or by the per-replica fallback. */
  get rejectedTimeout(): number {
    return this.fleetRejectedTimeout + this.local.rejectedTimeout;
  }

  /** Slots this replica holds. */
  get active(): number {
    return this.held.size + this.local.active;
  }

  async acquire(): Promise<FleetSlot> {
    const deadline = Date.now() + this.limits.queueTimeoutMs;
    let queued = false;
    let pause = 20;
    try {
      for (;;) {
        const holder = randomBytes(8).toString('hex');
        let granted: boolean;
        try {
          granted =
            (await this.withTimeout(
              ACQUIRE_SCRIPT.run(
                this.client,
                1,
                this.key,
                this.limits.maxConcurrent,
                holder,
                this.leaseMs,
              ),
            )) === 1;
          this.degraded = false;
        } catch {
          this.degraded = true;
          return await this.acquireLocal(queued);
        }
        if (granted) {
          this.hold(holder);
          return holder;
        }
        if (!queued) {
          if (this.waiting >= this.limits.maxQueue) {
            this.fleetRejectedFull++;
            throw new BulkheadRejectedError(this.limits.name, 'full', this.limits.queueTimeoutMs);
          }
          queued = true;
          this.waiting++;
        }
        const left = deadline - Date.now();
        if (left <= 0 || this.closed) {
          this.fleetRejectedTimeout++;
          throw new BulkheadRejectedError(
            this.limits.name,
            'queue-timeout',
            this.limits.queueTimeoutMs,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)));
        pause = Math.min(100, pause * 2);
      }
    } finally {
      if (queued) this.waiting--;
    }
  }

  release(slot: FleetSlot): void {
    if (slot === 'local') {
      this.local.release();
      return;
    }
    this.held.delete(slot);
    if (this.held.size === 0 && this.renewTimer !== undefined) {
      clearInterval(this.renewTimer);
      this.renewTimer = undefined;
    }
    this.client.zrem(this.key, slot).catch(() => undefined);
  }

  close(): void {
    this.closed = true;
    if (this.renewTimer !== undefined) clearInterval(this.renewTimer);
    this.renewTimer = undefined;
    this.local.close();
  }

  private async acquireLocal(queued: boolean): Promise<FleetSlot> {
    if (this.local.tryAcquire()) return 'local';
    if (queued) this.waiting--;
    try {
      await this.local.wait();
    } finally {
      if (queued) this.waiting++;
    }
    return 'local';
  }

  private hold(holder: string): void {
    this.held.add(holder);
    if (this.renewTimer === undefined) {
      // Renew well before expiry; one timer per bulkhead, only while this replica holds slots.
      this.renewTimer = setInterval(
        () => {
          if (this.held.size === 0) return;
          RENEW_SCRIPT.run(this.client, 1, this.key, this.leaseMs, ...this.held).catch(
            () => undefined,
          );
        },
        Math.max(50, Math.floor(this.leaseMs / 3)),
      );
      this.renewTimer.unref();
    }
  }

  private withTimeout<T>(promise: Promise<T>): Promise<T> {
    const ms = this.commandTimeoutMs;
    return withDeadline(promise, ms, () => new KeelDeadlineError(bulkheadRedisTimedOut({ ms })));
  }
}
