import { KeelConfigError, KeelDecoratorError, keelZodErrorMap } from '@keel/core';
import { z } from 'zod';
import type { ErrorFilter } from './error-filter.js';

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
   * These errors count neither way. @default ValidationFailedError, BulkheadRejectedError and
   * 4xx-like errors
   */
  readonly ignoreOn?: ErrorFilter;
  /**
   * `local`: this process only. `redis`: window and state shared by every replica of the service
   * (falls back to the in-memory store when no Redis is configured). @default 'local'
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
  /** Bulkhead name; methods naming the same bulkhead share its slots. @default `ClassName.methodName` */
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

/** A named policy: per-kind options that extend the `default` policy. @publicApi */
export interface NamedPolicy {
  readonly retry?: RetryOptions;
  readonly circuitBreaker?: CircuitBreakerOptions;
  readonly timeout?: TimeoutOptions | number;
  readonly bulkhead?: BulkheadOptions;
}

/** A JSON Schema rule set usable as `@Validate('name')`. @publicApi */
export type JsonSchemaRuleSet =
  | Readonly<Record<string, unknown>>
  | { readonly params: Readonly<Record<string, Readonly<Record<string, unknown>>>> }
  | { readonly args: Readonly<Record<string, unknown>> };

/**
 * Options of `CoordinationModule.forRoot()`. The YAML section `coordination:` has the same shape
 * (without functions); `forRoot` values win per policy and kind.
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
}

/** Settings after merging YAML, options and defaults. @internal */
export interface CoordinationSettings {
  readonly policies: Readonly<Record<string, NamedPolicy>>;
  readonly validation: Readonly<Record<string, JsonSchemaRuleSet>>;
  readonly fleet: { flushIntervalMs: number; refreshIntervalMs: number; commandTimeoutMs: number };
}

const fn = z.custom<(...args: never[]) => unknown>(
  (v) => typeof v === 'function',
  'must be a function',
);
const errorFilter = z.custom<ErrorFilter>(
  (v) => typeof v === 'function' || (Array.isArray(v) && v.every((c) => typeof c === 'function')),
  'must be a list of error classes or a predicate',
);
const positiveInt = z.number().int().min(1);
const ms = z.number().int().min(1).max(86_400_000);
const percent = z.number().min(0).max(100);

const RetrySchema = z
  .object({
    maxAttempts: positiveInt.max(1_000).optional(),
    maxDurationMs: ms.optional(),
    backoff: z.enum(['constant', 'exponential', 'decorrelated-jitter']).optional(),
    delayMs: z.number().int().min(0).max(3_600_000).optional(),
    maxDelayMs: z.number().int().min(0).max(3_600_000).optional(),
    factor: z.number().min(1).max(100).optional(),
    retryOn: errorFilter.optional(),
    abortOn: errorFilter.optional(),
    onRetry: fn.optional(),
  })
  .strict();

const BreakerSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,100}$/, 'must be 1–100 letters, digits, . _ : -')
      .optional(),
    slidingWindow: z.enum(['count', 'time']).optional(),
    windowSize: positiveInt.max(100_000).optional(),
    minimumCalls: positiveInt.max(100_000).optional(),
    failureRateThreshold: percent.optional(),
    slowCallDurationMs: ms.optional(),
    slowCallRateThreshold: percent.optional(),
    consecutiveFailures: positiveInt.max(100_000).optional(),
    openDurationMs: ms.optional(),
    halfOpenProbes: positiveInt.max(1_000).optional(),
    recordOn: errorFilter.optional(),
    ignoreOn: errorFilter.optional(),
    store: z.enum(['local', 'redis']).optional(),
    critical: z.boolean().optional(),
  })
  .strict();

const TimeoutSchema = z.union([
  ms,
  z.object({ ms: ms.optional(), signalInContext: z.boolean().optional() }).strict(),
]);

const BulkheadSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,100}$/, 'must be 1–100 letters, digits, . _ : -')
      .optional(),
    maxConcurrent: positiveInt.max(1_000_000).optional(),
    maxQueue: z.number().int().min(0).max(1_000_000).optional(),
    queueTimeoutMs: ms.optional(),
    scope: z.enum(['local', 'fleet']).optional(),
    leaseMs: z.number().int().min(100).max(86_400_000).optional(),
  })
  .strict();

const NamedPolicySchema = z
  .object({
    retry: RetrySchema.optional(),
    circuitBreaker: BreakerSchema.optional(),
    timeout: TimeoutSchema.optional(),
    bulkhead: BulkheadSchema.optional(),
  })
  .strict();

