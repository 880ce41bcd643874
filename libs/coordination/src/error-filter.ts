import {
  isBulkheadRejectedError,
  isCircuitOpenError,
  isValidationFailedError,
} from './coordination.errors.js';

/** A class of errors, matched with `instanceof`. @publicApi */
export type ErrorClass = abstract new (...args: never[]) => unknown;

/**
 * Which errors a policy reacts to: a list of error classes (matched with `instanceof`) or a
 * predicate.
 * @publicApi
 */
export type ErrorFilter = readonly ErrorClass[] | ((error: unknown) => boolean);

/** Compiles a filter into one predicate. @internal */
export function compileErrorFilter(
  filter: ErrorFilter | undefined,
): ((error: unknown) => boolean) | undefined {
  if (filter === undefined) return undefined;
  if (typeof filter === 'function') return filter;
  const classes = [...filter];
  return (error) => classes.some((c) => error instanceof (c as unknown as Function));
}

/** The HTTP-like status an error carries (`getStatus()`, `status`, `statusCode`), if any. @internal */
export function httpStatusOf(error: unknown): number | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const e = error as { getStatus?: () => unknown; status?: unknown; statusCode?: unknown };
  const status = typeof e.getStatus === 'function' ? e.getStatus() : (e.status ?? e.statusCode);
  return typeof status === 'number' ? status : undefined;
}

/**
 * A 4xx-like error: the caller's fault, so retrying or counting it against a dependency is
 * wrong. 408 (timeout) and 429 (too many requests) are transient and do not count.
 * @publicApi
 */
export function isClientError(error: unknown): boolean {
  const status = httpStatusOf(error);
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/**
 * Errors no policy should retry or count as a dependency failure by default: bad input, a breaker
 * or bulkhead saying "not now", and 4xx-like errors.
 * @publicApi
 */
export function isNonTransientError(error: unknown): boolean {
  return (
    isValidationFailedError(error) ||
    isCircuitOpenError(error) ||
    isBulkheadRejectedError(error) ||
    isClientError(error)
  );
}
