import type { BulkheadSlotStore, SlotRequest } from './bulkhead-slot.store.js';

/**
 * Fleet bulkhead slots in this process's memory: the same leases and limit as the Redis store,
 * correct for one process only. The contract suite runs it beside the Redis store.
 * @internal
 */
export class MemoryBulkheadSlotStore implements BulkheadSlotStore {
  readonly kind = 'memory';
  /** Per bulkhead: holder → lease expiry (ms since the epoch). */
  private readonly leases = new Map<string, Map<string, number>>();

  constructor(private readonly now: () => number = Date.now) {}

  async acquire(request: SlotRequest): Promise<boolean> {
    const leases = this.live(request.name);
    if (leases.size >= request.limit) return false;
    leases.set(request.holder, this.now() + request.leaseMs);
    return true;
  }

  async renew(request: {
    readonly name: string;
    readonly holders: readonly string[];
    readonly leaseMs: number;
  }): Promise<void> {
    const leases = this.live(request.name);
    const until = this.now() + request.leaseMs;
    for (const holder of request.holders) if (leases.has(holder)) leases.set(holder, until);
  }

  async release(name: string, holder: string): Promise<void> {
    this.leases.get(name)?.delete(holder);
  }

  /** The bulkhead's unexpired leases (expired ones are dropped, as the Lua script does). */
  private live(name: string): Map<string, number> {
    let leases = this.leases.get(name);
    if (leases === undefined) {
      leases = new Map();
      this.leases.set(name, leases);
    }
    const now = this.now();
    for (const [holder, until] of leases) if (until <= now) leases.delete(holder);
    return leases;
  }
}
