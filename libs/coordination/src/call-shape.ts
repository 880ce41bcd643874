import type { PolicyTarget } from '@keel/core';

/**
 * True when the decorated method returns a promise (an `async` method, or one declared to return
 * `Promise`). Policies then report refusals as rejected promises, never as synchronous throws,
 * so `service.call().catch(...)` sees every failure.
 * @internal
 */
export function returnsPromise(target: PolicyTarget): boolean {
  if (target.original.constructor?.name === 'AsyncFunction') return true;
  return Reflect.getMetadata('design:returntype', target.prototype, target.methodName) === Promise;
}

/** Fails the call the way the method fails: a rejection for async methods, a throw otherwise. @internal */
export function fail(error: unknown, async: boolean): never | Promise<never> {
  if (async) return Promise.reject(error);
  throw error;
}
