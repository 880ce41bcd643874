import { randomBytes } from 'node:crypto';
import {
  closedSnapshot,
  type BreakerSnapshot,
  type BreakerState,
  type BreakerStateMessage,
  type BreakerStore,
  type OutcomeBatch,
  type ProbeGrant,
  type SharedBreakerPolicy,
} from './breaker.store.js';

interface Entry {
  readonly name: string;
  state: BreakerState;
  openUntil: number;
  halfOpenAt: number;
  probes: number;
  successes: number;
  version: number;
  consecutive: number;
  /** Count window: batches [calls, failures, slow]; time window: second → [calls, failures, slow]. */
  batches: [number, number, number][];
  seconds: Map<number, [number, number, number]>;
  totals: [number, number, number];
}

/**
 * The embedded breaker store: the same algorithm as the Redis store's Lua scripts, in process.
 * Correct for one process only — replicas do not see each other's breakers. Used when a breaker
 * asks for `store: 'redis'` but no Redis is configured.
 * @publicApi
 */
export class MemoryBreakerStore implements BreakerStore {
  readonly kind = 'memory' as const;
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<(message: BreakerStateMessage) => void>();
  private readonly epoch = randomBytes(6).toString('hex');

  async record(
    name: string,
    policy: SharedBreakerPolicy,
    batch: OutcomeBatch,
  ): Promise<BreakerSnapshot> {
    const e = this.entry(name);
    const now = Date.now();
    if (e.state !== 'closed') return this.snapshot(e, now);
    e.consecutive = batch.hadSuccess ? batch.trailingFailures : e.consecutive + batch.failures;
    this.addToWindow(e, policy, batch);
    const [calls, failures, slow] = e.totals;
    const trip =
      (policy.consecutiveFailures > 0 && e.consecutive >= policy.consecutiveFailures) ||
      (calls >= policy.minimumCalls &&
        calls > 0 &&
        (failures * 100 >= policy.failureRateThreshold * calls ||
          slow * 100 >= policy.slowCallRateThreshold * calls));
    if (trip) this.open(e, policy, now);
    return this.snapshot(e, now);
  }

  async acquireProbe(name: string, policy: SharedBreakerPolicy): Promise<ProbeGrant> {
    const e = this.entry(name);
    const now = Date.now();
    if (e.state === 'closed') return { permit: 'call', snapshot: this.snapshot(e, now) };
    if (e.state === 'isolated') return { permit: 'rejected', snapshot: this.snapshot(e, now) };
    if (e.state === 'open') {
      if (now < e.openUntil) return { permit: 'rejected', snapshot: this.snapshot(e, now) };
      e.state = 'half-open';
      e.probes = 0;
      e.successes = 0;
      e.halfOpenAt = now;
      e.version++;
      this.publish(e, now);
    }
    if (e.probes < policy.halfOpenProbes) {
      e.probes++;
      return { permit: 'probe', snapshot: this.snapshot(e, now) };
    }
    if (now - e.halfOpenAt >= policy.probeTimeoutMs) {
      // Probes that never reported (their replica died): end this half-open period.
      this.open(e, policy, now);
    }
    return { permit: 'rejected', snapshot: this.snapshot(e, now) };
  }

  async reportProbe(
    name: string,
    policy: SharedBreakerPolicy,
    version: number,
    outcome: 'success' | 'failure' | 'ignored',
  ): Promise<BreakerSnapshot> {
    const e = this.entry(name);
    const now = Date.now();
    if (e.state !== 'half-open' || e.version !== version) return this.snapshot(e, now);
    if (outcome === 'failure') {
      this.open(e, policy, now);
    } else if (outcome === 'ignored') {
      e.probes = Math.max(0, e.probes - 1);
    } else if (++e.successes >= policy.halfOpenProbes) {
      this.closeEntry(e, now);
    }
    return this.snapshot(e, now);
  }

  async read(name: string): Promise<BreakerSnapshot> {
    const e = this.entries.get(name);
    return e === undefined ? closedSnapshot(this.epoch) : this.snapshot(e, Date.now());
  }

