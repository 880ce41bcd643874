/** Fails the call the way the method fails: a rejection for async methods, a throw otherwise. @internal */
export function fail(error: unknown, async: boolean): never | Promise<never> {
  if (async) return Promise.reject(error);
  throw error;
}