const SectionSchema = z
  .object({
    policies: z
      .record(
        z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'policy names are letters, digits, . _ -'),
        NamedPolicySchema,
      )
      .optional(),
    validation: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
    fleet: z
      .object({
        flushIntervalMs: z.number().int().min(5).max(10_000).optional(),
        refreshIntervalMs: z.number().int().min(50).max(600_000).optional(),
        commandTimeoutMs: z.number().int().min(10).max(60_000).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/**
 * Validates the YAML section and `forRoot` options and merges them (options win per policy and
 * kind). Every problem is reported at once.
 * @throws KeelConfigError
 * @internal
 */
export function resolveCoordinationSettings(
  options: CoordinationModuleOptions,
  yamlSection: unknown,
): CoordinationSettings {
  const problems: string[] = [];
  const parse = (value: unknown, source: string) => {
    const parsed = SectionSchema.safeParse(value ?? {}, { error: keelZodErrorMap });
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) {
      const key = ['coordination', ...issue.path.map(String)].join('.');
      problems.push(`${key} (${source}): ${issue.message}`);
    }
    return undefined;
  };
  const fromYaml = parse(yamlSection, 'YAML configuration');
  const fromOptions = parse(options, 'CoordinationModule.forRoot options');
  if (problems.length > 0 || fromYaml === undefined || fromOptions === undefined) {
    throw new KeelConfigError(problems);
  }
  const policies: Record<string, NamedPolicy> = {};
  for (const source of [fromYaml.policies ?? {}, fromOptions.policies ?? {}]) {
    for (const [name, policy] of Object.entries(source)) {
      const base = policies[name] ?? {};
      policies[name] = {
        retry: merge(base.retry, policy.retry),
        circuitBreaker: merge(base.circuitBreaker, policy.circuitBreaker),
        timeout: merge(asTimeout(base.timeout), asTimeout(policy.timeout)),
        bulkhead: merge(base.bulkhead, policy.bulkhead),
      } as NamedPolicy;
    }
  }
  return {
    policies,
    validation: { ...(fromYaml.validation ?? {}), ...(fromOptions.validation ?? {}) } as Record<
      string,
      JsonSchemaRuleSet
    >,
    fleet: {
      flushIntervalMs: fromOptions.fleet?.flushIntervalMs ?? fromYaml.fleet?.flushIntervalMs ?? 50,
      refreshIntervalMs:
        fromOptions.fleet?.refreshIntervalMs ?? fromYaml.fleet?.refreshIntervalMs ?? 1_000,
      commandTimeoutMs:
        fromOptions.fleet?.commandTimeoutMs ?? fromYaml.fleet?.commandTimeoutMs ?? 500,
    },
  };
}

function asTimeout(value: TimeoutOptions | number | undefined): TimeoutOptions | undefined {
  return typeof value === 'number' ? { ms: value } : value;
}

function merge<T extends object>(base: T | undefined, over: T | undefined): T | undefined {
  if (base === undefined) return over;
  if (over === undefined) return base;
  return { ...base, ...over };
}

/** The policy kinds a named policy configures. @internal */
export type NamedPolicyKind = keyof NamedPolicy;

const SCHEMAS: Record<NamedPolicyKind, z.ZodType> = {
  retry: RetrySchema,
  circuitBreaker: BreakerSchema,
  timeout: TimeoutSchema,
  bulkhead: BulkheadSchema,
};

const DECORATORS: Record<NamedPolicyKind, string> = {
  retry: '@Retry',
  circuitBreaker: '@CircuitBreaker',
  timeout: '@Timeout',
  bulkhead: '@Bulkhead',
};

/**
 * Resolves a decorator's argument (a policy name or inline options) into options: the `default`
 * policy's section, extended by the named policy's section or the inline options.
 * @throws KeelDecoratorError naming the method for an unknown policy or invalid inline options.
 * @internal
 */
export function resolvePolicyOptions<T extends object>(
  settings: CoordinationSettings,
  kind: NamedPolicyKind,
  ref: string | T | undefined,
  label: string,
): { options: T; policyName: string | undefined } {
  const base = section<T>(settings.policies.default, kind);
  if (typeof ref === 'string') {
    const named = settings.policies[ref];
    if (named === undefined) {
      const known = Object.keys(settings.policies);
      throw new KeelDecoratorError(
        `${label}: ${DECORATORS[kind]}('${ref}') names an unknown policy; known: ${known.length ? known.join(', ') : 'none'} (define it in CoordinationModule.forRoot({ policies }) or the YAML section coordination.policies)`,
      );
    }
    return { options: { ...base, ...section<T>(named, kind) } as T, policyName: ref };
  }
  const inline = kind === 'timeout' && typeof ref === 'number' ? { ms: ref } : ref;
  const parsed = SCHEMAS[kind].safeParse(inline ?? {}, { error: keelZodErrorMap });
  if (!parsed.success) {
    throw new KeelDecoratorError(
      `${label}: ${DECORATORS[kind]} options are invalid: ${parsed.error.issues
        .map((i) => `${i.path.map(String).join('.') || 'options'}: ${i.message}`)
        .join('; ')}`,
    );
  }
  return { options: { ...base, ...(inline as T) } as T, policyName: undefined };
}

function section<T>(policy: NamedPolicy | undefined, kind: NamedPolicyKind): Partial<T> {
  const value = policy?.[kind];
  if (value === undefined) return {};
  return (typeof value === 'number' ? { ms: value } : value) as Partial<T>;
}
