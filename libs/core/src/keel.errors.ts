const KEEL_ERROR_BRAND = Symbol.for('keel.error');

/**
 * Base class of every error Keel throws.
 *
 * Each error carries a stable, machine-readable `code` (e.g. `KEEL_CIRCUIT_OPEN`) so that
 * exception filters, metrics and retry predicates never depend on message text. Errors are
 * branded with a registry-wide symbol so {@link isKeelError} works even when two copies of a
 * Keel package are loaded.
 *
 * @publicApi
 */
export class KeelError extends Error {
  /** Stable identifier of the failure, safe to match on. */
  readonly code: string;
  /** @internal */
  readonly [KEEL_ERROR_BRAND] = true;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
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
export class KeelConfigError extends KeelError {
  constructor(readonly problems: readonly string[]) {
    super(
      'KEEL_CONFIG_INVALID',
      `Invalid Keel configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
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
export class KeelDecoratorError extends KeelError {
  constructor(message: string) {
    super('KEEL_DECORATOR_MISUSE', message);
  }
}

/**
 * A method carrying Keel policies was called on a Nest-managed instance whose pipeline was never
 * built, because the module that applies the policies is not imported. Keel fails closed: a lock
 * or a breaker must never silently not apply.
 * @publicApi
 */
export class KeelPolicyNotInitializedError extends KeelError {
  constructor(message: string) {
    super('KEEL_POLICY_NOT_INITIALIZED', message);
  }
}

/**
 * A key template could not produce a key for a call (a placeholder's value is missing or is not
 * a string, number, bigint or boolean).
 * @publicApi
 */
export class KeyTemplateValueError extends KeelError {
  constructor(message: string) {
    super('KEEL_KEY_TEMPLATE_VALUE', message);
  }
}
