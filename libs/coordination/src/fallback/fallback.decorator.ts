import { createPolicyDecorator } from '@keel/core/internal';
import type { ErrorFilter } from '../error-filter.js';

/** Options of `@Fallback`. @publicApi */
export interface FallbackOptions {
  /** Errors that trigger the fallback. @default every error except `ValidationFailedError` */
  readonly on?: ErrorFilter;
}

/** What `@Fallback` records. @internal */
export interface FallbackDeclaration {
  readonly fallback: unknown;
  readonly options: FallbackOptions;
}

/**
 * Turns the final failure (after every retry) into a value. A **string** names a method of the
 * same class, called with the original arguments followed by the error (`this` is the instance);
 * any other value is returned as is. To fall back to a literal string, name a method returning it.
 * An unknown method name fails at application start.
 *
 * @example
 * ```ts
 * @Fallback('cachedQuote', { on: [TimeoutError, CircuitOpenError] })
 * @Retry()
 * async quote(symbol: string) { ... }
 *
 * cachedQuote(symbol: string, error: unknown) { return this.cache.get(symbol); }
 * ```
 * @publicApi
 */
export function Fallback(
  valueOrMethodName: unknown,
  options: FallbackOptions = {},
): MethodDecorator {
  const declaration: FallbackDeclaration = { fallback: valueOrMethodName, options };
  return createPolicyDecorator('fallback', declaration);
}