  async isolate(name: string): Promise<BreakerSnapshot> {
    const e = this.entry(name);
    const now = Date.now();
    e.state = 'isolated';
    e.version++;
    this.publish(e, now);
    return this.snapshot(e, now);
  }

  async reset(name: string): Promise<BreakerSnapshot> {
    const e = this.entry(name);
    const now = Date.now();
    this.closeEntry(e, now);
    return this.snapshot(e, now);
  }

  async subscribe(listener: (message: BreakerStateMessage) => void): Promise<void> {
    this.listeners.add(listener);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.listeners.clear();
  }

  private entry(name: string): Entry {
    let e = this.entries.get(name);
    if (e === undefined) {
      e = {
        name,
        state: 'closed',
        openUntil: 0,
        halfOpenAt: 0,
        probes: 0,
        successes: 0,
        version: 0,
        consecutive: 0,
        batches: [],
        seconds: new Map(),
        totals: [0, 0, 0],
      };
      this.entries.set(name, e);
    }
    return e;
  }

  private addToWindow(e: Entry, policy: SharedBreakerPolicy, batch: OutcomeBatch): void {
    const t = e.totals;
    if (policy.slidingWindow === 'time') {
      const second = Math.floor(Date.now() / 1000);
      const bucket = e.seconds.get(second) ?? [0, 0, 0];
      bucket[0] += batch.calls;
      bucket[1] += batch.failures;
      bucket[2] += batch.slow;
      e.seconds.set(second, bucket);
      t[0] = t[1] = t[2] = 0;
      for (const [s, b] of e.seconds) {
        if (s <= second - policy.windowSize) {
          e.seconds.delete(s);
          continue;
        }
        t[0] += b[0];
        t[1] += b[1];
        t[2] += b[2];
      }
      return;
    }
    e.batches.push([batch.calls, batch.failures, batch.slow]);
    t[0] += batch.calls;
    t[1] += batch.failures;
    t[2] += batch.slow;
    trimCountWindow(e.batches, t, policy.windowSize);
  }

  private open(e: Entry, policy: SharedBreakerPolicy, now: number): void {
    e.state = 'open';
    e.openUntil = now + policy.openDurationMs;
    e.probes = 0;
    e.successes = 0;
    e.consecutive = 0;
    this.clearWindow(e);
    e.version++;
    this.publish(e, now);
  }

  private closeEntry(e: Entry, now: number): void {
    e.state = 'closed';
    e.probes = 0;
    e.successes = 0;
    e.consecutive = 0;
    this.clearWindow(e);
    e.version++;
    this.publish(e, now);
  }

  private clearWindow(e: Entry): void {
    e.batches = [];
    e.seconds.clear();
    e.totals = [0, 0, 0];
  }

  private snapshot(e: Entry, now: number): BreakerSnapshot {
    return {
      state: e.state,
      remainingOpenMs: e.state === 'open' ? Math.max(0, e.openUntil - now) : 0,
      probes: e.probes,
      version: e.version,
      epoch: this.epoch,
    };
  }

  private publish(e: Entry, now: number): void {
    const message = { name: e.name, snapshot: this.snapshot(e, now) };
    // Delivered asynchronously, like pub/sub: a listener never runs inside a store operation.
    queueMicrotask(() => {
      for (const listener of this.listeners) listener(message);
    });
  }
}

/**
 * Drops the oldest outcomes until the window holds at most `size` calls. A batch straddling the
 * edge is shrunk proportionally, so the window is exact in calls and approximate (to one batch)
 * in which of those calls failed.
 * @internal
 */
export function trimCountWindow(
  batches: [number, number, number][],
  totals: [number, number, number],
  size: number,
): void {
  while (totals[0] > size && batches.length > 0) {
    const head = batches[0];
    const excess = totals[0] - size;
    if (head[0] <= excess) {
      batches.shift();
      totals[0] -= head[0];
      totals[1] -= head[1];
      totals[2] -= head[2];
      continue;
    }
    const keep = head[0] - excess;
    const failures = Math.round((head[1] * keep) / head[0]);
    const slow = Math.round((head[2] * keep) / head[0]);
    totals[0] -= excess;
    totals[1] -= head[1] - failures;
    totals[2] -= head[2] - slow;
    batches[0] = [keep, failures, slow];
  }
}
