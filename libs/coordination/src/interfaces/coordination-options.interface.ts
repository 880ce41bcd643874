import type { KeyTemplate } from '@keel/core';
import type { ErrorFilter } from '../error-filter.js';

/** How retries wait between attempts. @publicApi */
export type BackoffKind = 'constant' | 'exponential' | 'decorrelated-jitter';

/** What `onRetry` receives before each retry. @publicApi */
export interface RetryEvent {
  /** `ClassName.methodName`. */
  readonly method: string;
  /** The attempt that just failed (1 = the first call). */
  readonly attempt: number;
  /** How long Keel waits before the next attempt. */
  readonly delayMs: number;
  readonly error: unknown;
}

/**
 * Options of `@Retry`. All fields are optional: missing ones come from the `default` policy, then
 * from the documented defaults.
 * @publicApi
 */
export interface RetryOptions {
  /**
   * Total number of calls, **including the first** (Resilience4j's convention, not cockatiel's):
   * `maxAttempts: 3` means one call and at most two retries.
   * @default 3
   */
  readonly maxAttempts?: number;
  /** No retry starts (and no sleep runs) past this budget, measured from the first call. */
  readonly maxDurationMs?: number;
  /** @default 'exponential' */
  readonly backoff?: BackoffKind;
  /** First delay (constant: every delay). @default 100 */
  readonly delayMs?: number;
  /** Cap of any one delay. @default 10000 */
  readonly maxDelayMs?: number;
  /** Growth factor of `exponential`. @default 2 */
  readonly factor?: number;
  /**
   * Only these errors are retried. By default every error except `ValidationFailedError`,
   * `CircuitOpenError`, `BulkheadRejectedError` and 4xx-like errors (408 and 429 are retried).
   */
  readonly retryOn?: ErrorFilter;
  /** These errors are never retried, even when `retryOn` matches. */
  readonly abortOn?: ErrorFilter;
  /** Called before each retry (metrics, logs). */
  readonly onRetry?: (event: RetryEvent) => void;
}

/**
 * Options of `@CircuitBreaker`.
 * @publicApi
 */
export interface CircuitBreakerOptions {
  /**
   * Breaker name. Methods naming the same breaker share it (one window, one state).
   * @default the policy name for `@CircuitBreaker('name')`, else `ClassName.methodName`
   */
  readonly name?: string;
  /** `count`: the last `windowSize` calls; `time`: the calls of the last `windowSize` seconds. @default 'count' */
  readonly slidingWindow?: 'count' | 'time';
  /** Calls (count window) or seconds (time window). @default 100 (count), 60 (time) */
  readonly windowSize?: number;
  /** Calls the window must hold before rates are evaluated. @default 10 */
  readonly minimumCalls?: number;
  /** Failure rate (percent) at or above which the breaker opens. @default 50 */
  readonly failureRateThreshold?: number;
  /** A call taking at least this long is slow. Off when unset. */
  readonly slowCallDurationMs?: number;
  /** Slow-call rate (percent) at or above which the breaker opens. @default 100 */
  readonly slowCallRateThreshold?: number;
  /** Also open after this many failures in a row, whatever the window says. Off when unset. */
  readonly consecutiveFailures?: number;
  /** How long the breaker stays open before admitting probes. @default 10000 */
  readonly openDurationMs?: number;
  /** Probe calls admitted while half-open (fleet-wide with `store: 'redis'`). All must succeed to close. @default 1 */
  readonly halfOpenProbes?: number;
  /** Only these errors count as failures; others count as successes. @default every error */
  readonly recordOn?: ErrorFilter;
  /**
   * These errors count neither way. @default ValidationFailedError, BulkheadRejectedError,
   * RateLimitedError and 4xx-like errors
   */
  readonly ignoreOn?: ErrorFilter;
  /**
   * `local`: this process only. `redis`: window and state shared by every replica of the service,
   * in Redis; startup fails when `KeelCoreModule` has no Redis (leave it out, or `local`, for a
   * breaker of one process). @default 'local'
   */
  readonly store?: 'local' | 'redis';
  /** While open, the health indicator reports `down` instead of `degraded`. @default false */
  readonly critical?: boolean;
}

/** Options of `@Timeout`. @publicApi */
export interface TimeoutOptions {
  /** Deadline of each call (each attempt under `@Retry`). */
  readonly ms?: number;
  /**
   * Bind the call's AbortSignal in the request context so `timeoutSignal()` works after the
   * method's first `await` too. Costs one context frame per call; without it, `timeoutSignal()`
   * must be called before the method's first `await`. @default false
   */
  readonly signalInContext?: boolean;
}

