import { Inject } from '@nestjs/common';
/**
 * How long a queue entry lives without being refreshed by its waiter, in every store: a crashed
 * waiter cannot hold the queue up for longer.
 * @internal
 */
export const QUEUE_LEASE_MS = 3_000;

/**
 * Result of one acquisition attempt. `validityMs` is how long the grant is valid from the moment
 * the attempt was sent (the holder must assume expiry no later than that).
 * @publicApi
 */
export type StoreAcquireResult =
  | { readonly acquired: true; readonly fence: number; readonly validityMs: number }
  | {
      readonly acquired: false;
      /** When the current hold expires unless renewed, in ms; the waiter re-checks then. */
      readonly retryAfterMs: number;
    };

/**
 * What a waiter hears from the store: `grant` (the lock was handed to it on release — it holds
 * the lock now, with this fence) or `wake` (the lock was released; try again).
 * @publicApi
 */
export type WaiterEvent =
  | { readonly type: 'grant'; readonly fence: number; readonly ttlMs: number }
  | { readonly type: 'wake' };

/** Options of one acquisition attempt. @publicApi */
export interface StoreAcquireMode {
  /** Grant in arrival order: a free lock goes to the first live waiter, not to a newcomer. */
  readonly fair: boolean;
  /** On failure, join (or refresh the place in) the key's wait queue to be woken on release. */
  readonly enqueue: boolean;
  /** This token joined the queue in an earlier attempt (so a grant must take it off). */
  readonly queued?: boolean;
}

/**
 * A lock store: exclusive, expiring, fenced holds per key, a wait queue per key, and push
 * notification of waiters. Implementations: memory (one process), Redis, quorum (Redlock over
 * several Redis nodes). Every implementation passes the same contract suite.
 * @publicApi
 */
export interface LockStore {
  /** `memory`, `redis` or `quorum`, for logs and health. */
  readonly kind: 'memory' | 'redis' | 'quorum';
  /** True when a release hands the lock straight to the first fair waiter (push hand-off). */
  readonly pushHandoff: boolean;
  /** One attempt: takes the lock for `token` when free (or already granted to `token`). */
  tryAcquire(
    key: string,
    token: string,
    ttlMs: number,
    mode: StoreAcquireMode,
  ): Promise<StoreAcquireResult>;
  /** Releases the hold of `token`; false when it no longer held the lock. Wakes the next waiter. */
  release(key: string, token: string, fence: number): Promise<boolean>;
  /** Pushes the expiry of `token`'s hold to `ttlMs` from now; false when it no longer holds it. */
  extend(key: string, token: string, fence: number, ttlMs: number): Promise<boolean>;
  /** Leaves the wait queue; if the lock was granted to `token` meanwhile, releases it. */
  cancel(key: string, token: string): Promise<void>;
  /** Registers the listener of a waiter's events; returns the unregister function. */
  listen(token: string, listener: (event: WaiterEvent) => void): () => void;
  /** Resolves once notifications can be received (e.g. the subscription is active). */
  ready(): Promise<void>;
  /** Token of the current holder of `key`, or undefined. */
  holder(key: string): Promise<string | undefined>;
  /** Records (or, with `undefined`, clears) the key a call chain waits for, for deadlock detection. */
  setWaitsFor(chain: string, key: string | undefined, ttlMs: number): Promise<void>;
  /** The key a call chain waits for, or undefined. */
  waitsFor(chain: string): Promise<string | undefined>;
  /** Round trip to the store, in ms; throws when unreachable. */
  ping(): Promise<number>;
  /**
   * The state of the store's connection when it is known to be unusable right now (a Redis
   * connection that is reconnecting or closed), else undefined. Readiness reports such a store
   * down at once instead of waiting out the client's retries on a ping.
   */
  unusableConnection?(): string | undefined;
  /** Stops notifications and timers. Idempotent. */
  close(): Promise<void>;
  /**
   * Weighted semaphores on the same store (waiters share `listen`), or `undefined` where the
   * store has none (quorum mode).
   */
  readonly semaphores?: SemaphoreStore;
}

/**
 * Counting semaphores with weights: a holder takes `weight` of `permits`. Holds expire, are
 * fenced and renewable like locks; waiters queue and are woken (or, when fair, granted) on
 * release. A read-write lock is a semaphore where a reader weighs 1 and a writer all permits.
 * @publicApi
 */
export interface SemaphoreStore {
  tryAcquire(
    key: string,
    token: string,
    ttlMs: number,
    weight: number,
    permits: number,
    mode: StoreAcquireMode,
  ): Promise<StoreAcquireResult>;
  release(key: string, token: string, fence: number, permits: number): Promise<boolean>;
  extend(key: string, token: string, fence: number, ttlMs: number): Promise<boolean>;
  cancel(key: string, token: string, permits: number): Promise<void>;
}

/** Injection token of the application's {@link LockStore}. @publicApi */
export const LockStore = Symbol('LockStore');

/**
 * Injects the application's {@link LockStore} (the one `LocksModule` exports).
 *
 * @example
 * ```ts
 * constructor(@InjectLockStore() private readonly store: LockStore) {}
 * ```
 * @publicApi
 */
export const InjectLockStore = (): PropertyDecorator & ParameterDecorator => Inject(LockStore);
