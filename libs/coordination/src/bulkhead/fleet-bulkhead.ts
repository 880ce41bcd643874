import { randomBytes } from 'node:crypto';
import { KeelDeadlineError } from '@keel/core';
import { withDeadline } from '@keel/core/internal';
import { bulkheadRedisTimedOut } from '../coordination.messages.js';
import { BulkheadRejectedError } from '../coordination.errors.js';
import { LocalBulkhead, type BulkheadLimits } from './local-bulkhead.js';
import type { BulkheadSlotStore } from './stores/bulkhead-slot.store.js';

/** What a {@link FleetBulkhead} is built from. @internal */
export interface FleetBulkheadOptions {
  readonly limits: BulkheadLimits;
  /** Where the fleet's slots live (Redis). */
  readonly store: BulkheadSlotStore;
  /** A slot is freed this long after its holder stopped renewing it. */
  readonly leaseMs: number;
  /** A store call slower than this counts as the store being unreachable. */
  readonly commandTimeoutMs: number;
}

/** A fleet slot: a Redis lease, or a local slot while Redis is unreachable. @internal */
export type FleetSlot = string | 'local';

/**
 * A bulkhead whose `maxConcurrent` spans every replica: leases in the slot store, renewed while
 * calls run. Waiting calls poll for a slot (20 → 100 ms) until `queueTimeoutMs`. When Redis
 * is unreachable the bulkhead degrades to a per-replica limit of `maxConcurrent` rather than
 * blocking calls.
 * @internal
 */
export class FleetBulkhead {
  readonly limits: BulkheadLimits;
  private readonly store: BulkheadSlotStore;
  private readonly leaseMs: number;
  private readonly commandTimeoutMs: number;
  private readonly held = new Set<string>();
  private readonly local: LocalBulkhead;
  private renewTimer: NodeJS.Timeout | undefined;
  private waiting = 0;
  private closed = false;
  private fleetRejectedFull = 0;
  private fleetRejectedTimeout = 0;
  degraded = false;

  constructor(options: FleetBulkheadOptions) {
    this.limits = options.limits;
    this.store = options.store;
    this.leaseMs = options.leaseMs;
    this.commandTimeoutMs = options.commandTimeoutMs;
    this.local = new LocalBulkhead(options.limits);
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
          granted = await this.withTimeout(
            this.store.acquire({
              name: this.limits.name,
              holder,
              limit: this.limits.maxConcurrent,
              leaseMs: this.leaseMs,
            }),
          );
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
    this.store.release(this.limits.name, slot).catch(() => undefined);
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
          const renewal = {
            name: this.limits.name,
            holders: [...this.held],
            leaseMs: this.leaseMs,
          };
          this.store.renew(renewal).catch(() => undefined);
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
