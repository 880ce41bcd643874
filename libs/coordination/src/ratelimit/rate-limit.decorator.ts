import { createPolicyDecorator } from '@keel/core/internal';
import type { RateLimitOptions } from '../interfaces/coordination-options.interface.js';

/**
 * Limits how often the method runs: `limit` calls per `perMs` (GCRA: in any sliding window of
 * `perMs`, at most `limit + burst`). For calls *out* (a provider method wrapping a third-party
 * API, `scope: 'fleet'` so every replica shares the budget, `mode: 'wait'` so calls queue for
 * their turn instead of failing) and calls *in* (a controller, one budget `per` client, actor,
 * tenant or IP). A refused call fails with `RateLimitedError` (HTTP 429 with `Retry-After`,
 * `RateLimit` and `RateLimit-Policy`).
 *
 * @param policyOrOptions a named policy (`policies.<name>.rateLimit`) or options extending the
 *   `default` policy.
 * @example
 * ```ts
 * @RateLimit({ name: 'psp', limit: 100, perMs: 1000, scope: 'fleet', mode: 'wait', maxWaitMs: 2000 })
 * async charge(order: Order) { ... }
 *
 * @Get('search')
 * @RateLimit({ limit: 20, perMs: 1000, burst: 10, per: 'client' })
 * search(@Query('q') q: string) { ... }
 * ```
 * @publicApi
 */
export function RateLimit(policyOrOptions?: string | RateLimitOptions): MethodDecorator {
  return createPolicyDecorator('rate-limit', policyOrOptions);
}
