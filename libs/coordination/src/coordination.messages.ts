/**
 * Every log and error message of `@keel/coordination`, as small named factories (the
 * @nestjs/schedule `schedule.messages.ts` pattern): one place to read and reword them. A message
 * says what went wrong, with the values that identify it, and what to do about it.
 * @internal
 */
import type { NamedPolicyKind } from './interfaces/coordination-options.interface.js';

const DECORATORS: Readonly<Record<NamedPolicyKind, string>> = {
  retry: '@Retry',
  circuitBreaker: '@CircuitBreaker',
  timeout: '@Timeout',
  bulkhead: '@Bulkhead',
  rateLimit: '@RateLimit',
};

function listOrNone(names: readonly string[]): string {
  return names.length > 0 ? names.join(', ') : 'none';
}

// --- decorators and settings (startup) -------------------------------------------------------

/** Two decorators share a rate limit name with different options. */
export function rateLimitDeclaredTwice(input: {
  readonly site: string;
  readonly name: string;
  readonly firstSite: string;
}): string {
  return `${input.site}: @RateLimit '${input.name}' is declared with other options at ${input.firstSite}; methods sharing a limit must declare it the same way (use a named policy)`;
}

/** `@RateLimit` without `limit` and no `policies.default.rateLimit.limit`. */
export function rateLimitWithoutLimit(input: { readonly label: string }): string {
  return `${input.label}: @RateLimit has no limit; give { limit, perMs } or name a policy that sets rateLimit.limit`;
}

/** `@RateLimit` on a synchronous method where only an async one can work. */
export function rateLimitNeedsAsync(input: {
  readonly label: string;
  readonly why: 'wait' | 'fleet';
}): string {
  const what = input.why === 'wait' ? "mode: 'wait' has to wait" : "scope: 'fleet' asks Redis";
  return `${input.label}: @RateLimit ${what}, so the method must return a promise (make it async, or use mode: 'reject' with scope: 'process')`;
}

/** A decorator names a policy that neither `forRoot` nor the YAML section defines. */
export function unknownPolicy(input: {
  readonly label: string;
  readonly kind: NamedPolicyKind;
  readonly name: string;
  readonly known: readonly string[];
}): string {
  return `${input.label}: ${DECORATORS[input.kind]}('${input.name}') names an unknown policy; known: ${listOrNone(input.known)} (define it in CoordinationModule.forRoot({ policies }) or the YAML section coordination.policies)`;
}

/** A decorator's inline options fail the kind's schema. */
export function invalidInlineOptions(input: {
  readonly label: string;
  readonly kind: NamedPolicyKind;
  readonly problems: readonly string[];
}): string {
  return `${input.label}: ${DECORATORS[input.kind]} options are invalid: ${input.problems.join('; ')}`;
}

/** `@Timeout` without a duration and no `policies.default.timeout`. */
export function timeoutWithoutDuration(input: { readonly label: string }): string {
  return `${input.label}: @Timeout has no duration; give milliseconds or set policies.default.timeout`;
}

/** `@Fallback('name')` where the class has no such method. */
export function fallbackMethodMissing(input: {
  readonly label: string;
  readonly name: string;
  readonly className: string;
}): string {
  return `${input.label}: @Fallback('${input.name}') names no method of ${input.className}; to return a literal string, name a method that returns it`;
}

/** Two decorators share a breaker name with different options. */
export function breakerDeclaredTwice(input: {
  readonly site: string;
  readonly name: string;
  readonly firstSite: string;
}): string {
  return `${input.site}: @CircuitBreaker '${input.name}' is already declared by ${input.firstSite} with different options; a shared breaker has one configuration (use a named policy)`;
}

/** Two decorators share a bulkhead name with different options. */
export function bulkheadDeclaredTwice(input: {
  readonly site: string;
  readonly name: string;
  readonly firstSite: string;
}): string {
  return `${input.site}: @Bulkhead '${input.name}' is already declared by ${input.firstSite} with different options`;
}

/** Where a decorator's inline `store: 'redis'` was asked for, for core's `redisRequired()`. */
export function inlineBreakerStoreKey(input: { readonly label: string }): string {
  return `${input.label}: @CircuitBreaker store`;
}

