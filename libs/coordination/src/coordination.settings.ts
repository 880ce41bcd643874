import { KeelConfigError, type KeelCoreSettings } from '@keel/core';
import {
  redisRequired,
  resolveModuleSettings,
  settingSource,
  type ModuleSettingsSpec,
} from '@keel/core/internal';
import { z } from 'zod';
import type { ErrorFilter } from './error-filter.js';
import type {
  CacheableClass,
  CacheCodec,
  CoordinationModuleOptions,
  CoordinationSettings,
  JsonSchemaRuleSet,
  NamedPolicy,
  NamedPolicyKind,
} from './interfaces/coordination-options.interface.js';

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
const policyName = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,100}$/, 'must be 1–100 letters, digits, . _ : -');

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
    name: policyName.optional(),
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

// A bare number is `{ ms }`: normalised while parsing, so that layers merge key by key (a YAML
// `timeout: 2000` under a forRoot `timeout: { signalInContext: true }` keeps its 2000 ms).
const TimeoutSchema = z.union([
  ms.transform((value) => ({ ms: value })),
  z.object({ ms: ms.optional(), signalInContext: z.boolean().optional() }).strict(),
]);

const BulkheadSchema = z
  .object({
    name: policyName.optional(),
    maxConcurrent: positiveInt.max(1_000_000).optional(),
    maxQueue: z.number().int().min(0).max(1_000_000).optional(),
    queueTimeoutMs: ms.optional(),
    scope: z.enum(['local', 'fleet']).optional(),
    leaseMs: z.number().int().min(100).max(86_400_000).optional(),
  })
  .strict();

const keyTemplate = z.union([
  z.string().min(1),
  z.custom<(...args: never[]) => string>((v) => typeof v === 'function', 'must be a function'),
]);

const RateLimitSchema = z
  .object({
    name: policyName.optional(),
    key: keyTemplate.optional(),
    per: z.enum(['actor', 'tenant', 'ip', 'client']).optional(),
    limit: positiveInt.max(1_000_000_000).optional(),
    perMs: ms.optional(),
    burst: z.number().int().min(0).max(1_000_000_000).optional(),
    mode: z.enum(['reject', 'wait']).optional(),
    maxWaitMs: z.number().int().min(0).max(3_600_000).optional(),
    scope: z.enum(['process', 'fleet']).optional(),
    insuranceLimit: positiveInt.max(1_000_000_000).optional(),
    stateInContext: z.boolean().optional(),
  })
  .strict();

const days30 = 2_592_000_000;
const CachedSchema = z
  .object({
    name: policyName.optional(),
    key: keyTemplate.optional(),
    ttlMs: z.number().int().min(1).max(days30).optional(),
    staleWhileRevalidateMs: z.number().int().min(0).max(days30).optional(),
    tags: z.array(keyTemplate).max(100).optional(),
    cacheNull: z.boolean().optional(),
    store: z.enum(['redis', 'memory']).optional(),
  })
  .strict();

/** Schemas of the inline options of `@Cached`, `@CachePut` and `@CacheEvict`. @internal */
export const CACHE_SCHEMAS = {
  cached: CachedSchema,
  cachePut: CachedSchema.extend({ name: policyName }),
  cacheEvict: z
    .object({
      name: policyName.optional(),
      key: keyTemplate.optional(),
      tags: z.array(keyTemplate).max(100).optional(),
      beforeInvocation: z.boolean().optional(),
    })
    .strict(),
} as const;

/** Schema of each policy kind, for named policies and for a decorator's inline options. @internal */
export const POLICY_SCHEMAS: Readonly<Record<NamedPolicyKind, z.ZodType>> = {
  retry: RetrySchema,
  circuitBreaker: BreakerSchema,
  timeout: TimeoutSchema,
  bulkhead: BulkheadSchema,
  rateLimit: RateLimitSchema,
};

const NamedPolicySchema = z
  .object({
    retry: RetrySchema.optional(),
    circuitBreaker: BreakerSchema.optional(),
    timeout: TimeoutSchema.optional(),
    bulkhead: BulkheadSchema.optional(),
    rateLimit: RateLimitSchema.optional(),
  })
  .strict();

const schema = z
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
    cache: z
      .object({
        maxEntries: z.number().int().min(0).max(100_000_000).optional(),
        maxBytes: z.number().int().min(0).max(1_099_511_627_776).optional(),
        maxValueBytes: z.number().int().min(1).max(536_870_912).optional(),
        leaseMs: z.number().int().min(10).max(600_000).optional(),
        classes: z
          .record(
            z.string().min(1),
            z.custom<CacheableClass>((v) => typeof v === 'function', 'must be a class'),
          )
          .optional(),
        codec: z
          .custom<CacheCodec>(
            (v) =>
              typeof v === 'object' &&
              v !== null &&
              typeof (v as CacheCodec).encode === 'function' &&
              typeof (v as CacheCodec).decode === 'function',
            'must be an object with encode(value) and decode(payload) functions',
          )
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict() as unknown as z.ZodType<CoordinationModuleOptions>;

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (child !== null && typeof child === 'object') deepFreeze(child as object);
  }
  return Object.freeze(value);
}

