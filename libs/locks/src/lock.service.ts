import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { KeelArgumentError, KeelMetrics } from '@keel/core';
import { DeadlockDetector } from './deadlock-detector.js';
import { HoldRegistry } from './hold-registry.js';
import { LockTarget, semaphoreTarget } from './hold-targets.js';
import { currentScope, runHolding, runInScope, type LockScope } from './lock-context.js';
import { LockInstruments } from './lock-instruments.js';
import { LockWaiter } from './lock-waiter.js';
import { ReentrantLock, type HoldTarget, type Lock } from './lock.js';
import { LOCKS_SETTINGS } from './locks.constants.js';
import {
  DeadlockError,
  InvalidLockKeyError,
  LocksError,
  LockTimeoutError,
} from './locks.errors.js';
import {
  invalidPermits,
  lockKeyHasBrace,
  lockKeyNotAString,
  releaseFailed,
  serviceShutDown,
} from './locks.messages.js';
import type { AcquireOptions, LocksSettings } from './interfaces/locks-options.interface.js';
import { LockStore } from './stores/lock.store.js';

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
export class LockService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('KeelLocks');
  private readonly instance = randomBytes(6).toString('base64url');
  private readonly scopeKey = Symbol('keel.locks.scope');
  private readonly instruments: LockInstruments;
  private readonly holds: HoldRegistry;
  private readonly waiter: LockWaiter;
  private chains = 0;
  private sequence = 0;
  private closed = false;

  constructor(
    /** @internal */
    @Inject(LockStore) readonly store: LockStore,
    @Inject(LOCKS_SETTINGS) private readonly settings: LocksSettings,
    @Inject(KeelMetrics) metrics: KeelMetrics,
  ) {
    this.instruments = new LockInstruments(metrics);
    this.holds = new HoldRegistry(this.instruments, this.logger);
    this.waiter = new LockWaiter({
      store,
      holds: this.holds,
      deadlocks: new DeadlockDetector(store, settings.deadlockDetection),
      instruments: this.instruments,
    });
  }

  /** Number of locks this instance holds right now. */
  get heldCount(): number {
    return this.holds.size;
  }

  /**
   * Acquires `key`, waiting up to `waitMs` (woken on release, never polling).
   * @throws LockTimeoutError when the wait ends first; DeadlockError when waiting would never end.
   */
  acquire(key: string, options: AcquireOptions = {}): Promise<Lock> {
    const scope = currentScope(this.scopeKey);
    return this.take({
      target: this.lockTarget(key),
      options,
      scope,
      autoRenew: options.autoRenew ?? false,
      throwOnTimeout: true,
    }) as Promise<Lock>;
  }

  /** Takes `key` if it is free right now; `undefined` when it is held. Never waits. */
  tryAcquire(key: string, options: Omit<AcquireOptions, 'waitMs'> = {}): Promise<Lock | undefined> {
    const scope = currentScope(this.scopeKey);
    return this.take({
      target: this.lockTarget(key),
      options: { ...options, waitMs: 0 },
      scope,
      autoRenew: options.autoRenew ?? false,
      throwOnTimeout: false,
    });
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
      throw new KeelArgumentError(invalidPermits({ key, permits }));
    }
    const handle = (weight: number, defaults: AcquireOptions): LockHandle =>
      this.handle(
        () => semaphoreTarget(this.store, { storeKey: `sem:${key}`, key, weight, permits }),
        defaults,
      );
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
      this.handle(
        () =>
          semaphoreTarget(this.store, { storeKey: `rw:${key}`, key, weight, permits: RW_PERMITS }),
        { fair: true },
      );
    return { key, read: make(1), write: make(RW_PERMITS) };
  }

  private handle(target: () => HoldTarget, defaults: AcquireOptions): LockHandle {
    const withDefaults = (options: AcquireOptions = {}) => ({ ...defaults, ...options });
    return {
      acquire: (options) => {
        const o = withDefaults(options);
        return this.take({
          target: target(),
          options: o,
          scope: undefined,
          autoRenew: o.autoRenew ?? false,
          throwOnTimeout: true,
        }) as Promise<Lock>;
      },
      tryAcquire: (options) => {
        const o = withDefaults(options);
        return this.take({
          target: target(),
          options: { ...o, waitMs: 0 },
          scope: undefined,
          autoRenew: o.autoRenew ?? false,
          throwOnTimeout: false,
        });
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
    const lock = (await this.take({ target, options, scope, autoRenew, throwOnTimeout: true }))!;
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
          (await this.take({
            target: this.lockTarget(key),
            options,
            scope,
            autoRenew: options.autoRenew ?? false,
            throwOnTimeout: true,
          }))!,
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
    await this.holds.releaseAll();
    await this.store.close();
  }

  private newScope(): LockScope {
    return { chain: `${this.instance}.${++this.chains}`, held: new Map() };
  }

  /**
   * One acquisition: reentrancy first (a chain that holds the key), then a single attempt
   * without joining the queue — the whole uncontended path is that round trip — and, when the
   * lock is held and waiting is allowed (or fair queueing is asked for), the wait loop.
   */
  private async take(request: TakeRequest): Promise<Lock | undefined> {
    const { target, options, scope } = request;
    const key = target.key;
    checkLockKey(key);
    if (this.closed) throw new LocksError('KEEL_LOCKS_SHUT_DOWN', serviceShutDown({ key }));
    const held = target.exclusive ? scope?.held.get(key) : undefined;
    if (held !== undefined && held.isHeld) {
      if (options.reentrant ?? this.settings.reentrant) return new ReentrantLock(held);
      this.instruments.deadlocks.inc();
      throw new DeadlockError(key, [{ chain: scope!.chain, waitsFor: key }]);
    }
    const ttlMs = options.ttlMs ?? this.settings.ttlMs;
    const waitMs = options.waitMs ?? this.settings.waitMs;
    const fair = options.fair ?? this.settings.fair;
    const chain = scope?.chain ?? `${this.instance}.${++this.chains}`;
    const token = `${chain}.${++this.sequence}`;
    const start = performance.now();
    const autoRenew = request.autoRenew;

    if (!fair || waitMs <= 0) {
      const result = await target.tryAcquire(token, ttlMs, { fair, enqueue: false });
      if (result.acquired) {
        this.instruments.acquiredSeconds.observe((performance.now() - start) / 1_000);
        const { fence: fencingToken, validityMs } = result;
        return this.holds.hold({
          target,
          token,
          fencingToken,
          ttlMs,
          validityMs,
          validFrom: start,
          autoRenew,
          scope,
        });
      }
      if (waitMs <= 0) {
        this.instruments.contended.inc();
        if (!request.throwOnTimeout) return undefined;
        this.instruments.timeouts.inc();
        throw new LockTimeoutError(key, performance.now() - start);
      }
    }
    const abortSignal = options.abortSignal;
    return this.waiter.wait({
      target,
      token,
      ttlMs,
      waitMs,
      fair,
      start,
      autoRenew,
      scope,
      abortSignal,
    });
  }
}

/** One call of {@link LockService.take}. */
interface TakeRequest {
  readonly target: HoldTarget;
  readonly options: AcquireOptions;
  /** The call chain, when inside a `using` / `@WithLock` scope. */
  readonly scope: LockScope | undefined;
  readonly autoRenew: boolean;
  /** `acquire` throws LockTimeoutError when the lock stays held; `tryAcquire` returns undefined. */
  readonly throwOnTimeout: boolean;
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