/** `@Validate('name')` names no rule set. */
export function unknownRuleSet(input: {
  readonly label: string;
  readonly name: string;
  readonly known: readonly string[];
}): string {
  return `${input.label}: @Validate('${input.name}') names an unknown rule set; known: ${listOrNone(input.known)} (define it in CoordinationModule.forRoot({ validation }) or coordination.validation in YAML)`;
}

/** `@Validate()` without a validator and no DTO class among the parameter types. */
export function noDtoParameter(input: { readonly label: string }): string {
  return `${input.label}: @Validate() found no DTO class among the parameter types; pass a validator`;
}

/** A schema given to `@Validate` does not compile. */
export function invalidSchema(input: { readonly label: string; readonly reason: string }): string {
  return `${input.label}: @Validate schema is invalid: ${input.reason}`;
}

/** `@Validate({ params: { name } })` names a parameter the method does not have. */
export function unknownParameter(input: {
  readonly label: string;
  readonly key: string;
  readonly methodName: string;
  readonly parameterNames: readonly (string | undefined)[];
}): string {
  const signature = input.parameterNames.map((n) => n ?? '?').join(', ');
  return `${input.label}: @Validate names parameter '${input.key}', which ${input.methodName}(${signature}) does not have`;
}

/** A DTO class is to be validated but class-validator or class-transformer is missing. */
export function dtoLibrariesMissing(input: {
  readonly where: string;
  readonly dto: string;
}): string {
  return `${input.where}: validating the DTO class ${input.dto} needs class-validator and class-transformer, which are not installed; run npm install class-validator class-transformer, or validate with a Standard Schema (zod, valibot) or a JSON Schema`;
}

/** A DTO validation problem: the value is not an object. */
export function notAnObject(input: { readonly dto: string }): string {
  return `must be an object (${input.dto})`;
}

// --- errors at call time -----------------------------------------------------------------------

/** The message of `ValidationFailedError`. */
export function validationFailed(input: {
  readonly method: string | undefined;
  readonly problems: readonly { readonly path: string; readonly message: string }[];
}): string {
  const problems = input.problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message));
  return `Validation failed${input.method ? ` for ${input.method}` : ''}: ${problems.join('; ')}`;
}

/** The message of `CircuitOpenError`. */
export function circuitOpen(input: { readonly breaker: string; readonly state: string }): string {
  return `Circuit breaker '${input.breaker}' is ${input.state}; call rejected`;
}

/** The message of `BulkheadRejectedError`. */
export function bulkheadRejected(input: {
  readonly bulkhead: string;
  readonly reason: 'full' | 'queue-timeout';
}): string {
  return input.reason === 'full'
    ? `Bulkhead '${input.bulkhead}' is full; call rejected`
    : `Bulkhead '${input.bulkhead}': call waited too long for a slot`;
}

/** The message of `TimeoutError`. */
export function timedOut(input: {
  readonly method: string | undefined;
  readonly timeoutMs: number;
}): string {
  return `${input.method ?? 'call'} timed out after ${input.timeoutMs} ms`;
}

/** `CircuitBreakerRegistry.isolate/reset/…` with a name no breaker has. */
export function unknownBreaker(input: {
  readonly name: string;
  readonly known: readonly string[];
}): string {
  return `no circuit breaker named '${input.name}'; known: ${listOrNone(input.known)}`;
}

// --- fleet (shared store) ----------------------------------------------------------------------

/** A shared-store command missed `fleet.commandTimeoutMs`. */
export function storeTimedOut(input: { readonly ms: number }): string {
  return `store did not answer within ${input.ms} ms`;
}

/** A fleet bulkhead's Redis command missed `fleet.commandTimeoutMs`. */
export function bulkheadRedisTimedOut(input: { readonly ms: number }): string {
  return `Redis did not answer within ${input.ms} ms`;
}

/** Which store fleet-wide breakers use (logged once, at startup). */
export function breakerStoreChosen(input: { readonly kind: 'memory' | 'redis' }): string {
  return input.kind === 'redis'
    ? 'fleet circuit breakers share their state in Redis'
    : 'no Redis configured: the fleet circuit breaker store is the embedded memory store (one process)';
}

