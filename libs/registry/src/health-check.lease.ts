import type { ModuleRef } from '@nestjs/core';
import type { RegistryStore } from './stores/registry.store.js';

/**
 * The monitor lease of a service: one holder across the fleet. `fence` is what the holder's
 * verdict writes carry, so that the store refuses them once the lease moved on.
 * @internal
 */
export interface MonitorLease {
  /** Where the lease lives: `@keel/locks` when `LocksModule` is imported, else the registry store. */
  readonly source: 'locks' | 'store';
  /** Takes the lease if it is free; returns the fence, or undefined when another instance holds it. */
  acquire(service: string, owner: string, ttlMs: number): Promise<string | undefined>;
  /** Extends the lease; false when it was lost. */
  renew(service: string, fence: string, ttlMs: number): Promise<boolean>;
  /** Hands the lease over at once. */
  release(service: string, fence: string): Promise<void>;
}

/** The registry store's own lease: its fence is the lease token, compared for equality. */
export function storeLease(store: RegistryStore): MonitorLease {
  return {
    source: 'store',
    acquire: (service, owner, ttlMs) => store.acquireLease(service, owner, ttlMs),
    renew: (service, fence, ttlMs) => store.renewLease(service, fence, ttlMs),
    release: (service, fence) => store.releaseLease(service, fence),
  };
}

/** The part of @keel/locks' `Lock` the lease uses (typed by shape: @keel/locks is an optional peer). */
interface LockLike {
  readonly fencingToken: number;
  extend(ttlMs?: number): Promise<boolean>;
  release(): Promise<boolean>;
}

/** The part of @keel/locks' `LockService` the lease uses. */
interface LockServiceLike {
  tryAcquire(
    key: string,
    options?: { readonly ttlMs?: number; readonly reentrant?: boolean },
  ): Promise<LockLike | undefined>;
}

/**
 * A lease held as a @keel/locks lock on `registry:monitor:<service>`. Its fence is the lock's
 * fencing token as `#<token>`: the store refuses a verdict carrying a lower token than one it
 * already accepted, so a paused former monitor cannot overwrite its successor's verdicts.
 */
export function locksLease(locks: LockServiceLike): MonitorLease {
  const held = new Map<string, LockLike>();
  return {
    source: 'locks',
    async acquire(service, _owner, ttlMs) {
      const lock = await locks.tryAcquire(`registry:monitor:${service}`, {
        ttlMs,
        reentrant: false,
      });
      if (lock === undefined) return undefined;
      const fence = `#${lock.fencingToken}`;
      held.set(fence, lock);
      return fence;
    },
    async renew(_service, fence, ttlMs) {
      const lock = held.get(fence);
      if (lock !== undefined && (await lock.extend(ttlMs))) return true;
      held.delete(fence);
      return false;
    },
    async release(_service, fence) {
      const lock = held.get(fence);
      held.delete(fence);
      await lock?.release();
    },
  };
}

/**
 * The lease to use: from @keel/locks when it is installed and the application imports
 * `LocksModule` (its `LockService` is then in the container), else the registry store's own.
 * Resolved at bootstrap, never at import: an application without @keel/locks loads as before.
 * @internal
 */
export async function resolveMonitorLease(
  moduleRef: ModuleRef,
  store: RegistryStore,
): Promise<MonitorLease> {
  let token: unknown;
  try {
    ({ LockService: token } = await import('@keel/locks'));
  } catch {
    return storeLease(store); // @keel/locks is not installed
  }
  try {
    const locks = moduleRef.get(token as new () => LockServiceLike, { strict: false });
    return locksLease(locks);
  } catch {
    return storeLease(store); // installed, but LocksModule is not imported
  }
}
