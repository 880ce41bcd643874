import type { Logger } from '@nestjs/common';
import type { LockScope } from './lock-context.js';
import type { LockInstruments } from './lock-instruments.js';
import { HeldLock, type HoldSpec, type LockHost } from './lock.js';
import type { LockLostReason } from './locks.errors.js';
import { lockLostWarning } from './locks.messages.js';

/** A granted hold to register: the hold itself and the call chain it belongs to. @internal */
export interface HoldRequest extends HoldSpec {
  /** The call chain of a `using` / `@WithLock` scope; exclusive holds are recorded in it. */
  readonly scope: LockScope | undefined;
}

/**
 * The holds one `LockService` has: creates each `HeldLock`, counts them (`keel_locks_held`),
 * records exclusive ones in their call chain's scope (for reentrancy and deadlock detection),
 * and hears when one ends or is lost.
 * @internal
 */
export class HoldRegistry implements LockHost {
  private readonly held = new Set<HeldLock>();
  /** The call chain each exclusive hold belongs to, for reentrancy and deadlock detection. */
  private readonly scopeOf = new WeakMap<HeldLock, LockScope>();

  constructor(
    private readonly instruments: LockInstruments,
    private readonly logger: Logger,
  ) {}

  /** Number of holds not yet released or lost. */
  get size(): number {
    return this.held.size;
  }

  /** Turns a grant into a `HeldLock` (its renewal and expiry timer start now) and records it. */
  hold(request: HoldRequest): HeldLock {
    const lock = new HeldLock(this, request);
    this.held.add(lock);
    this.instruments.held.inc();
    const scope = request.scope;
    if (scope !== undefined && request.target.exclusive) {
      scope.held.set(request.target.key, lock);
      this.scopeOf.set(lock, scope);
    }
    return lock;
  }

  /** Releases every hold still registered, so waiters elsewhere need not wait out the TTL. */
  async releaseAll(): Promise<void> {
    await Promise.allSettled([...this.held].map((lock) => lock.release()));
  }

  onLost(lock: HeldLock, reason: LockLostReason): void {
    this.instruments.lost.inc({ reason });
    this.logger.warn(lockLostWarning({ key: lock.key, reason, fencingToken: lock.fencingToken }));
  }

  onEnded(lock: HeldLock): void {
    if (this.held.delete(lock)) this.instruments.held.dec();
    const scope = this.scopeOf.get(lock);
    if (scope !== undefined && scope.held.get(lock.key) === lock) scope.held.delete(lock.key);
  }
}
