import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { KeelMetrics, type FastHistogram, type FastHistogramChild } from '@keel/core';
import type { Counter, Gauge } from 'prom-client';
import { HeldLock, ReentrantLock, type HoldTarget, type Lock, type LockHost } from './lock.js';
import { currentScope, runHolding, runInScope, type LockScope } from './lock-context.js';
import { LOCKS_SETTINGS } from './locks.constants.js';
import {
  invalidPermits,
  lockKeyHasBrace,
  lockKeyNotAString,
  lockLostWarning,
  releaseFailed,
  semaphoresUnsupported,
  serviceShutDown,
} from './locks.messages.js';
import { LOCKS_METRICS } from './locks.metrics.js';
import {
  DeadlockError,
  InvalidLockKeyError,
  LocksError,
  LockTimeoutError,
  type DeadlockEdge,
  type LockLostReason,
} from './locks.errors.js';
import type { AcquireOptions, LocksSettings } from './interfaces/locks-options.interface.js';
import {
  LockStore,
  type StoreAcquireMode,
  type StoreAcquireResult,
  type WaiterEvent,
} from './stores/lock.store.js';

/** Longest sleep of a waiter between checks: keeps its queue entry alive and covers a lost message. */
const RECHECK_MS = 1_000;
/** Interval of the wait-for graph check of a waiter that holds other locks. */
const DEADLOCK_CHECK_MS = 200;

/** Permits of a read-write lock: a writer takes them all, a reader one. */
const RW_PERMITS = 1 << 30;

/** Acquisition methods of a semaphore or one side of a read-write lock. @publicApi */
export interface LockHandle {
  /** Waits up to `waitMs` for a permit. @throws LockTimeoutError */
  acquire(options?: AcquireOptions): Promise<Lock>;
  /** A permit if one is free now, else `undefined`. */
  tryAcquire(options?: Omit<AcquireOptions, 'waitMs'>): Promise<Lock | undefined>;
  /** Runs `fn` holding a permit, released on every path, renewed while it runs. */
  using<T>(fn: (lock: Lock) => Promise<T> | T): Promise<T>;
  using<T>(options: AcquireOptions, fn: (lock: Lock) => Promise<T> | T): Promise<T>;
}

/** A counting semaphore (see {@link LockService.semaphore}). @publicApi */
export interface Semaphore extends LockHandle {
  readonly key: string;
  readonly permits: number;
}

