import { configInvalid, tenantInvalid } from './core.messages.js';

const KEEL_ERROR_BRAND = Symbol.for('keel.error');

/**
 * What one error code means at the edge: the HTTP status Keel's exception filter answers with,
 * and one line for the error tables in the READMEs.
 * @publicApi
 */
export interface KeelErrorCodeInfo {
  /** HTTP status of a response carrying this error. */
  readonly status: number;
  /** What the code means, in one line. */
  readonly meaning: string;
}

/**
 * A lib's table of error codes (`KEEL_LOCK_TIMEOUT: { status: 409, meaning }`...). Each lib
 * exports one (`LOCKS_ERRORS`, `REGISTRY_ERRORS`...); its error classes take their HTTP status
 * from it, and the README's error table is checked against it.
 * @publicApi
 */
export type KeelErrorCodes = Readonly<Record<string, KeelErrorCodeInfo>>;

/** Options of a {@link KeelError}. @publicApi */
export interface KeelErrorOptions {
  /** The underlying error. */
  readonly cause?: unknown;
  /** HTTP status the edge answers with. @default 500 */
  readonly status?: number;
}

/**
 * The fields of a Keel error's response body besides `statusCode` and `code`: at least a
 * message; some errors add facts a client can act on (`problems` of a validation failure).
 * Never secrets or connection strings.
 * @publicApi
 */
export interface KeelErrorResponseFields {
  readonly message: string;
  readonly [field: string]: unknown;
}

/**
 * Base class of every error Keel throws.
 *
 * Each error carries a stable, machine-readable `code` (e.g. `KEEL_CIRCUIT_OPEN`) so that
 * exception filters, metrics and retry predicates never depend on message text, and the HTTP
 * `status` that {@link KeelExceptionFilter} answers with. Errors are branded with a
 * registry-wide symbol so {@link isKeelError} — and `instanceof KeelError` — work even when two
 * copies of a Keel package are loaded.
 *
 * @publicApi
 */
export class KeelError extends Error {
  /** Stable identifier of the failure, safe to match on. */
  readonly code: string;
  /** HTTP status of a response carrying this error (from the lib's error-code table). */
  readonly status: number;
  /** @internal */
  readonly [KEEL_ERROR_BRAND] = true;

  constructor(code: string, message: string, options: KeelErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status ?? 500;
    this.name = new.target.name;
  }

  /**
   * `instanceof KeelError` recognises Keel errors from any copy of the package (subclasses keep
   * the ordinary prototype check), so `@Catch(KeelError)` and `catch (e) { if (e instanceof
   * KeelError) … }` do not depend on npm deduplicating `@keel/core`.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this === KeelError) return isKeelError(value);
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }

  /**
   * What the exception filter sends besides `statusCode` and `code`. Subclasses add the facts a
   * client needs (never secrets).
   */
  toResponseFields(): KeelErrorResponseFields {
    return { message: this.message };
  }

  /**
   * HTTP headers the exception filter sets besides `Retry-After` (which it derives from
   * `retryAfterMs`): a rate-limited call's `RateLimit` and `RateLimit-Policy`. None by default.
   */
  toResponseHeaders(): Readonly<Record<string, string>> {
    return NO_HEADERS;
  }
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * The error codes of `@keel/core` itself.
 * @publicApi
 */
export const CORE_ERRORS = {
  KEEL_CONFIG_INVALID: {
    status: 500,
    meaning: 'the configuration is invalid; raised at startup, one line per problem',
  },
  KEEL_DECORATOR_MISUSE: {
    status: 500,
    meaning: 'a Keel decorator is used wrongly; raised at startup, naming class and method',
  },
  KEEL_POLICY_NOT_INITIALIZED: {
    status: 500,
    meaning: "a decorated method ran before its policies were built (its module isn't imported)",
  },
  KEEL_KEY_TEMPLATE_VALUE: {
    status: 400,
    meaning: "a key template's placeholder has no usable value in the call's arguments",
  },
  KEEL_REDIS_CLOSED: {
    status: 503,
    meaning: 'a Redis connection was asked for after the application shut down',
  },
  KEEL_DEADLINE_EXCEEDED: {
    status: 504,
    meaning:
      'a backend call (a Redis command, a store round trip) did not answer within its time limit',
  },
  KEEL_TENANT_INVALID: {
    status: 400,
    meaning:
      'the tenant header (or the tenant given to RequestContext.run) is not a valid tenant id',
  },
  KEEL_INVALID_ARGUMENT: {
    status: 500,
    meaning: 'a Keel API was called with an invalid argument (a programming error)',
  },
} as const satisfies KeelErrorCodes;

/** A code of {@link CORE_ERRORS}. @publicApi */
export type CoreErrorCode = keyof typeof CORE_ERRORS;

/**
 * Base of `@keel/core`'s own errors: takes its status from {@link CORE_ERRORS}.
 * @publicApi
 */
export class CoreError extends KeelError {
  constructor(code: CoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, { ...options, status: CORE_ERRORS[code].status });
  }
}

