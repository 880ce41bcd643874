import { withDeadline } from '@keel/core/internal';
import { LockQuorumError } from '../locks.errors.js';
import { QUORUM_DEFAULTS } from '../locks.settings.js';
import type { LockStore, StoreAcquireMode, StoreAcquireResult, WaiterEvent } from './lock.store.js';
import type { RedisLockStore } from './redis-lock.store.js';

/** One independent Redis master of a quorum. @publicApi */
export interface QuorumNode {
  /** host:port, no credentials. */
  readonly label: string;
  readonly store: RedisLockStore;
}

/** Options of {@link QuorumLockStore}. @publicApi */
export interface QuorumLockStoreOptions {
  readonly nodes: readonly QuorumNode[];
  /** @default 0.01 */
  readonly clockDriftFactor?: number;
  /** @default 250 */
  readonly nodeTimeoutMs?: number;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Quorum mode: the Redlock algorithm over N independent Redis masters. A lock is held when a
 * majority granted it within its validity (TTL minus the time acquisition took minus a clock
 * drift allowance). Fencing tokens: each node issues its own (counter with a time floor); the
 * holder takes the maximum over its majority and writes it back to those nodes before using it,
 * so the next majority — which shares at least one node — issues a larger one.
 * Fair queueing and push hand-off are per node and so not offered: waiters are woken on release
 * by any node and race, and a split vote backs off for a few random milliseconds.
 * @publicApi
 */
export class QuorumLockStore implements LockStore {
  readonly kind = 'quorum' as const;
  readonly pushHandoff = false;
  private readonly nodes: readonly QuorumNode[];
  private readonly majority: number;
  private readonly drift: number;
  private readonly nodeTimeoutMs: number;
  /** Per-node fences of each hold of this instance, by key and token. */
  private readonly holds = new Map<string, (number | undefined)[]>();

  constructor(options: QuorumLockStoreOptions) {
    this.nodes = options.nodes;
    this.majority = Math.floor(options.nodes.length / 2) + 1;
    this.drift = options.clockDriftFactor ?? QUORUM_DEFAULTS.clockDriftFactor;
    this.nodeTimeoutMs = options.nodeTimeoutMs ?? QUORUM_DEFAULTS.nodeTimeoutMs;
  }

  /** Nodes needed for a quorum. */
  get quorum(): number {
    return this.majority;
  }

  async tryAcquire(
    key: string,
    token: string,
    ttlMs: number,
    mode: StoreAcquireMode,
  ): Promise<StoreAcquireResult> {
    const start = performance.now();
    const nodeMode = { fair: false, enqueue: mode.enqueue, queued: mode.queued };
    const results = await this.all((node) => node.store.tryAcquire(key, token, ttlMs, nodeMode));
    const fences = results.map((r) => (r.ok && r.value.acquired ? r.value.fence : undefined));
    const granted = fences.filter((f) => f !== undefined).length;
    const failures = this.failures(results);
    if (granted >= this.majority) {
      const fence = Math.max(...fences.filter((f): f is number => f !== undefined));
      const bumped = await this.all((node, i) =>
        fences[i] === undefined
          ? Promise.resolve(false)
          : node.store.bumpFence(key, token, fences[i]!, fence),
      );
      const confirmed = bumped.filter((r) => r.ok && r.value).length;
      const validityMs = ttlMs - (performance.now() - start) - (Math.ceil(ttlMs * this.drift) + 2);
      if (confirmed >= this.majority && validityMs > 0) {
        this.holds.set(holdId(key, token), fences);
        if (mode.enqueue) void this.leaveQueues(key, token, fences);
        return { acquired: true, fence, validityMs };
      }
    }
    await this.releaseNodes(key, token, fences);
    if (failures.length > this.nodes.length - this.majority) {
      throw new LockQuorumError(key, this.majority, failures);
    }
    const heldElsewhere = results
      .map((r) => (r.ok && !r.value.acquired ? r.value.retryAfterMs : undefined))
      .filter((ms): ms is number => ms !== undefined && ms > 0);
    // A majority holding one other holder's lock: wait for its release or expiry. A split vote
    // (nobody has a majority): back off a few random milliseconds, as Redlock prescribes.
    const splitVote = granted > 0 || heldElsewhere.length < this.majority;
    return {
      acquired: false,
      retryAfterMs: splitVote ? 3 + Math.floor(Math.random() * 20) : Math.min(...heldElsewhere),
    };
  }

  async release(key: string, token: string, _fence: number): Promise<boolean> {
    const fences = this.holds.get(holdId(key, token));
    if (fences === undefined) return false;
    this.holds.delete(holdId(key, token));
    const released = await this.releaseNodes(key, token, fences);
    return released >= this.majority;
  }