/**
 * The one place each default is written: the module's options (`policies`, `validation`,
 * `fleet`) and, under `policy`, the defaults of each policy kind, which apply beneath whatever
 * the `default` policy, a named policy or a decorator's inline options set. The policy files read
 * them from here; the TSDoc `@default`s say the same (coordination.settings.spec.ts checks it).
 * @internal
 */
export const DEFAULTS = deepFreeze({
  policies: {},
  validation: {},
  fleet: { flushIntervalMs: 50, refreshIntervalMs: 1_000, commandTimeoutMs: 500 },
  cache: { maxEntries: 10_000, maxBytes: 67_108_864, maxValueBytes: 1_048_576, leaseMs: 5_000 },
  policy: {
    retry: {
      maxAttempts: 3,
      backoff: 'exponential',
      delayMs: 100,
      maxDelayMs: 10_000,
      factor: 2,
    },
    circuitBreaker: {
      slidingWindow: 'count',
      /** By window kind: calls for `count`, seconds for `time`. */
      windowSize: { count: 100, time: 60 },
      minimumCalls: 10,
      failureRateThreshold: 50,
      slowCallRateThreshold: 100,
      openDurationMs: 10_000,
      halfOpenProbes: 1,
      store: 'local',
      critical: false,
    },
    timeout: { signalInContext: false },
    bulkhead: {
      maxConcurrent: 10,
      maxQueue: 0,
      queueTimeoutMs: 1_000,
      scope: 'local',
      leaseMs: 30_000,
    },
    rateLimit: {
      perMs: 1_000,
      burst: 0,
      mode: 'reject',
      maxWaitMs: 1_000,
      scope: 'process',
      stateInContext: false,
    },
    cached: { ttlMs: 60_000, staleWhileRevalidateMs: 0, cacheNull: false },
    cacheEvict: { beforeInvocation: false },
  },
} as const);

/** How CoordinationModule resolves its settings (see docs/lib-skeleton.md). @internal */
export const COORDINATION_SETTINGS_SPEC: ModuleSettingsSpec<CoordinationModuleOptions> = {
  section: 'coordination',
  moduleName: 'CoordinationModule',
  schema,
  defaults: {
    policies: DEFAULTS.policies,
    validation: DEFAULTS.validation,
    fleet: DEFAULTS.fleet,
    cache: DEFAULTS.cache,
  },
  // Policies and rule sets are per service, not per deployment: no environment variable.
  env: {},
  combine: {
    // A rule set is one JSON Schema: two of them merged key by key would be neither.
    validation: (earlier, later) => ({ ...(earlier as object), ...(later as object) }),
  },
};

/**
 * Resolves the module's settings: `forRoot` options > the YAML section `coordination` >
 * `DEFAULTS`, per key (policies per policy, kind and key; rule sets whole). A named policy whose
 * breaker asks for `store: 'redis'` while `KeelCoreModule` has no Redis is a problem (core's
 * `redisRequired()` message), as in every lib.
 * @throws KeelConfigError with one line per problem.
 * @internal
 */
export function resolveCoordinationSettings(
  options: CoordinationModuleOptions | undefined,
  core: KeelCoreSettings,
): CoordinationSettings {
  const resolved = resolveModuleSettings(COORDINATION_SETTINGS_SPEC, options, core.config);
  const policies = (resolved.policies ?? {}) as Readonly<Record<string, NamedPolicy>>;
  if (core.redis === undefined) {
    const problems: string[] = [];
    for (const [name, policy] of Object.entries(policies)) {
      if (policy.circuitBreaker?.store !== 'redis') continue;
      const path = `policies.${name}.circuitBreaker.store`;
      const key = settingSource(COORDINATION_SETTINGS_SPEC, options, core.config, path);
      problems.push(redisRequired({ key, asked: "'redis'" }));
    }
    if (problems.length > 0) throw new KeelConfigError(problems);
  }
  return {
    policies,
    validation: (resolved.validation ?? {}) as Readonly<Record<string, JsonSchemaRuleSet>>,
    fleet: { ...DEFAULTS.fleet, ...resolved.fleet },
    cache: { ...DEFAULTS.cache, classes: {}, ...resolved.cache },
  };
}
