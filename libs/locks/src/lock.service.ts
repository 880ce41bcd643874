import { randomBytes } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import { KeelMetrics } from '@keel/core';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { HeldLock, ReentrantLock, type Lock, type LockHost } from './lock.js';
import { currentScope, runHolding, runInScope, type LockScope } from './lock-context.js';
import { LOCKS_SETTINGS, LOCK_METRICS } from './locks.constants.js';
import {
  DeadlockError,
  LockTimeoutError,
  type DeadlockEdge,
  type LockLostReason,
} from './locks.errors.js';
import type { AcquireOptions, LocksSettings } from './interfaces/locks-options.interface.js';
import { LockStore, type WaiterEvent } from './stores/lock.store.js';

/** Longest sleep of a waiter between checks: keeps its queue entry alive and covers a lost message. */
const RECHECK_MS = 1_000;
/** Interval of the wait-for graph check of a waiter that holds other locks. */
const DEADLOCK_CHECK_MS = 200;

/** Several locks taken together by {@link LockService.acquireMany}. @publicApi */
export interface LockGroup {
  /** The locks, in the canonical (sorted) key order they were taken in. */
  readonly locks: readonly Lock[];
  /** Aborted when any of the locks is lost. */
  readonly signal: AbortSignal;
  /** Releases every lock; true when all were still held. Idempotent. */
  release(): Promise<boolean>;
}

/**
 * Distributed locks with fencing tokens, a renewal watchdog, queued waiting without polling,
 * opt-in reentrancy and deadlock detection.
 *
 * @example
 * ```ts
 * await this.locks.using(`invoice:${id}`, async (lock) => {
 *   await this.invoices.issue(id, lock.fencingToken);
 * });
 * ```
 * @publicApi
 */
@Injectable()
export class LockService implements BeforeApplicationShutdown, LockHost {
  private readonly logger = new Logger('KeelLocks');
  private readonly instance = randomBytes(6).toString('base64url');
  private readonly heldLocks = new Set<HeldLock>();
  private readonly scopeKey = Symbol('keel.locks.scope');
  private chains = 0;
  private sequence = 0;
  private closed = false;
  private readonly acquireSeconds: Histogram<'outcome'>;
  private readonly acquiredSeconds: { observe(value: number): void };
  private readonly contended: Counter;
  private readonly timeouts: Counter;
  private readonly lostTotal: Counter<'reason'>;
  private readonly deadlocks: Counter;
  private readonly heldGauge: Gauge;

