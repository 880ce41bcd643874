import { RequestContext } from '@keel/core';
import { createPolicyDecorator } from '@keel/core/internal';
import type { TimeoutOptions } from '../interfaces/coordination-options.interface.js';
import { TIMEOUT_CONTEXT_KEY } from '../coordination.constants.js';
import { currentCall } from './timeout.policy.js';
import type { PendingCall } from './deadline-list.js';

/**
 * Rejects the call with `TimeoutError` if it has not settled after `ms` (per attempt under
 * `@Retry`). Applies to methods that return a promise; a synchronous method cannot be
 * interrupted and is passed through. Cooperative code can stop its work with
 * {@link timeoutSignal}; the signal is created only if asked for.
 *
 * @param msOrPolicy milliseconds, a named policy, or options extending the `default` policy.
 * @example
 * ```ts
 * @Timeout(2_000)
 * async quote(id: string) {
 *   return fetch(url, { signal: timeoutSignal() }); // before the first await
 * }
 * ```
 * @publicApi
 */
export function Timeout(msOrPolicy?: number | string | TimeoutOptions): MethodDecorator {
  return createPolicyDecorator('timeout', msOrPolicy);
}

/**
 * The AbortSignal of the innermost `@Timeout` call running, aborted (with the `TimeoutError` as
 * reason) when its deadline passes; `undefined` outside such a call. Call it in the method's
 * synchronous part (before its first `await`), or declare `@Timeout({ ms, signalInContext: true })`
 * to read it anywhere in the call's async context.
 * @publicApi
 */
export function timeoutSignal(): AbortSignal | undefined {
  const call = currentCall() ?? RequestContext.getValue<PendingCall>(TIMEOUT_CONTEXT_KEY);
  return call?.signal();
}
