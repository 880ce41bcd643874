/**
 * The one canonical composition order of Keel policies, outermost first. Whatever order the
 * decorators are written in, a method's pipeline is built in this order:
 *
 * - `timed` outermost, so the histogram covers everything the caller waits for;
 * - `audited` records the outcome the caller sees, including a fallback value;
 * - `validate` before any work, so bad input is never retried, rate-limited or locked;
 * - `fallback` outside `retry`, so it turns the *final* failure into a value;
 * - `cache-evict` and `cache-put` outside `cached`, then `cached` outside `retry`: a cache hit
 *   costs no attempt, breaker call, rate budget or lock; a fallback value is never cached (it is
 *   made outside); a validated argument is what the key is built from;
 * - `retry` outside the breaker, so every attempt is counted and an open breaker stops retries;
 * - `circuit-breaker` outside `rate-limit`, so a call the open breaker refuses spends no rate
 *   budget (and a rate-limited call, a 429, is ignored by the breaker's default filter);
 * - `rate-limit` inside `retry`, so every attempt that reaches the limited resource is counted,
 *   and outside `timeout`, so a call waiting for its turn (`mode: 'wait'`) is not timed out
 *   while it has not started;
 * - `timeout` per attempt, so a timed-out attempt counts as a breaker failure;
 * - `timeout` outside the bulkhead, so time spent queueing for a slot counts toward it;
 * - `bulkhead`, then `lock`: hold a lock only while actually running;
 * - `idempotent` innermost, next to the method, so a duplicate is detected under the lock.
 * @publicApi
 */
export const POLICY_ORDER = [
  'timed',
  'audited',
  'validate',
  'fallback',
  'cache-evict',
  'cache-put',
  'cached',
  'retry',
  'circuit-breaker',
  'rate-limit',
  'timeout',
  'bulkhead',
  'lock',
  'idempotent',
] as const;

/** A kind of method policy. @publicApi */
export type PolicyKind = (typeof POLICY_ORDER)[number];

/** Decorator and owning module of each policy kind, for error messages. @internal */
export const POLICY_OWNERS: Record<PolicyKind, { decorator: string; module: string; pkg: string }> =
  {
    timed: { decorator: '@Timed', module: 'KeelCoreModule', pkg: '@keel/core' },
    audited: { decorator: '@Audited', module: 'AuditModule', pkg: '@keel/audit' },
    validate: { decorator: '@Validate', module: 'CoordinationModule', pkg: '@keel/coordination' },
    fallback: { decorator: '@Fallback', module: 'CoordinationModule', pkg: '@keel/coordination' },
    'cache-evict': {
      decorator: '@CacheEvict',
      module: 'CoordinationModule',
      pkg: '@keel/coordination',
    },
    'cache-put': {
      decorator: '@CachePut',
      module: 'CoordinationModule',
      pkg: '@keel/coordination',
    },
    cached: { decorator: '@Cached', module: 'CoordinationModule', pkg: '@keel/coordination' },
    retry: { decorator: '@Retry', module: 'CoordinationModule', pkg: '@keel/coordination' },
    'circuit-breaker': {
      decorator: '@CircuitBreaker',
      module: 'CoordinationModule',
      pkg: '@keel/coordination',
    },
    'rate-limit': {
      decorator: '@RateLimit',
      module: 'CoordinationModule',
      pkg: '@keel/coordination',
    },
    timeout: { decorator: '@Timeout', module: 'CoordinationModule', pkg: '@keel/coordination' },
    bulkhead: { decorator: '@Bulkhead', module: 'CoordinationModule', pkg: '@keel/coordination' },
    lock: { decorator: '@WithLock', module: 'LocksModule', pkg: '@keel/locks' },
    idempotent: { decorator: '@Idempotent', module: 'MessagingModule', pkg: '@keel/messaging' },
  };

/** Reflect metadata key holding a method's `PolicyDeclaration[]` (on the method function). */
export const KEEL_POLICIES_METADATA = 'keel:policies';