/** Options of `@Bulkhead`. @publicApi */
export interface BulkheadOptions {
  /**
   * Bulkhead name; methods naming the same bulkhead share its slots.
   * @default the policy name for `@Bulkhead('name')`, else `ClassName.methodName`
   */
  readonly name?: string;
  /** Calls running at once (per process, or fleet-wide with `scope: 'fleet'`). @default 10 */
  readonly maxConcurrent?: number;
  /** Calls waiting for a slot, per process. @default 0 */
  readonly maxQueue?: number;
  /** Longest wait in the queue. @default 1000 */
  readonly queueTimeoutMs?: number;
  /** `fleet`: the limit spans every replica (Redis semaphore). @default 'local' */
  readonly scope?: 'local' | 'fleet';
  /** Fleet slots are leases renewed while the call runs; a crashed holder frees its slot after this. @default 30000 */
  readonly leaseMs?: number;
}

/**
 * Who a rate limit counts per, read from the request context: the authenticated `actor`, the
 * `tenant`, the client `ip`, or `client` (the actor when there is one, else the IP). A call
 * without that value (no request, anonymous) counts in one shared bucket, `anonymous`.
 * @publicApi
 */
export type RateLimitPer = 'actor' | 'tenant' | 'ip' | 'client';

/**
 * Options of `@RateLimit`.
 * @publicApi
 */
export interface RateLimitOptions {
  /**
   * Limit name; methods naming the same limit share its budget (every method that calls one
   * payment provider, say).
   * @default the policy name for `@RateLimit('name')`, else `ClassName.methodName`
   */
  readonly name?: string;
  /**
   * Splits the limit into one budget per key, a key template over the method's arguments
   * (`'{tenantId}'`, `'{dto.accountId}'`) or a function of them. One budget when unset.
   */
  readonly key?: KeyTemplate;
  /** One budget per actor, tenant, IP or client of the request context (combined with `key`). */
  readonly per?: RateLimitPer;
  /** Calls allowed per `perMs` at the steady rate (required, here or in a named policy). */
  readonly limit?: number;
  /** The window of `limit`, in milliseconds. @default 1000 */
  readonly perMs?: number;
  /**
   * Calls allowed at once beyond the steady rate. In any sliding window of `perMs` at most
   * `limit + burst` calls run; with 0, calls are spaced `perMs / limit` apart. @default 0
   */
  readonly burst?: number;
  /**
   * `reject`: a call without a free turn fails at once with `RateLimitedError` (HTTP 429).
   * `wait`: the call is scheduled for its turn and runs then, failing only when the turn is
   * more than `maxWaitMs` away. @default 'reject'
   */
  readonly mode?: 'reject' | 'wait';
  /** The longest a call waits for its turn in `wait` mode. @default 1000 */
  readonly maxWaitMs?: number;
  /**
   * `process`: the limit is this process's. `fleet`: every replica of the service shares it,
   * in Redis (one script call per decision; the embedded store when `KeelCoreModule` has no
   * Redis). @default 'process'
   */
  readonly scope?: 'process' | 'fleet';
  /**
   * While Redis is unreachable a fleet limit decides in each process on this many calls per
   * `perMs` (the "insurance" share), so the fleet degrades to per-process limits rather than to
   * none or to failing. Set it to `limit / replicas` to keep the fleet under `limit`.
   * @default the limit
   */
  readonly insuranceLimit?: number;
  /**
   * Makes the decision readable with `currentRateLimit()` inside the method (remaining budget,
   * reset, wait). Off by default: binding it costs every call a context switch. @default false
   */
  readonly stateInContext?: boolean;
}

/**
 * Options of `@Cached`.
 * @publicApi
 */
export interface CachedOptions {
  /**
   * Cache name: the first part of every key, and the `name` label of the cache metrics.
   * `@CacheEvict` / `@CachePut` / `CacheService` address entries by it.
   * @default the method's `ClassName.methodName`
   */
  readonly name?: string;
  /**
   * The key within the cache, a key template over the method's arguments (`'{id}'`,
   * `'{dto.accountId}:{page}'`) or a function of them. When unset, the key is every argument
   * in canonical JSON (object keys sorted), hashed when long.
   */
  readonly key?: KeyTemplate;
  /** How long a value is fresh, in milliseconds. @default 60000 */
  readonly ttlMs?: number;
  /**
   * After `ttlMs`, the value is served this much longer while one caller in the fleet refreshes
   * it in the background (the caller does not wait). 0: an expired value is a miss. @default 0
   */
  readonly staleWhileRevalidateMs?: number;
  /**
   * Tags of the entry (key templates, like `key`): `@CacheEvict({ tags })` and
   * `CacheService.evictTags()` drop every entry with one of them.
   */
  readonly tags?: readonly KeyTemplate[];
  /** Cache a `null` result too (`undefined` is never cached). @default false */
  readonly cacheNull?: boolean;
  /**
   * `redis`: shared by every replica, invalidated fleet-wide (needs Redis in `KeelCoreModule`).
   * `memory`: this process's own cache (two tiers in process; other replicas' writes and
   * evictions do not reach it). The first `@Cached` of a name decides for it.
   * @default Redis when `KeelCoreModule` has it, else memory
   */
  readonly store?: 'redis' | 'memory';
}

