import type { HoldTarget } from './lock.js';
import { LocksError } from './locks.errors.js';
import { semaphoresUnsupported } from './locks.messages.js';
import type { LockStore, StoreAcquireMode, StoreAcquireResult } from './stores/lock.store.js';

/** A plain lock as a hold target: one object per acquisition, on the uncontended path. @internal */
export class LockTarget implements HoldTarget {
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

/** Which semaphore a hold target takes, and how much of it. @internal */
export interface SemaphoreTargetSpec {
  /** The store's key of the semaphore (`sem:<key>`, or `rw:<key>` for a read-write lock). */
  readonly storeKey: string;
  /** The key as the caller gave it. */
  readonly key: string;
  /** Permits one hold takes (a reader 1, a writer all of them). */
  readonly weight: number;
  readonly permits: number;
}

/**
 * A semaphore permit (or one side of a read-write lock) as a hold target.
 * @throws LocksError `KEEL_LOCKS_UNSUPPORTED` when the store has no semaphores (quorum).
 * @internal
 */
export function semaphoreTarget(store: LockStore, spec: SemaphoreTargetSpec): HoldTarget {
  const semaphores = store.semaphores;
  if (semaphores === undefined) {
    throw new LocksError(
      'KEEL_LOCKS_UNSUPPORTED',
      semaphoresUnsupported({ key: spec.key, store: store.kind }),
    );
  }
  const { storeKey, weight, permits } = spec;
  return {
    key: spec.key,
    exclusive: false,
    tryAcquire: (token, ttlMs, mode) =>
      semaphores.tryAcquire(storeKey, token, ttlMs, weight, permits, mode),
    release: (token, fence) => semaphores.release(storeKey, token, fence, permits),
    extend: (token, fence, ttlMs) => semaphores.extend(storeKey, token, fence, ttlMs),
    cancel: (token) => semaphores.cancel(storeKey, token, permits),
  };
}
