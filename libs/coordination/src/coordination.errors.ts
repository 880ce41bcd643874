import {
  KeelError,
  isKeelError,
  type KeelErrorCodes,
  type KeelErrorResponseFields,
} from '@keel/core';
import {
  bulkheadRejected,
  circuitOpen,
  rateLimited,
  timedOut,
  validationFailed,
} from './coordination.messages.js';

/**
 * The error codes of `@keel/coordination`, with the HTTP status Keel's exception filter answers
 * with.
 * @publicApi
 */
export const COORDINATION_ERRORS = {
  KEEL_VALIDATION_FAILED: {
    status: 400,
    meaning: "a method's arguments failed @Validate; the body lists every problem",
  },
  KEEL_CIRCUIT_OPEN: {
    status: 503,
    meaning: 'a circuit breaker refused the call (open, isolated, or no probe slot); Retry-After',
  },
  KEEL_BULKHEAD_REJECTED: {
    status: 503,
    meaning: 'a bulkhead refused the call (full, or the queue wait ran out); Retry-After',
  },
  KEEL_TIMEOUT: { status: 504, meaning: 'a call did not settle within its @Timeout' },
  KEEL_RATE_LIMITED: {
    status: 429,
    meaning: 'a @RateLimit refused the call (no turn within maxWaitMs); Retry-After, RateLimit',
  },
} as const satisfies KeelErrorCodes;

/** A code of {@link COORDINATION_ERRORS}. @publicApi */
export type CoordinationErrorCode = keyof typeof COORDINATION_ERRORS;

/**
 * Base of every error `@keel/coordination` throws; takes its HTTP status from
 * {@link COORDINATION_ERRORS}.
 * @publicApi
 */
export class CoordinationError extends KeelError {
  constructor(code: CoordinationErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, { ...options, status: COORDINATION_ERRORS[code].status });
  }
}

/** One validation problem: where (`dto.items.0.qty`, `0`, `''` for the whole value) and what. @publicApi */
export interface ValidationProblem {
  readonly path: string;
  readonly message: string;
}

/**
 * A method's arguments failed `@Validate`. Carries every problem found, not just the first; the
 * module's exception filter maps it to HTTP 400 with that list.
 * @publicApi
 */
export class ValidationFailedError extends CoordinationError {
  static readonly code = 'KEEL_VALIDATION_FAILED' satisfies CoordinationErrorCode;

  constructor(
    readonly problems: readonly ValidationProblem[],
    readonly method?: string,
  ) {
    super(ValidationFailedError.code, validationFailed({ method, problems }));
  }

  /** The body lists every problem, so a client can fix all of them in one go. */
  override toResponseFields(): KeelErrorResponseFields {
    return { message: 'Validation failed', problems: this.problems };
  }
}

/** True for a {@link ValidationFailedError} from any copy of the package. @publicApi */
export function isValidationFailedError(error: unknown): error is ValidationFailedError {
  return isKeelError(error) && error.code === ValidationFailedError.code;
}

/**
 * A circuit breaker refused the call: it is open, isolated, or half-open with every probe slot
 * taken. `retryAfterMs` is how long until the breaker lets a probe through (an estimate).
 * @publicApi
 */
export class CircuitOpenError extends CoordinationError {
  static readonly code = 'KEEL_CIRCUIT_OPEN' satisfies CoordinationErrorCode;

  constructor(
    readonly breaker: string,
    readonly state: 'open' | 'half-open' | 'isolated',
    readonly retryAfterMs: number,
  ) {
    super(CircuitOpenError.code, circuitOpen({ breaker, state }));
  }
}

/** True for a {@link CircuitOpenError} from any copy of the package. @publicApi */
export function isCircuitOpenError(error: unknown): error is CircuitOpenError {
  return isKeelError(error) && error.code === CircuitOpenError.code;
}

/**
 * A bulkhead refused the call: every slot and queue place was taken (`reason: 'full'`), or the
 * call waited in the queue longer than `queueTimeoutMs` (`reason: 'queue-timeout'`).
 * @publicApi
 */
export class BulkheadRejectedError extends CoordinationError {
  static readonly code = 'KEEL_BULKHEAD_REJECTED' satisfies CoordinationErrorCode;

  constructor(
    readonly bulkhead: string,
    readonly reason: 'full' | 'queue-timeout',
    readonly retryAfterMs: number,
  ) {
    super(BulkheadRejectedError.code, bulkheadRejected({ bulkhead, reason }));
  }
}

/** True for a {@link BulkheadRejectedError} from any copy of the package. @publicApi */
export function isBulkheadRejectedError(error: unknown): error is BulkheadRejectedError {
  return isKeelError(error) && error.code === BulkheadRejectedError.code;
}

/** A call did not settle within its `@Timeout`. @publicApi */
export class TimeoutError extends CoordinationError {
  static readonly code = 'KEEL_TIMEOUT' satisfies CoordinationErrorCode;

  constructor(
    readonly timeoutMs: number,
    readonly method?: string,
  ) {
    super(TimeoutError.code, timedOut({ method, timeoutMs }));
  }
}

/** True for a {@link TimeoutError} from any copy of the package. @publicApi */
export function isTimeoutError(error: unknown): error is TimeoutError {
  return isKeelError(error) && error.code === TimeoutError.code;
}

/** What a {@link RateLimitedError} says of the limit that refused the call. @publicApi */
export interface RateLimitRefusal {
  /** The limit's name (`@RateLimit('psp')`, or `ClassName.methodName`). */
  readonly limit: string;
  /** Calls allowed per window at the steady rate. */
  readonly quota: number;
  /** The window, in milliseconds. */
  readonly perMs: number;
  /** How long until a call would be allowed. */
  readonly retryAfterMs: number;
  /** Until the whole quota is available again. */
  readonly resetMs: number;
}

/**
 * A `@RateLimit` refused the call: no turn was free now (`mode: 'reject'`) or within
 * `maxWaitMs` (`mode: 'wait'`). Over HTTP: 429 with `Retry-After` and the IETF `RateLimit` and
 * `RateLimit-Policy` headers (draft-ietf-httpapi-ratelimit-headers: `"<limit>";r=0;t=<s>` and
 * `"<limit>";q=<quota>;w=<window s>`).
 * @publicApi
 */
export class RateLimitedError extends CoordinationError {
  static readonly code = 'KEEL_RATE_LIMITED' satisfies CoordinationErrorCode;
  readonly limit: string;
  readonly retryAfterMs: number;

  constructor(readonly refusal: RateLimitRefusal) {
    super(RateLimitedError.code, rateLimited(refusal));
    this.limit = refusal.limit;
    this.retryAfterMs = refusal.retryAfterMs;
  }

  override toResponseFields(): KeelErrorResponseFields {
    return { message: this.message, limit: this.limit, retryAfterMs: this.retryAfterMs };
  }

  override toResponseHeaders(): Readonly<Record<string, string>> {
    const { limit, quota, perMs, resetMs } = this.refusal;
    const name = JSON.stringify(limit);
    return {
      RateLimit: `${name};r=0;t=${Math.max(1, Math.ceil(resetMs / 1000))}`,
      'RateLimit-Policy': `${name};q=${quota};w=${Math.max(1, Math.ceil(perMs / 1000))}`,
    };
  }
}

/** True for a {@link RateLimitedError} from any copy of the package. @publicApi */
export function isRateLimitedError(error: unknown): error is RateLimitedError {
  return isKeelError(error) && error.code === RateLimitedError.code;
}
