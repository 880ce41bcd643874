import { createPolicyDecorator } from '@keel/core/internal';
import type { CircuitBreakerOptions } from '../interfaces/coordination-options.interface.js';

/**
 * Stops calling a failing dependency: after enough failures (or slow calls) in the sliding
 * window the breaker opens and calls fail fast with `CircuitOpenError` (HTTP 503 with
 * Retry-After); after `openDurationMs` it admits `halfOpenProbes` probe calls and closes when all
 * succeed. Breakers are named; methods naming the same breaker share it, and
 * `CircuitBreakerRegistry` lists, isolates and resets them. With `store: 'redis'` the window
 * and state are shared by every replica of the service.
 *
 * @param policyOrOptions a named policy (the breaker is then named after it) or options
 *   extending the `default` policy.
 * @example
 * ```ts
 * @CircuitBreaker({ name: 'payments', store: 'redis', failureRateThreshold: 50, minimumCalls: 20 })
 * async charge(order: Order) { ... }
 * ```
 * @publicApi
 */
export function CircuitBreaker(policyOrOptions?: string | CircuitBreakerOptions): MethodDecorator {
  return createPolicyDecorator('circuit-breaker', policyOrOptions);
}
