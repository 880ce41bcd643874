import { createPolicyDecorator } from '@keel/core/internal';
import type { BulkheadOptions } from '../interfaces/coordination-options.interface.js';

/**
 * Limits how many calls of the method run at once; extra calls wait in a bounded queue for at
 * most `queueTimeoutMs`, or are rejected with `BulkheadRejectedError` (HTTP 503 with
 * Retry-After). With `scope: 'fleet'` the limit spans every replica of the service (a Redis
 * semaphore of leases; one Redis round trip to take and one to give back a slot).
 *
 * @param policyOrOptions a named policy or options extending the `default` policy.
 * @example
 * ```ts
 * @Bulkhead({ maxConcurrent: 4, maxQueue: 20, queueTimeoutMs: 500 })
 * async render(report: Report) { ... }
 * ```
 * @publicApi
 */
export function Bulkhead(policyOrOptions?: string | BulkheadOptions): MethodDecorator {
  return createPolicyDecorator('bulkhead', policyOrOptions);
}
