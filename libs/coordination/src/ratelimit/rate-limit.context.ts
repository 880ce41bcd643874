import { RequestContext } from '@keel/core';

/**
 * The decision `@RateLimit` made for the call now running, for code that reports it (response
 * headers on success, logs) or checks it. Times are the deciding clock's: the Redis server's for
 * a fleet limit, this process's otherwise.
 * @publicApi
 */
export interface RateLimitState {
  /** The limit's name. */
  readonly limit: string;
  /** Calls allowed per window at the steady rate. */
  readonly quota: number;
  /** The window, in milliseconds. */
  readonly perMs: number;
  /** Calls that could still run at once after this one. */
  readonly remaining: number;
  /** Until the whole quota is available again, in milliseconds. */
  readonly resetMs: number;
  /** How long this call waited for its turn (`mode: 'wait'`), in milliseconds. */
  readonly waitedMs: number;
  /** When the call was allowed to run: epoch milliseconds (fractional) on the deciding clock. */
  readonly at: number;
  /** True when the decision was made on the per-process insurance limit (Redis unreachable). */
  readonly insurance: boolean;
}

/** @internal */
export const RATE_LIMIT_STATE = Symbol('KEEL_RATE_LIMIT_STATE');

/**
 * The innermost `@RateLimit` decision of the current call, or `undefined` outside a
 * rate-limited method or when its limit is declared without `stateInContext: true`. Readable
 * anywhere the method's work runs, across awaits.
 *
 * @example
 * ```ts
 * @RateLimit({ limit: 100, perMs: 1000, scope: 'fleet', stateInContext: true })
 * async charge(order: Order) {
 *   this.logger.debug(`psp budget left: ${currentRateLimit()?.remaining}`);
 * }
 * ```
 * @publicApi
 */
export function currentRateLimit(): RateLimitState | undefined {
  return RequestContext.getValue<RateLimitState>(RATE_LIMIT_STATE);
}