  constructor(
    /** @internal */
    @Inject(LockStore) readonly store: LockStore,
    @Inject(LOCKS_SETTINGS) private readonly settings: LocksSettings,
    @Inject(KeelMetrics) metrics: KeelMetrics,
  ) {
    this.acquireSeconds = metrics.histogram({
      name: LOCK_METRICS.acquireSeconds,
      help: 'Time to acquire a Keel lock (waiting included), in seconds',
      labelNames: ['outcome'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
    this.acquiredSeconds = this.acquireSeconds.labels({ outcome: 'acquired' });
    this.contended = metrics.counter({
      name: LOCK_METRICS.contended,
      help: 'Lock acquisitions that found the lock held and had to wait',
    });
    this.timeouts = metrics.counter({
      name: LOCK_METRICS.timeouts,
      help: 'Lock acquisitions that gave up after waitMs',
    });
    this.lostTotal = metrics.counter({
      name: LOCK_METRICS.lost,
      help: 'Held locks lost before release (renewal rejected, expired, store unreachable)',
      labelNames: ['reason'] as const,
    });
    this.deadlocks = metrics.counter({
      name: LOCK_METRICS.deadlocks,
      help: 'Lock waits failed with DeadlockError',
    });
    this.heldGauge = metrics.gauge({
      name: LOCK_METRICS.held,
      help: 'Locks currently held by this instance',
    });
  }

  /** Number of locks this instance holds right now. */
  get heldCount(): number {
    return this.heldLocks.size;
  }

  /**
   * Acquires `key`, waiting up to `waitMs` (woken on release, never polling).
   * @throws LockTimeoutError when the wait ends first; DeadlockError when waiting would never end.
   */
  acquire(key: string, options: AcquireOptions = {}): Promise<Lock> {
    return this.take(key, options, currentScope(this.scopeKey), options.autoRenew ?? false, true) as Promise<Lock>;
  }

  /** Takes `key` if it is free right now; `undefined` when it is held. Never waits. */
  tryAcquire(key: string, options: Omit<AcquireOptions, 'waitMs'> = {}): Promise<Lock | undefined> {
    return this.take(key, { ...options, waitMs: 0 }, currentScope(this.scopeKey), options.autoRenew ?? false, false);
  }

  /**
   * Runs `fn` holding `key` and releases it on every path (return, throw, rejection). The hold is
   * renewed while `fn` runs (module option `autoRenew`), and `currentLock()` returns it inside.
   */
  using<T>(key: string, fn: (lock: Lock) => Promise<T> | T): Promise<T>;
  using<T>(key: string, options: AcquireOptions, fn: (lock: Lock) => Promise<T> | T): Promise<T>;
  async using<T>(
    key: string,
    optionsOrFn: AcquireOptions | ((lock: Lock) => Promise<T> | T),
    maybeFn?: (lock: Lock) => Promise<T> | T,
  ): Promise<T> {
    const options = typeof optionsOrFn === 'function' ? {} : optionsOrFn;
    const fn = typeof optionsOrFn === 'function' ? optionsOrFn : maybeFn!;
    const scope = currentScope(this.scopeKey) ?? this.newScope();
    const lock = (await this.take(key, options, scope, options.autoRenew ?? this.settings.autoRenew, true))!;
    try {
      return await runHolding(this.scopeKey, scope, lock, () => fn(lock));
    } finally {
      await lock.release().catch((error: unknown) => {
        this.logger.warn(`releasing lock '${key}' failed: ${(error as Error).message}; it expires by TTL`);
      });
    }
  }

  /**
   * Takes several keys all-or-nothing, in canonical (sorted) order, so that two callers asking
   * for overlapping sets can never deadlock. On failure every key already taken is released.
   */
  async acquireMany(keys: readonly string[], options: AcquireOptions = {}): Promise<LockGroup> {
    const ordered = [...new Set(keys)].sort();
    const scope = currentScope(this.scopeKey);
    const locks: Lock[] = [];
    try {
      for (const key of ordered) {
        locks.push((await this.take(key, options, scope, options.autoRenew ?? false, true))!);
      }
    } catch (error) {
      await Promise.allSettled(locks.map((l) => l.release()));
      throw error;
    }
    let released: Promise<boolean> | undefined;
    return {
      locks,
      signal: AbortSignal.any(locks.map((l) => l.signal)),
      release: () =>
        (released ??= Promise.all(locks.map((l) => l.release())).then((r) => r.every(Boolean))),
    };
  }

  /** Runs `fn` holding every key of `keys` (see {@link acquireMany}); releases on every path. */
  async usingMany<T>(
    keys: readonly string[],
    options: AcquireOptions,
    fn: (group: LockGroup) => Promise<T> | T,
  ): Promise<T> {
    const scope = currentScope(this.scopeKey) ?? this.newScope();
    return runInScope(this.scopeKey, scope, async () => {
      const group = await this.acquireMany(keys, {
        ...options,
        autoRenew: options.autoRenew ?? this.settings.autoRenew,
      });
      try {
        return await fn(group);
      } finally {
        await group.release().catch(() => undefined);
      }
    });
  }

  /** @internal Used by `@WithLock`. */
  runLocked<T>(key: string, options: AcquireOptions, fn: () => T): Promise<Awaited<T>> {
    return this.using(key, options, () => fn()) as Promise<Awaited<T>>;
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const held = [...this.heldLocks];
    await Promise.allSettled(held.map((lock) => lock.release()));
    await this.store.close();
  }

  /** @internal */
  onLost(lock: HeldLock, reason: LockLostReason): void {
    this.lostTotal.inc({ reason });
    this.logger.warn(`lock '${lock.key}' lost (${reason}), fencing token ${lock.fencingToken}`);
  }

  /** @internal */
  onEnded(lock: HeldLock): void {
    if (this.heldLocks.delete(lock)) this.heldGauge.dec();
    for (const [key, held] of this.scopes.get(lock) ?? []) {
      if (held.held.get(key) === lock) held.held.delete(key);
    }
    this.scopes.delete(lock);
  }

  private readonly scopes = new WeakMap<HeldLock, [string, LockScope][]>();

  private newScope(): LockScope {
    return { chain: `${this.instance}.${++this.chains}`, held: new Map() };
  }

  private async take(
    key: string,
    options: AcquireOptions,
    scope: LockScope | undefined,
    autoRenew: boolean,
    throwOnTimeout: boolean,
  ): Promise<Lock | undefined> {
    if (typeof key !== 'string' || key === '') throw new TypeError('a lock key must be a non-empty string');
    if (this.closed) throw new Error(`LockService is shut down; cannot acquire '${key}'`);
    const held = scope?.held.get(key);
    if (held !== undefined && held.isHeld) {
      if (options.reentrant ?? this.settings.reentrant) return new ReentrantLock(held);
      this.deadlocks.inc();
      throw new DeadlockError(key, [{ chain: scope!.chain, waitsFor: key }]);
    }
    const ttlMs = options.ttlMs ?? this.settings.ttlMs;
    const waitMs = options.waitMs ?? this.settings.waitMs;
    const fair = options.fair ?? this.settings.fair;
    const chain = scope?.chain ?? `${this.instance}.${++this.chains}`;
    const token = `${chain}.${++this.sequence}`;
    const start = performance.now();

    if (!fair || waitMs <= 0) {
      // One attempt without joining the queue: the whole uncontended path is this round trip.
      const result = await this.store.tryAcquire(key, token, ttlMs, { fair, enqueue: false });
      if (result.acquired) {
        this.acquiredSeconds.observe((performance.now() - start) / 1_000);
        return this.hold(key, token, result.fence, ttlMs, result.validityMs, start, autoRenew, scope);
      }
      if (waitMs <= 0) {
        this.contended.inc();
        if (!throwOnTimeout) return undefined;
        this.timeouts.inc();
        throw new LockTimeoutError(key, performance.now() - start);
      }
    }
    return this.wait(key, token, ttlMs, waitMs, fair, start, autoRenew, scope, options.abortSignal);
  }

  private async wait(
    key: string,
    token: string,
    ttlMs: number,
    waitMs: number,
    fair: boolean,
    start: number,
    autoRenew: boolean,
    scope: LockScope | undefined,
    abortSignal: AbortSignal | undefined,
  ): Promise<Lock> {
    const deadline = start + waitMs;
    let granted: (WaiterEvent & { type: 'grant'; at: number }) | undefined;
    let notified = false;
    let wakeUp: (() => void) | undefined;
    // Listening before the first attempt: a grant can be published before the attempt's reply.
    const unlisten = this.store.listen(token, (event) => {
      if (event.type === 'grant') granted = { ...event, at: performance.now() };
      notified = true;
      wakeUp?.();
    });
    const onAbort = () => wakeUp?.();
    abortSignal?.addEventListener('abort', onAbort);
    let waitsRecorded = false;
    let contended = false;
    let retryAfterMs = 0;
    let outcome = 'error';
    try {
      for (let attempt = 0; ; attempt++) {
        const sent = performance.now();
        notified = false;
        if (granted === undefined) {
          const result = await this.store.tryAcquire(key, token, ttlMs, {
            fair,
            enqueue: true,
            queued: attempt > 0,
          });
          if (result.acquired) {
            outcome = 'acquired';
            return this.hold(key, token, result.fence, ttlMs, result.validityMs, sent, autoRenew, scope);
          }
          retryAfterMs = result.retryAfterMs;
        }
        if (granted !== undefined) {
          outcome = 'acquired';
          const g = granted as { fence: number; ttlMs: number; at: number };
          return this.hold(key, token, g.fence, ttlMs, g.ttlMs, g.at, autoRenew, scope);
        }
        if (!contended) {
          contended = true;
          this.contended.inc();
        }
        const now = performance.now();
        if (abortSignal?.aborted || now >= deadline) {
          await this.store.cancel(key, token);
          if (abortSignal?.aborted) {
            outcome = 'aborted';
            throw abortSignal.reason;
          }
          outcome = 'timeout';
          this.timeouts.inc();
          throw new LockTimeoutError(key, now - start);
        }
        const detect = this.settings.deadlockDetection && scope !== undefined && scope.held.size > 0;
        if (detect) {
          await this.store.setWaitsFor(scope.chain, key, deadline - now + 2 * RECHECK_MS);
          waitsRecorded = true;
          const cycle = await this.findCycle(scope, key);
          if (cycle !== undefined) {
            await this.store.cancel(key, token);
            outcome = 'deadlock';
            this.deadlocks.inc();
            throw new DeadlockError(key, cycle);
          }
        }
        if (notified || granted !== undefined) continue;
        let sleep = Math.min(deadline - now, RECHECK_MS);
        if (retryAfterMs > 0) sleep = Math.min(sleep, retryAfterMs + 1);
        if (detect) sleep = Math.min(sleep, DEADLOCK_CHECK_MS);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, Math.max(1, sleep));
          function done() {
            clearTimeout(timer);
            wakeUp = undefined;
            resolve();
          }
          wakeUp = done;
        });
      }
    } catch (error) {
      if (outcome === 'error') await this.store.cancel(key, token).catch(() => undefined);
      throw error;
    } finally {
      unlisten();
      abortSignal?.removeEventListener('abort', onAbort);
      const seconds = (performance.now() - start) / 1_000;
      if (outcome === 'acquired') this.acquiredSeconds.observe(seconds);
      else this.acquireSeconds.observe({ outcome }, seconds);
      if (waitsRecorded) await this.store.setWaitsFor(scope!.chain, undefined, 0).catch(() => undefined);
    }
  }

  /**
   * Follows the wait-for graph from `key`: its holder's chain, the key that chain waits for, and
   * so on. A cycle back to this chain is a deadlock; every member sees the same cycle, and only
   * the member with the greatest chain id fails, so exactly one gives way.
   */
  private async findCycle(scope: LockScope, key: string): Promise<DeadlockEdge[] | undefined> {
    const cycle: DeadlockEdge[] = [{ chain: scope.chain, waitsFor: key }];
    const seen = new Set([scope.chain]);
    let next = key;
    for (let hop = 0; hop < 32; hop++) {
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

  private hold(
    key: string,
    token: string,
    fence: number,
    ttlMs: number,
    validityMs: number,
    validFrom: number,
    autoRenew: boolean,
    scope: LockScope | undefined,
  ): HeldLock {
    const lock = new HeldLock(this, key, token, fence, ttlMs, validityMs, validFrom, autoRenew);
    this.heldLocks.add(lock);
    this.heldGauge.inc();
    if (scope !== undefined) {
      scope.held.set(key, lock);
      this.scopes.set(lock, [[key, scope]]);
    }
    return lock;
  }
}