/**
 * Options of `@CachePut`: the method always runs and its result replaces the entry (a write
 * path that returns the new value).
 * @publicApi
 */
export interface CachePutOptions extends CachedOptions {
  /** The cache to write, the `name` of the `@Cached` that reads it. */
  readonly name: string;
}

/**
 * Options of `@CacheEvict`: after the method succeeds, the entry (`name` + `key`) and every
 * entry with one of `tags` are dropped in the whole fleet.
 * @publicApi
 */
export interface CacheEvictOptions {
  /** The cache whose entry is dropped (with `key`, or the default key of this method's arguments). */
  readonly name?: string;
  /** The key within `name`, a key template over this method's arguments. */
  readonly key?: KeyTemplate;
  /** Drop every entry carrying one of these tags (key templates over this method's arguments). */
  readonly tags?: readonly KeyTemplate[];
  /** Evict before the method runs (and whether it fails or not). @default false */
  readonly beforeInvocation?: boolean;
}

/** Settings of the `@Cached` engine (`cache:` in `CoordinationModule.forRoot`). @publicApi */
export interface CacheModuleOptions {
  /** Values held in process (the tier in front of Redis). @default 10000 */
  readonly maxEntries?: number;
  /** Bytes held in process, counted as the encoded size. @default 67108864 */
  readonly maxBytes?: number;
  /** A value whose encoding is bigger is not cached (counted as `oversize`). @default 1048576 */
  readonly maxValueBytes?: number;
  /** How long one replica may take to fill a miss before another tries. @default 5000 */
  readonly leaseMs?: number;
  /**
   * Classes whose instances keep their prototype through the cache, by a stable name (the name
   * is what is stored: keep it when the class is renamed). `forRoot` only.
   */
  readonly classes?: Readonly<Record<string, CacheableClass>>;
  /**
   * Your own encoding of cached values (superjson, msgpack as base64, …) instead of Keel's
   * tagged JSON; `classes` is then unused. Every replica must use the same. `forRoot` only.
   */
  readonly codec?: CacheCodec;
}

/** How cached values become the strings the shared tier holds, and back. @publicApi */
export interface CacheCodec {
  encode(value: unknown): string;
  decode(payload: string): unknown;
}

/** A class whose instances keep their prototype through the cache. @publicApi */
export type CacheableClass = abstract new (...args: never[]) => object;

/** A named policy: per-kind options that extend the `default` policy. @publicApi */
export interface NamedPolicy {
  readonly retry?: RetryOptions;
  readonly circuitBreaker?: CircuitBreakerOptions;
  readonly timeout?: TimeoutOptions | number;
  readonly bulkhead?: BulkheadOptions;
  readonly rateLimit?: RateLimitOptions;
}

/** A JSON Schema rule set usable as `@Validate('name')`. @publicApi */
export type JsonSchemaRuleSet =
  | Readonly<Record<string, unknown>>
  | { readonly params: Readonly<Record<string, Readonly<Record<string, unknown>>>> }
  | { readonly args: Readonly<Record<string, unknown>> };

/**
 * Options of `CoordinationModule.forRoot()`; every key is optional (`forRoot()` works). The YAML
 * section `coordination:` has the same shape (without functions). Precedence, per key: `forRoot`
 * > the YAML section > default (the module reads no environment variable). Policies merge per
 * policy, kind and key: `policies.payments.retry.maxAttempts` from `forRoot` keeps the YAML's
 * `policies.payments.retry.delayMs`; a `validation` rule set is replaced whole.
 * @publicApi
 */
export interface CoordinationModuleOptions {
  /** Named policies; `default` is the base every decorator extends. */
  readonly policies?: Readonly<Record<string, NamedPolicy>>;
  /** Named JSON Schema rule sets for `@Validate('name')`. */
  readonly validation?: Readonly<Record<string, JsonSchemaRuleSet>>;
  /** Fleet (Redis-shared) breakers. */
  readonly fleet?: {
    /** Outcomes are sent to Redis in batches this often. @default 50 */
    readonly flushIntervalMs?: number;
    /** Full state refresh, a safety net for lost pub/sub messages. @default 1000 */
    readonly refreshIntervalMs?: number;
    /** A Redis command slower than this marks the store unavailable. @default 500 */
    readonly commandTimeoutMs?: number;
  };
  /** The `@Cached` engine. */
  readonly cache?: CacheModuleOptions;
}

/** Settings after merging YAML, options and defaults. @internal */
export interface CoordinationSettings {
  readonly policies: Readonly<Record<string, NamedPolicy>>;
  readonly validation: Readonly<Record<string, JsonSchemaRuleSet>>;
  readonly fleet: { flushIntervalMs: number; refreshIntervalMs: number; commandTimeoutMs: number };
  readonly cache: Required<Omit<CacheModuleOptions, 'codec'>> & { readonly codec?: CacheCodec };
}

/** The policy kinds a named policy configures. @internal */
export type NamedPolicyKind = keyof NamedPolicy;
