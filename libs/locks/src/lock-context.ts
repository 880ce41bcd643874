import { RequestContext } from '@keel/core';
import { CURRENT_LOCK } from './locks.constants.js';
import type { HeldLock, Lock } from './lock.js';

/**
 * The locks one call chain (a `using` callback or `@WithLock` method and everything it awaits)
 * holds. Reentrancy and deadlock detection are per chain.
 * @internal
 */
export interface LockScope {
  readonly chain: string;
  readonly held: Map<string, HeldLock>;
}

/**
 * The innermost lock held by the current call chain (`@WithLock` method or `using` callback), or
 * `undefined` outside one. Read its `fencingToken` and `signal` without threading the lock
 * through every call.
 *
 * @example
 * ```ts
 * @WithLock('order:{orderId}')
 * async ship(orderId: string) {
 *   const lock = currentLock()!;
 *   await fencedUpdate(this.dataSource, Order, { id: orderId }, { status: 'shipped' }, lock.fencingToken);
 * }
 * ```
 * @publicApi
 */
export function currentLock(): Lock | undefined {
  return RequestContext.getValue<Lock>(CURRENT_LOCK);
}

/**
 * The current chain's scope for one LockService. Scopes are per service (each service's
 * `scopeKey`), so two services — two "processes" in a test, two apps in one process — never
 * mistake each other's holds for their own.
 * @internal
 */
export function currentScope(scopeKey: symbol): LockScope | undefined {
  return RequestContext.getValue<LockScope>(scopeKey);
}

/** Runs `fn` with `lock` as the current lock, inside `scope`. @internal */
export function runHolding<T>(scopeKey: symbol, scope: LockScope, lock: Lock, fn: () => T): T {
  if (currentScope(scopeKey) === scope) return RequestContext.runWithValue(CURRENT_LOCK, lock, fn);
  return RequestContext.runWithValue(scopeKey, scope, () =>
    RequestContext.runWithValue(CURRENT_LOCK, lock, fn),
  );
}

/** Runs `fn` inside `scope` (no current lock change). @internal */
export function runInScope<T>(scopeKey: symbol, scope: LockScope, fn: () => T): T {
  if (currentScope(scopeKey) === scope) return fn();
  return RequestContext.runWithValue(scopeKey, scope, fn);
}