  async extend(key: string, token: string, _fence: number, ttlMs: number): Promise<boolean> {
    const fences = this.holds.get(holdId(key, token));
    if (fences === undefined) return false;
    const start = performance.now();
    const results = await this.all((node, i) =>
      fences[i] === undefined
        ? Promise.resolve(false)
        : node.store.extend(key, token, fences[i]!, ttlMs),
    );
    const extended = results.filter((r) => r.ok && r.value).length;
    if (extended >= this.majority && performance.now() - start < ttlMs) return true;
    if (results.filter((r) => !r.ok).length > this.nodes.length - this.majority) {
      // Unreachable rather than rejected: let the holder retry until its validity runs out.
      throw new LockQuorumError(key, this.majority, this.failures(results));
    }
    return false;
  }

  async cancel(key: string, token: string): Promise<void> {
    this.holds.delete(holdId(key, token));
    await this.all((node) => node.store.cancel(key, token));
  }

  listen(token: string, listener: (event: WaiterEvent) => void): () => void {
    const wake = () => listener({ type: 'wake' });
    const off = this.nodes.map((node) => node.store.listen(token, wake));
    return () => off.forEach((f) => f());
  }

  async ready(): Promise<void> {
    const results = await this.all((node) => node.store.ready());
    const failures = this.failures(results);
    if (failures.length > this.nodes.length - this.majority) {
      throw new LockQuorumError('(subscription)', this.majority, failures);
    }
  }

  async holder(key: string): Promise<string | undefined> {
    const results = await this.all((node) => node.store.holder(key));
    const counts = new Map<string, number>();
    for (const r of results) {
      if (r.ok && r.value !== undefined) counts.set(r.value, (counts.get(r.value) ?? 0) + 1);
    }
    for (const [holder, count] of counts) if (count >= this.majority) return holder;
    return undefined;
  }

  async setWaitsFor(chain: string, key: string | undefined, ttlMs: number): Promise<void> {
    await this.all((node) => node.store.setWaitsFor(chain, key, ttlMs));
  }

  async waitsFor(chain: string): Promise<string | undefined> {
    const results = await this.all((node) => node.store.waitsFor(chain));
    for (const r of results) if (r.ok && r.value !== undefined) return r.value;
    return undefined;
  }

  async ping(): Promise<number> {
    const results = await this.all((node) => node.store.ping());
    const rtts = results.flatMap((r) => (r.ok ? [r.value] : []));
    if (rtts.length < this.majority) {
      throw new LockQuorumError('(ping)', this.majority, this.failures(results));
    }
    return Math.max(...rtts);
  }

  /** Reachability of each node, for health output. */
  async nodeStatus(): Promise<{ node: string; up: boolean }[]> {
    const results = await this.all((node) =>
      node.store.unusableConnection?.() === undefined ? node.store.ping() : Promise.resolve(-1),
    );
    return results.map((r, i) => ({ node: this.nodes[i].label, up: r.ok && r.value >= 0 }));
  }

  async close(): Promise<void> {
    this.holds.clear();
    await Promise.allSettled(this.nodes.map((node) => node.store.close()));
  }

  private async releaseNodes(
    key: string,
    token: string,
    fences: readonly (number | undefined)[],
  ): Promise<number> {
    const results = await this.all((node, i) =>
      fences[i] === undefined ? Promise.resolve(false) : node.store.release(key, token, fences[i]!),
    );
    return results.filter((r) => r.ok && r.value).length;
  }

  private async leaveQueues(key: string, token: string, fences: readonly (number | undefined)[]) {
    // Nodes that refused this holder still list it as a waiter; take it off so their next
    // release wakes someone who is actually waiting.
    await this.all((node, i) =>
      fences[i] === undefined ? node.store.cancel(key, token) : Promise.resolve(),
    );
  }

  private failures<T>(results: readonly Outcome<T>[]): string[] {
    return results.flatMap((r, i) => (r.ok ? [] : [`${this.nodes[i].label}: ${r.error}`]));
  }

  /**
   * Runs `fn` on every node in parallel, each bounded by the node timeout (core's
   * `withDeadline`: `no answer within <ms> ms`); never rejects.
   */
  private all<T>(fn: (node: QuorumNode, index: number) => Promise<T>): Promise<Outcome<T>[]> {
    return Promise.all(
      this.nodes.map((node, i) =>
        withDeadline(fn(node, i), this.nodeTimeoutMs).then(
          (value): Outcome<T> => ({ ok: true, value }),
          (error: unknown): Outcome<T> => ({
            ok: false,
            error: error instanceof Error ? error.message : String(error),
          }),
        ),
      ),
    );
  }
}

function holdId(key: string, token: string): string {
  return `${key}\u0000${token}`;
}