/** A read-write lock (see {@link LockService.readWriteLock}). @publicApi */
export interface ReadWriteLock {
  readonly key: string;
  /** Shared: any number of readers while no writer holds or waits ahead. */
  readonly read: LockHandle;
  /** Exclusive: no reader and no other writer. */
  readonly write: LockHandle;
}

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
  /** The call chain each exclusive hold belongs to, for reentrancy and deadlock detection. */
  private readonly scopeOf = new WeakMap<HeldLock, LockScope>();
  private chains = 0;
  private sequence = 0;
  private closed = false;
  private readonly acquireSeconds: FastHistogram<'outcome'>;
  private readonly acquiredSeconds: FastHistogramChild;
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
    // Observed on every acquisition: the label set is resolved once (see FastHistogram).
    this.acquireSeconds = metrics.fastHistogram(LOCKS_METRICS.acquireSeconds);
    this.acquiredSeconds = this.acquireSeconds.child({ outcome: 'acquired' });
    this.contended = metrics.counter(LOCKS_METRICS.contended);
    this.timeouts = metrics.counter(LOCKS_METRICS.timeouts);
    this.lostTotal = metrics.counter(LOCKS_METRICS.lost);
    this.deadlocks = metrics.counter(LOCKS_METRICS.deadlocks);
    this.heldGauge = metrics.gauge(LOCKS_METRICS.held);
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
    const scope = currentScope(this.scopeKey);
    return this.take(
      this.lockTarget(key),
      options,
      scope,
      options.autoRenew ?? false,
      true,
    ) as Promise<Lock>;
  }

  /** Takes `key` if it is free right now; `undefined` when it is held. Never waits. */
  tryAcquire(key: string, options: Omit<AcquireOptions, 'waitMs'> = {}): Promise<Lock | undefined> {
    const scope = currentScope(this.scopeKey);
    return this.take(
      this.lockTarget(key),
      { ...options, waitMs: 0 },
      scope,
      options.autoRenew ?? false,
      false,
    );
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
    return this.usingTarget(this.lockTarget(key), options, fn);
  }

  /**
   * A counting semaphore: at most `permits` holders of `key` at once across every process, each
   * hold fenced, expiring and renewable like a lock. Not available in quorum mode.
   * @example
   * ```ts
   * const exports = this.locks.semaphore('exports', 3);
   * await exports.using(async (permit) => this.runExport(permit.signal));
   * ```
   */
  semaphore(key: string, permits: number): Semaphore {
    checkLockKey(key);
    if (!Number.isInteger(permits) || permits < 1) {
      throw new RangeError(invalidPermits({ key, permits }));
    }
    const handle = (weight: number, defaults: AcquireOptions): LockHandle =>
      this.handle(() => this.semaphoreTarget(`sem:${key}`, key, weight, permits), defaults);
    return { key, permits, ...handle(1, {}) };
  }

  /**
   * A read-write lock: many readers or one writer. Waiting is fair (FIFO) by default so a stream
   * of readers cannot starve a writer. Not available in quorum mode.
   * @example
   * ```ts
   * const catalog = this.locks.readWriteLock('catalog');
   * await catalog.read.using(() => this.render());
   * await catalog.write.using(() => this.reindex());
   * ```
   */
  readWriteLock(key: string): ReadWriteLock {
    checkLockKey(key);
    const make = (weight: number) =>
      this.handle(() => this.semaphoreTarget(`rw:${key}`, key, weight, RW_PERMITS), { fair: true });
    return { key, read: make(1), write: make(RW_PERMITS) };
  }

  private handle(target: () => HoldTarget, defaults: AcquireOptions): LockHandle {
    const withDefaults = (options: AcquireOptions = {}) => ({ ...defaults, ...options });
    return {
      acquire: (options) => {
        const o = withDefaults(options);
        return this.take(target(), o, undefined, o.autoRenew ?? false, true) as Promise<Lock>;
      },
      tryAcquire: (options) => {
        const o = withDefaults(options);
        return this.take(target(), { ...o, waitMs: 0 }, undefined, o.autoRenew ?? false, false);
      },
      using: <T>(
        optionsOrFn: AcquireOptions | ((lock: Lock) => Promise<T> | T),
        maybeFn?: (lock: Lock) => Promise<T> | T,
      ) => {
        const options = typeof optionsOrFn === 'function' ? {} : optionsOrFn;
        const fn = typeof optionsOrFn === 'function' ? optionsOrFn : maybeFn!;
        return this.usingTarget(target(), withDefaults(options), fn);
      },
    } as LockHandle;
  }

  private async usingTarget<T>(
    target: HoldTarget,
    options: AcquireOptions,
    fn: (lock: Lock) => Promise<T> | T,
  ): Promise<T> {
    const scope = currentScope(this.scopeKey) ?? this.newScope();
    const autoRenew = options.autoRenew ?? this.settings.autoRenew;
    const lock = (await this.take(target, options, scope, autoRenew, true))!;
    try {
      return await runHolding(this.scopeKey, scope, lock, () => fn(lock));
    } finally {
      await lock.release().catch((error: unknown) => {
        this.logger.warn(releaseFailed({ key: target.key, error: (error as Error).message }));
      });
    }
  }

  private lockTarget(key: string): HoldTarget {
    return new LockTarget(this.store, key);
  }

  private semaphoreTarget(
    storeKey: string,
    key: string,
    weight: number,
    permits: number,
  ): HoldTarget {
    const semaphores = this.store.semaphores;
    if (semaphores === undefined) {
      throw new LocksError(
        'KEEL_LOCKS_UNSUPPORTED',
        semaphoresUnsupported({ key, store: this.store.kind }),
      );
    }
    return {
      key,
      exclusive: false,
      tryAcquire: (token, ttlMs, mode) =>
        semaphores.tryAcquire(storeKey, token, ttlMs, weight, permits, mode),
      release: (token, fence) => semaphores.release(storeKey, token, fence, permits),
      extend: (token, fence, ttlMs) => semaphores.extend(storeKey, token, fence, ttlMs),
      cancel: (token) => semaphores.cancel(storeKey, token, permits),
    };
  }

  /**
   * Takes several keys all-or-nothing, in canonical (sorted) order, so that two callers asking
   * for overlapping sets can never deadlock. On failure every key already taken is released.
   */
  async acquireMany(keys: readonly string[], options: AcquireOptions = {}): Promise<LockGroup> {
    // All keys checked before any is taken: a refused key never leaves the others held.
    for (const key of keys) checkLockKey(key);
    const ordered = [...new Set(keys)].sort();
    const scope = currentScope(this.scopeKey);
    const locks: Lock[] = [];
    try {
      for (const key of ordered) {
        locks.push(
          (await this.take(
            this.lockTarget(key),
            options,
            scope,
            options.autoRenew ?? false,
            true,
          ))!,
        );
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

  /**
   * Releases every lock this instance still holds (so waiters elsewhere need not wait out the
   * TTL) and stops the store's subscription. Idempotent.
   */
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
    this.logger.warn(lockLostWarning({ key: lock.key, reason, fencingToken: lock.fencingToken }));
  }

  /** @internal */
  onEnded(lock: HeldLock): void {
    if (this.heldLocks.delete(lock)) this.heldGauge.dec();
    const scope = this.scopeOf.get(lock);
    if (scope !== undefined && scope.held.get(lock.key) === lock) scope.held.delete(lock.key);
  }

  private newScope(): LockScope {
    return { chain: `${this.instance}.${++this.chains}`, held: new Map() };
  }

  private async take(
    target: HoldTarget,
    options: AcquireOptions,
    scope: LockScope | undefined,
    autoRenew: boolean,
    throwOnTimeout: boolean,
  ): Promise<Lock | undefined> {
    const key = target.key;
    checkLockKey(key);
    if (this.closed) throw new LocksError('KEEL_LOCKS_SHUT_DOWN', serviceShutDown({ key }));
    const held = target.exclusive ? scope?.held.get(key) : undefined;
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
      const result = await target.tryAcquire(token, ttlMs, { fair, enqueue: false });
      if (result.acquired) {
        this.acquiredSeconds.observe((performance.now() - start) / 1_000);
        return this.hold(
          target,
          token,
          result.fence,
          ttlMs,
          result.validityMs,
          start,
          autoRenew,
          scope,
        );
      }
      if (waitMs <= 0) {
        this.contended.inc();
        if (!throwOnTimeout) return undefined;
        this.timeouts.inc();
        throw new LockTimeoutError(key, performance.now() - start);
      }
    }
    return this.wait(
      target,
      token,
      ttlMs,
      waitMs,
      fair,
      start,
      autoRenew,
      scope,
      options.abortSignal,
    );
  }

  private async wait(
    target: HoldTarget,
    token: string,
    ttlMs: number,
    waitMs: number,
    fair: boolean,
    start: number,
    autoRenew: boolean,
    scope: LockScope | undefined,
    abortSignal: AbortSignal | undefined,
  ): Promise<Lock> {
    const key = target.key;
    const deadline = start + waitMs;
    let granted: (WaiterEvent & { type: 'grant'; at: number }) | undefined;
    let notified: boolean;
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
          const result = await target.tryAcquire(token, ttlMs, {
            fair,
            enqueue: true,
            queued: attempt > 0,
          });
          if (result.acquired) {
            outcome = 'acquired';
            return this.hold(
              target,
              token,
              result.fence,
              ttlMs,
              result.validityMs,
              sent,
              autoRenew,
              scope,
            );
          }
          retryAfterMs = result.retryAfterMs;
        }
        if (granted !== undefined) {
          outcome = 'acquired';
          const g = granted as { fence: number; ttlMs: number; at: number };
          return this.hold(target, token, g.fence, ttlMs, g.ttlMs, g.at, autoRenew, scope);
        }
        if (!contended) {
          contended = true;
          this.contended.inc();
        }
        const now = performance.now();
        if (abortSignal?.aborted || now >= deadline) {
          await target.cancel(token);
          if (abortSignal?.aborted) {
            outcome = 'aborted';
            throw abortSignal.reason;
          }
          outcome = 'timeout';
          this.timeouts.inc();
          throw new LockTimeoutError(key, now - start);
        }
        const detect =
          target.exclusive &&
          this.settings.deadlockDetection &&
          scope !== undefined &&
          scope.held.size > 0;
        if (detect) {
          await this.store.setWaitsFor(scope.chain, key, deadline - now + 2 * RECHECK_MS);
          waitsRecorded = true;
          const cycle = await this.findCycle(scope, key);
          if (cycle !== undefined) {
            await target.cancel(token);
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
      if (outcome === 'error') await target.cancel(token).catch(() => undefined);
      throw error;
    } finally {
      unlisten();
      abortSignal?.removeEventListener('abort', onAbort);
      const seconds = (performance.now() - start) / 1_000;
      if (outcome === 'acquired') this.acquiredSeconds.observe(seconds);
      else this.acquireSeconds.observe({ outcome }, seconds);
      if (waitsRecorded)
        await this.store.setWaitsFor(scope!.chain, undefined, 0).catch(() => undefined);
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
    target: HoldTarget,
    token: string,
    fence: number,
    ttlMs: number,
    validityMs: number,
    validFrom: number,
    autoRenew: boolean,
    scope: LockScope | undefined,
  ): HeldLock {
    const lock = new HeldLock(this, target, token, fence, ttlMs, validityMs, validFrom, autoRenew);
    this.heldLocks.add(lock);
    this.heldGauge.inc();
    if (scope !== undefined && target.exclusive) {
      scope.held.set(target.key, lock);
      this.scopeOf.set(lock, scope);
    }
    return lock;
  }
}

/**
 * Refuses a key that is not a non-empty string or that contains `{` or `}`: every store keeps the
 * lock's Redis keys under the key wrapped in one `{hash tag}`, and a brace would move the tag
 * (on a cluster, a leading `}` leaves it empty and the lock's keys on different slots). Checked
 * here, not in a store, so that every store refuses the same keys.
 */
function checkLockKey(key: string): void {
  if (typeof key !== 'string' || key === '') {
    throw new InvalidLockKeyError(String(key), lockKeyNotAString());
  }
  if (key.includes('{') || key.includes('}')) {
    throw new InvalidLockKeyError(key, lockKeyHasBrace());
  }
}

/** A plain lock as a hold target: one object per acquisition, on the uncontended path. */
class LockTarget implements HoldTarget {
  readonly exclusive = true;
  constructor(
    private readonly store: LockStore,
    readonly key: string,
  ) {}
  tryAcquire(token: string, ttlMs: number, mode: StoreAcquireMode): Promise<StoreAcquireResult> {
    return this.store.tryAcquire(this.key, token, ttlMs, mode);
  }
  release(token: string, fence: number): Promise<boolean> {
    return this.store.release(this.key, token, fence);
  }
  extend(token: string, fence: number, ttlMs: number): Promise<boolean> {
    return this.store.extend(this.key, token, fence, ttlMs);
  }
  cancel(token: string): Promise<void> {
    return this.store.cancel(this.key, token);
  }
}
