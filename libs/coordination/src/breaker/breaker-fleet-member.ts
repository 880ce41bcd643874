import type { BreakerSnapshot, OutcomeBatch, ProbeGrant } from './stores/breaker.store.js';
import { FAILED, SLOW } from './sliding-window.js';
import type { CircuitBreaker } from './circuit-breaker.js';

/** How a fleet-wide breaker talks to its store. Implemented by the module's fleet service. @internal */
export interface BreakerFleetLink {
  /** False while the store is unreachable: the breaker then decides locally. */
  readonly available: boolean;
  acquireProbe(breaker: CircuitBreaker): Promise<ProbeGrant>;
  reportProbe(
    breaker: CircuitBreaker,
    version: number,
    outcome: 'success' | 'failure' | 'ignored',
  ): void;
  isolate(breaker: CircuitBreaker): Promise<void>;
  reset(breaker: CircuitBreaker): Promise<void>;
}

/**
 * A fleet breaker's bookkeeping: the outcomes aggregated since the last flush, and the last
 * shared state seen (to order snapshots and to refuse a half-open call without a round trip).
 * A local breaker has none of it. Plain number fields, so recording an outcome allocates nothing.
 * @internal
 */
export class BreakerFleetMember {
  private calls = 0;
  private failures = 0;
  private slow = 0;
  private trailing = 0;
  private hadSuccess = false;
  private version = -1;
  private epoch = '';
  /** Probe slots the store handed out in the current half-open period, as last seen. */
  sharedProbes = 0;
  /** Version of the snapshot that granted this replica's probe slot. */
  probeVersion = 0;

  constructor(readonly link: BreakerFleetLink) {}

  /** Aggregates one closed-state outcome (`FAILED` / `SLOW` bits) for the next flush. */
  add(outcome: number): void {
    this.calls++;
    if (outcome & FAILED) {
      this.failures++;
      this.trailing++;
    } else {
      this.hadSuccess = true;
      this.trailing = 0;
    }
    if (outcome & SLOW) this.slow++;
  }

  /** Outcomes since the last flush, or `undefined` when there were none. */
  takeBatch(): OutcomeBatch | undefined {
    if (this.calls === 0) return undefined;
    const batch: OutcomeBatch = {
      calls: this.calls,
      failures: this.failures,
      slow: this.slow,
      trailingFailures: this.trailing,
      hadSuccess: this.hadSuccess,
    };
    this.clear();
    return batch;
  }

  /** Drops the outcomes not yet flushed. */
  clear(): void {
    this.calls = this.failures = this.slow = this.trailing = 0;
    this.hadSuccess = false;
  }

  /** True for a snapshot older than the last one adopted (same epoch, lower version). */
  isStale(snapshot: BreakerSnapshot): boolean {
    return snapshot.epoch === this.epoch && snapshot.version < this.version;
  }

  /** Remembers a snapshot as the last shared state seen. */
  adopt(snapshot: BreakerSnapshot): void {
    this.epoch = snapshot.epoch;
    this.version = snapshot.version;
    this.sharedProbes = snapshot.probes;
  }
}
