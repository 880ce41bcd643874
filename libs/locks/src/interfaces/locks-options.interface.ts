import type { KeelRedisOptions } from '@keel/core';

/** Quorum (Redlock) mode: N independent Redis masters; a lock needs a majority. @publicApi */
export interface QuorumStoreOptions {
  /** The nodes, ideally an odd number (3 or 5) of independent masters. */
  readonly quorum: readonly KeelRedisOptions[];
  /** Clock drift allowance, as a fraction of the TTL (plus 2 ms). @default 0.01 */
  readonly clockDriftFactor?: number;
  /** How long one node may take to answer before it counts as failed. @default 250 */
  readonly nodeTimeoutMs?: number;
}

/** Where locks live. @publicApi */
export type LockStoreOption = 'memory' | 'redis' | QuorumStoreOptions;

/**
 * Options of `LocksModule.forRoot()`. Every option may also come from the YAML section `locks`
 * (`locks.ttlMs: 10000`). Precedence, per key: `forRoot` > YAML > default (the module reads no
 * environment variable).
 * @publicApi
 */
export interface LocksModuleOptions {
  /**
   * Where locks live: `'memory'` (one process), `'redis'` (KeelCoreModule's Redis) or a quorum of
   * independent Redis nodes. `'redis'` without Redis in KeelCoreModule stops startup.
   * @default 'redis' when KeelCoreModule has Redis, else 'memory'
   */
  readonly store?: LockStoreOption;
  /**
   * Time to live of a hold that is not renewed, in milliseconds (at least 10).
   * @default 30000
   */
  readonly ttlMs?: number;
  /**
   * Renew holds at ttl/3 in `using()` and `@WithLock` (acquire() opts in per call).
   * @default true
   */
  readonly autoRenew?: boolean;
  /**
   * How long to wait for a held lock before LockTimeoutError, in milliseconds.
   * @default 10000
   */
  readonly waitMs?: number;
  /** Grant in arrival order. @default false */
  readonly fair?: boolean;
  /**
   * Let a call chain re-acquire a key it already holds.
   * @default false
   */
  readonly reentrant?: boolean;
  /**
   * Detect wait-for cycles across processes and fail one waiter with DeadlockError.
   * @default true
   */
  readonly deadlockDetection?: boolean;
  /**
   * Appended to KeelCoreModule's redisKeyPrefix.
   * @default 'locks:'
   */
  readonly keyPrefix?: string;
}

/** Options of one acquisition; unset fields take the module's defaults. @publicApi */
export interface AcquireOptions {
  /** Time to live of the hold when not renewed. */
  readonly ttlMs?: number;
  /** Longest wait for a held lock; 0 tries once. */
  readonly waitMs?: number;
  /** Queue in arrival order and receive the lock from the releaser directly. */
  readonly fair?: boolean;
  /** Within a `using` / `@WithLock` call chain that already holds the key, reuse that hold. */
  readonly reentrant?: boolean;
  /**
   * Renew the hold at ttl/3 until released.
   * @default false for acquire()/tryAcquire(), the module's `autoRenew` for using() and @WithLock
   */
  readonly autoRenew?: boolean;
  /** Aborting it stops the wait with the signal's reason. */
  readonly abortSignal?: AbortSignal;
}

/**
 * The settings in force, after options, environment, YAML and defaults; a quorum store has its
 * defaults filled in.
 * @internal
 */
export interface LocksSettings {
  readonly store: LockStoreOption;
  readonly ttlMs: number;
  readonly autoRenew: boolean;
  readonly waitMs: number;
  readonly fair: boolean;
  readonly reentrant: boolean;
  readonly deadlockDetection: boolean;
  readonly keyPrefix: string;
}
