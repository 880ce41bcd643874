import type { LockScope } from './lock-context.js';
import type { DeadlockEdge } from './locks.errors.js';
import type { LockStore } from './stores/lock.store.js';

/** Longest wait-for chain followed before giving up (no cycle assumed). */
const MAX_HOPS = 32;

/**
 * Deadlock detection across processes: a waiter that holds other locks records in the store
 * which key its call chain waits for, and follows the wait-for graph from that key (its holder's
 * chain, the key that chain waits for, and so on). A cycle back to its own chain is a deadlock.
 * @internal
 */
export class DeadlockDetector {
  constructor(
    private readonly store: LockStore,
    private readonly enabled: boolean,
  ) {}

  /**
   * Whether a waiter in `scope` takes part: only exclusive locks, only when enabled, and only a
   * chain that holds something (a chain holding nothing cannot be part of a cycle).
   */
  applies(exclusive: boolean, scope: LockScope | undefined): scope is LockScope {
    return exclusive && this.enabled && scope !== undefined && scope.held.size > 0;
  }

  /** Records that `chain` waits for `key`, for `ttlMs` (it lapses if the waiter dies). */
  recordWait(chain: string, key: string, ttlMs: number): Promise<void> {
    return this.store.setWaitsFor(chain, key, ttlMs);
  }

  /** Clears `chain`'s wait record; never rejects (the record lapses by itself). */
  async clearWait(chain: string): Promise<void> {
    await this.store.setWaitsFor(chain, undefined, 0).catch(() => undefined);
  }

  /**
   * The wait-for cycle through `scope` waiting for `key`, when this chain is the one to fail:
   * every member of a cycle sees the same cycle, and only the member with the greatest chain id
   * fails, so exactly one gives way. `undefined` when there is no cycle or another member fails.
   */
  async findCycle(scope: LockScope, key: string): Promise<DeadlockEdge[] | undefined> {
    const cycle: DeadlockEdge[] = [{ chain: scope.chain, waitsFor: key }];
    const seen = new Set([scope.chain]);
    let next = key;
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      const holder = await this.store.holder(next);
      if (holder === undefined) return undefined;
      const chain = holder.slice(0, holder.lastIndexOf('.'));
      if (chain === scope.chain) {
        const victim = cycle.reduce((max, e) => (e.chain > max ? e.chain : max), '');
        return victim === scope.chain ? cycle : undefined;
      }
      if (seen.has(chain)) return undefined;
      seen.add(chain);
      const waits = await this.store.waitsFor(chain);
      if (waits === undefined) return undefined;
      cycle.push({ chain, waitsFor: waits });
      next = waits;
    }
    return undefined;
  }
}