/** Fleet breakers run on the embedded memory store. */
export function fleetOnMemory(input: { readonly breakers: readonly string[] }): string {
  return `fleet circuit breakers (${input.breakers.join(', ')}) use the embedded memory store: correct for one process only; configure Redis to share them`;
}

/** The shared store answers again. */
export function fleetRejoined(input: { readonly kind: string }): string {
  return `fleet circuit breakers re-joined the shared ${input.kind} store`;
}

/** The shared store stopped answering. */
export function fleetUnreachable(input: {
  readonly reason: string;
  readonly breakers: number;
}): string {
  return `shared breaker store unreachable (${input.reason}); ${input.breakers} fleet breaker(s) now decide locally until it returns`;
}

/** A `@RateLimit` refused a call. */
export function rateLimited(input: {
  readonly limit: string;
  readonly quota: number;
  readonly perMs: number;
  readonly retryAfterMs: number;
}): string {
  return `rate limit '${input.limit}' (${input.quota} per ${input.perMs} ms) refused the call; retry in ${Math.ceil(input.retryAfterMs)} ms`;
}

/** A fleet rate limit could not reach Redis and decides on this process's insurance limit. */
export function rateLimitOnInsurance(input: {
  readonly limit: string;
  readonly insurance: number;
  readonly reason: string;
}): string {
  return `rate limit '${input.limit}' cannot reach Redis (${input.reason}); deciding on this process's insurance limit of ${input.insurance} until it is back`;
}

/** A fleet rate limit reached Redis again. */
export function rateLimitRejoined(input: { readonly limit: string }): string {
  return `rate limit '${input.limit}' reaches Redis again; the fleet-wide limit applies`;
}

/** Redis did not answer a rate-limit decision in time. */
export function rateLimitRedisTimedOut(input: { readonly ms: number }): string {
  return `Redis did not answer a rate-limit decision within ${input.ms} ms`;
}

/** The cache's shared tier did not answer in time. */
export function cacheStoreTimedOut(input: { readonly ms: number }): string {
  return `the cache store did not answer within ${input.ms} ms`;
}

/** The cache's shared tier failed: calls run uncached until it answers. */
export function cacheStoreUnreachable(input: { readonly reason: string }): string {
  return `the cache store is unreachable (${input.reason}); cached methods run uncached until it answers (retried every second)`;
}

/** The cache's shared tier answers again. */
export function cacheStoreBack(): string {
  return 'the cache store answers again; caching resumes';
}

/** `@Cached` / `@CachePut` on a method that does not return a promise. */
export function cacheNeedsAsync(input: {
  readonly label: string;
  readonly decorator: string;
}): string {
  return `${input.label}: ${input.decorator} needs a method that returns a promise (the shared tier is asynchronous); make it async`;
}

/** `@CacheEvict` with neither keys nor tags. */
export function evictWithoutTarget(input: { readonly label: string }): string {
  return `${input.label}: @CacheEvict names no key and no tags; give { key } or { tags }`;
}

/** A cache option is out of range. */
export function invalidCacheOptions(input: {
  readonly label: string;
  readonly decorator: string;
  readonly problems: readonly string[];
}): string {
  return `${input.label}: ${input.decorator} options are invalid: ${input.problems.join('; ')}`;
}

/** A cached value holds a reference to itself. */
export function cacheValueCyclic(): string {
  return 'a cached value refers to itself (a cycle); cache a tree, or give the value a toJSON()';
}

/** A cached value holds something no codec can carry (a function, a symbol). */
export function cacheValueUnencodable(input: { readonly type: string }): string {
  return `a cached value holds a ${input.type}, which cannot be cached; return data, not behaviour`;
}

/** A default cache key cannot be built: an argument refers to itself. */
export function cacheKeyArgsCyclic(input: { readonly label: string }): string {
  return `${input.label}: @Cached cannot build a key from arguments that refer to themselves (a request, an entity graph); give a key template, e.g. { key: '{id}' }`;
}

/** `@Cached({ store: 'redis' })` without Redis in KeelCoreModule. */
export function cacheStoreNeedsRedis(input: { readonly label: string }): string {
  return `${input.label}: @Cached store: 'redis' asks for Redis, but KeelCoreModule has none; configure redis in KeelCoreModule.forRoot, or leave store out (the embedded store)`;
}
