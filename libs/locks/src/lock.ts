import { LockLostError, type LockLostReason } from './locks.errors.js';
import type { StoreAcquireMode, StoreAcquireResult } from './stores/lock.store.js';

/**
 * A held lock.
 * @publicApi
 */
export interface Lock {
  /** The key as the caller gave it. */
  readonly key: string;
  /** This hold's identity in the store; only this holder can extend or release it. */
  readonly token: string;
  /**
   * Strictly increasing per key across all holders: pass it with every write to the protected
   * resource, which rejects writes carrying a lower token than one it already saw. That is what
   * keeps a paused or partitioned former holder from corrupting data (see `fencedUpdate`).
   */
  readonly fencingToken: number;
  /**
   * Aborted (with a {@link LockLostError} as reason) when the lock is lost: renewal rejected, the
   * hold expired, or the store stayed unreachable past the hold's validity. Pass it to work that
   * must stop when the lock is gone (`fetch`, database drivers, loops checking `aborted`).
   */
  readonly signal: AbortSignal;
  /** False once released or lost. */
  readonly isHeld: boolean;
  /** Milliseconds of guaranteed validity left (0 once lost or released). */
  remainingMs(): number;
  /**
   * Pushes the expiry to `ttlMs` from now (default: the hold's TTL).
   * @returns false when the lock had already been lost (its signal is then aborted).
   */
  extend(ttlMs?: number): Promise<boolean>;
  /**
   * Releases the lock and hands it to the next waiter. Idempotent: later calls return the first
   * call's result. Never deletes another holder's lock.
   * @returns true when released, false when this holder no longer held it (it had expired or
   *   been lost), which means another holder may have run concurrently.
   */
  release(): Promise<boolean>;
}

/** What a held lock reports back to its service. @internal */
export interface LockHost {
  onLost(lock: HeldLock, reason: LockLostReason): void;
  onEnded(lock: HeldLock): void;
}

/**
 * One lockable resource as the service drives it: a lock key, a semaphore, one side of a
 * read-write lock.
 * @internal
 */
export interface HoldTarget {
  /** The key as the caller gave it. */
  readonly key: string;
  /** True for exclusive locks: reentrancy and deadlock detection apply. */
  readonly exclusive: boolean;
  tryAcquire(token: string, ttlMs: number, mode: StoreAcquireMode): Promise<StoreAcquireResult>;
  release(token: string, fence: number): Promise<boolean>;
  extend(token: string, fence: number, ttlMs: number): Promise<boolean>;
  cancel(token: string): Promise<void>;
}

/** A grant, as a {@link HeldLock} is made from it. @internal */
export interface HoldSpec {
  /** What is held (a lock key, a semaphore permit). */
  readonly target: HoldTarget;
  /** This hold's identity in the store. */
  readonly token: string;
  /** The fence the store granted with. */
  readonly fencingToken: number;
  /** The TTL asked for; renewals push the expiry this far. */
  readonly ttlMs: number;
  /** How long the grant is valid from `validFrom` (the store's answer). */
  readonly validityMs: number;
  /** `performance.now()` when the granting attempt was sent (or the grant was heard). */
  readonly validFrom: number;
  /** Renew at ttl/3 until released. */
  readonly autoRenew: boolean;
}

/** Validity lost to clock drift between this process and the store, as Redlock counts it. */
export function driftMs(ttlMs: number): number {
  return Math.ceil(ttlMs * 0.01) + 2;
}

/**
 * A hold on one key, with its renewal watchdog and expiry timer — one timer per hold: it fires
 * at the next renewal (ttl/3) or, without renewal or while renewals fail, when validity ends.
 * @internal
 */
export class HeldLock implements Lock {
  // Created on first use: most holds are released without anyone reading their signal.
  private controller: AbortController | undefined;
  private validUntil: number;
  private nextRenewal: number;
  private readonly renewEvery: number;
  private timer: NodeJS.Timeout | undefined;
  private renewing = false;
  /** The last renewal failed without an answer from the store (not a rejection). */
  private renewalFailed = false;
  private ended = false;
  private lost = false;
  private released: Promise<boolean> | undefined;

  readonly key: string;
  readonly token: string;
  readonly fencingToken: number;
  private readonly target: HoldTarget;
  private readonly ttlMs: number;

