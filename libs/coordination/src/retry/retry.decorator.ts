import { createPolicyDecorator } from '@keel/core/internal';
import type { RetryOptions } from '../interfaces/coordination-options.interface.js';

/**
 * Retries the method when it fails. `maxAttempts` counts the first call: `@Retry({ maxAttempts: 3 })`
 * is one call and up to two retries. Each retry runs the rest of the pipeline again (breaker,
 * timeout per attempt, bulkhead), with the same (validated) arguments.
 *
 * By default `ValidationFailedError`, `CircuitOpenError`, `BulkheadRejectedError` and 4xx-like
 * errors are never retried. Sleeps between attempts end early when the application shuts down.
 *
 * @param policyOrOptions a named policy (`'payments'`, from `forRoot({ policies })` or YAML), or
 *   options extending the `default` policy.
 * @example
 * ```ts
 * @Retry({ maxAttempts: 4, backoff: 'decorrelated-jitter', delayMs: 50, maxDelayMs: 2_000 })
 * async charge(order: Order) { ... }
 * ```
 * @publicApi
 */
export function Retry(policyOrOptions?: string | RetryOptions): MethodDecorator {
  return createPolicyDecorator('retry', policyOrOptions);
}