/**
 * True when `error` is any Keel error (from any copy of the package).
 * @publicApi
 */
export function isKeelError(error: unknown): error is KeelError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[KEEL_ERROR_BRAND] === true
  );
}

/**
 * Configuration is invalid. The message has one line per problem, naming the key and the
 * source (environment variable, YAML file or `forRoot` option).
 * @publicApi
 */
export class KeelConfigError extends CoreError {
  constructor(readonly problems: readonly string[]) {
    super('KEEL_CONFIG_INVALID', configInvalid({ problems }));
  }
}

/** True when `error` is a {@link KeelConfigError}. @publicApi */
export function isKeelConfigError(error: unknown): error is KeelConfigError {
  return isKeelError(error) && error.code === 'KEEL_CONFIG_INVALID';
}

/**
 * A Keel decorator is used wrongly (unknown key-template placeholder, unknown named policy,
 * duplicate decorator...). Raised at class definition or application start, never on a call.
 * @publicApi
 */
export class KeelDecoratorError extends CoreError {
  constructor(message: string) {
    super('KEEL_DECORATOR_MISUSE', message);
  }
}

/**
 * A method carrying Keel policies was called on an instance of an `@Injectable()` or
 * `@Controller()` class whose pipeline was never built: the module that applies the policies is
 * not imported, the method ran before the application initialized, or a unit test made the
 * instance with `new` (wrap it in `withoutPolicies()` to run it undecorated). Keel fails closed:
 * a lock or a breaker must never silently not apply.
 * @publicApi
 */
export class KeelPolicyNotInitializedError extends CoreError {
  constructor(message: string) {
    super('KEEL_POLICY_NOT_INITIALIZED', message);
  }
}

/**
 * A key template could not produce a key for a call (a placeholder's value is missing or is not
 * a string, number, bigint or boolean).
 * @publicApi
 */
export class KeyTemplateValueError extends CoreError {
  constructor(message: string) {
    super('KEEL_KEY_TEMPLATE_VALUE', message);
  }
}

/**
 * A Redis connection was asked for after the application shut down.
 * @publicApi
 */
export class KeelRedisClosedError extends CoreError {
  constructor(message: string) {
    super('KEEL_REDIS_CLOSED', message);
  }
}

/**
 * A Keel API was called with an argument it cannot accept (a programming error, not bad user
 * input): the message names the argument and what is accepted.
 * @publicApi
 */
export class KeelArgumentError extends CoreError {
  constructor(message: string) {
    super('KEEL_INVALID_ARGUMENT', message);
  }
}

/**
 * A backend call (a Redis command, a store round trip) did not answer within its time limit:
 * what `withDeadline` rejects with unless told otherwise. Health checks are not bounded by it:
 * `@keel/health` uses Terminus' own timeout, and a slow check is reported `down`.
 * @publicApi
 */
export class KeelDeadlineError extends CoreError {
  constructor(message: string) {
    super('KEEL_DEADLINE_EXCEEDED', message);
  }
}

/**
 * A tenant id (from the tenant header of a request or message, or given to
 * `RequestContext.run()`) is not 1 to 128 characters of `A-Z a-z 0-9 . _ -`. The work is refused
 * rather than run for a tenant it may not belong to, or for none: `KeelExceptionFilter` answers
 * 400. The message quotes the value as JSON (truncated), so it is safe to log and to send back.
 * @publicApi
 */
export class InvalidTenantError extends CoreError {
  constructor(readonly tenant: string) {
    super('KEEL_TENANT_INVALID', tenantInvalid({ tenant }));
  }
}