  constructor(
    private readonly host: LockHost,
    hold: HoldSpec,
  ) {
    this.target = hold.target;
    this.key = hold.target.key;
    this.token = hold.token;
    this.fencingToken = hold.fencingToken;
    this.ttlMs = hold.ttlMs;
    this.validUntil = hold.validFrom + hold.validityMs - driftMs(hold.ttlMs);
    // Redisson's watchdog cadence: renew at a third of the TTL, so two renewals can fail
    // before the hold expires.
    this.renewEvery = hold.autoRenew ? Math.max(1, Math.floor(hold.ttlMs / 3)) : 0;
    this.nextRenewal = hold.autoRenew ? hold.validFrom + this.renewEvery : Number.POSITIVE_INFINITY;
    this.schedule();
  }

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  get isHeld(): boolean {
    return !this.ended && !this.lost;
  }

  remainingMs(): number {
    return this.isHeld ? Math.max(0, this.validUntil - performance.now()) : 0;
  }

  async extend(ttlMs = this.ttlMs): Promise<boolean> {
    if (!this.isHeld) return false;
    const sent = performance.now();
    const ok = await this.target.extend(this.token, this.fencingToken, ttlMs);
    if (!this.isHeld) return false;
    if (!ok) {
      this.lose('renewal-rejected');
      return false;
    }
    this.validUntil = sent + ttlMs - driftMs(ttlMs);
    if (this.renewEvery > 0) this.nextRenewal = sent + this.renewEvery;
    this.schedule();
    return true;
  }

  release(): Promise<boolean> {
    if (this.released !== undefined) return this.released;
    const wasLost = this.lost;
    this.stop();
    // Even a hold that looks lost locally is released in the store: compare-and-delete only
    // removes it if it is still ours, and it frees the key sooner when it is.
    const released = this.target.release(this.token, this.fencingToken);
    this.released = wasLost ? released.then(() => false) : released;
    return this.released;
  }

  private schedule(): void {
    if (!this.isHeld) return;
    const at = Math.min(this.nextRenewal, this.validUntil);
    // Whole milliseconds: Node keeps one timer list per distinct duration, and a fractional
    // delay would create (and tear down) a new list for nearly every hold.
    const delay = Math.max(0, Math.ceil(at - performance.now()));
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onTimer(), delay);
    this.timer.unref();
  }

  private onTimer(): void {
    if (!this.isHeld) return;
    const now = performance.now();
    if (now >= this.validUntil) {
      // Unreachable only when the store failed to answer the watchdog: a holder that simply did
      // not renew in time (no renewal, or its process was paused) saw its hold expire.
      this.lose(this.renewing || this.renewalFailed ? 'store-unreachable' : 'expired');
      return;
    }
    if (now >= this.nextRenewal && !this.renewing) {
      this.renewing = true;
      // Until this renewal answers, the timer watches validity only.
      this.nextRenewal = Number.POSITIVE_INFINITY;
      this.extend().then(
        () => {
          this.renewing = false;
          this.renewalFailed = false;
        },
        () => {
          // Store unreachable: try again shortly; the timer still ends the hold at validity.
          this.renewing = false;
          this.renewalFailed = true;
          this.nextRenewal = performance.now() + Math.max(1, Math.floor(this.renewEvery / 3));
          this.schedule();
        },
      );
    }
    this.schedule();
  }

  private lose(reason: LockLostReason): void {
    if (!this.isHeld) return;
    this.lost = true;
    this.stop();
    this.host.onLost(this, reason);
    this.controller ??= new AbortController();
    this.controller.abort(new LockLostError(this.key, reason));
  }

  private stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.ended) {
      this.ended = true;
      this.host.onEnded(this);
    }
  }
}

/**
 * A reentrant acquisition: a view of the hold the call chain already has. Releasing it does
 * nothing; the hold ends when its outermost owner releases it.
 * @internal
 */
export class ReentrantLock implements Lock {
  constructor(private readonly outer: Lock) {}
  get key(): string {
    return this.outer.key;
  }
  get token(): string {
    return this.outer.token;
  }
  get fencingToken(): number {
    return this.outer.fencingToken;
  }
  get signal(): AbortSignal {
    return this.outer.signal;
  }
  get isHeld(): boolean {
    return this.outer.isHeld;
  }
  remainingMs(): number {
    return this.outer.remainingMs();
  }
  extend(ttlMs?: number): Promise<boolean> {
    return this.outer.extend(ttlMs);
  }
  async release(): Promise<boolean> {
    return this.outer.isHeld;
  }
}
