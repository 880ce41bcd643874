import { randomUUID } from 'node:crypto';
import { KeelConfigError, type KeelCoreSettings } from '@keel/core';
import {
  redisRequired,
  resolveModuleSettings,
  settingSource,
  SettingsProblems,
  type ModuleSettingsSpec,
} from '@keel/core/internal';
import { z } from 'zod';
import type {
  RegistryModuleOptions,
  RegistryServiceOptions,
  RegistrySettings,
} from './interfaces/registry-options.interface.js';
import {
  checksNeedService,
  heartbeatNotBelowTtl,
  maxEjectBelowEject,
} from './registry.messages.js';

const name = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,62}$/i,
    'must be 1–63 letters, digits, dots, dashes or underscores',
  );
const ms = (min: number, max: number) => z.number().int().min(min).max(max);
const port = z.number().int().min(0).max(65_535);

const ServiceSchema = z
  .object({
    name: name.optional(),
    version: z.string().max(64).optional(),
    tags: z.array(z.string().min(1).max(128)).max(64).optional(),
    metadata: z.record(z.string(), z.string()).optional(),
    weight: z.number().min(0).max(1_000_000).optional(),
    zone: z.string().min(1).max(64).optional(),
    instanceId: z.string().min(1).max(128).optional(),
  })
  .strict();

/** Keys the YAML section `registry` may set (no store instances, functions or secrets). */
const yamlSchema = z
  .object({
    service: ServiceSchema.optional(),
    ttlMs: ms(100, 3_600_000).optional(),
    heartbeatMs: ms(10, 3_600_000).optional(),
    drainMs: ms(0, 600_000).optional(),
    resyncMs: ms(10, 3_600_000).optional(),
    emptyConfirmMs: ms(0, 3_600_000).optional(),
    discover: z.array(name).optional(),
  })
  .strict() as unknown as z.ZodType<Partial<RegistryModuleOptions>>;

const ChecksSchema = z
  .object({
    http: z
      .object({
        path: z.string().startsWith('/', 'must start with /'),
        expectStatus: z.number().int().min(100).max(599).optional(),
        timeoutMs: ms(1, 600_000).optional(),
      })
      .strict()
      .optional(),
    tcp: z
      .object({ port: z.string().optional(), timeoutMs: ms(1, 600_000).optional() })
      .strict()
      .optional(),
    custom: z
      .array(z.custom<() => unknown>((v) => typeof v === 'function', 'must be a function'))
      .optional(),
    intervalMs: ms(10, 3_600_000).optional(),
    failuresBeforeCritical: ms(1, 100).optional(),
    successesBeforePassing: ms(1, 100).optional(),
  })
  .strict();

const schema = z
  .object({
    store: z
      .union([
        z.enum(['memory', 'redis']),
        z.custom<object>(
          (v) => typeof v === 'object' && v !== null && 'snapshot' in v,
          'must be a RegistryStore',
        ),
      ])
      .optional(),
    service: ServiceSchema.optional(),
    address: z
      .object({
        host: z.string().min(1).max(255).optional(),
        port: port.optional(),
        ports: z.record(z.string(), port).optional(),
      })
      .strict()
      .optional(),
    ttlMs: ms(100, 3_600_000).optional(),
    heartbeatMs: ms(10, 3_600_000).optional(),
    drainMs: ms(0, 600_000).optional(),
    deregisterOnShutdown: z.boolean().optional(),
    checks: ChecksSchema.optional(),
    discover: z.array(name).optional(),
    resyncMs: ms(10, 3_600_000).optional(),
    emptyConfirmMs: ms(0, 3_600_000).optional(),
    recoveryMs: ms(0, 3_600_000).optional(),
    // Never echoed: a problem names the key and the rule, not the value.
    secret: z.string().min(16, 'must be at least 16 characters').optional(),
    strategy: z
      .enum(['round-robin', 'random', 'weighted', 'least-outstanding', 'consistent-hash', 'zone'])
      .optional(),
    outlier: z
      .object({
        failures: ms(1, 10_000).optional(),
        windowMs: ms(1, 3_600_000).optional(),
        ejectMs: ms(1, 3_600_000).optional(),
        maxEjectMs: ms(1, 3_600_000).optional(),
      })
      .strict()
      .optional(),
  })
  .strict() as unknown as z.ZodType<RegistryModuleOptions>;

/**
 * The one place each literal default of the options is written (`store`, `heartbeatMs`,
 * `recoveryMs` and `strategy` are computed from other values, so they are not here).
 * @internal
 */
export const DEFAULTS = deepFreeze({
  ttlMs: 15_000,
  drainMs: 2_000,
  deregisterOnShutdown: true,
  checks: { intervalMs: 5_000, failuresBeforeCritical: 2, successesBeforePassing: 2 },
  discover: [] as string[],
  resyncMs: 5_000,
  emptyConfirmMs: 2_000,
  outlier: { failures: 5, windowMs: 10_000, ejectMs: 10_000, maxEjectMs: 120_000 },
});

/**
 * Defaults of `service` keys, applied only when `service` is given (a discovery-only
 * application has no service at all); `name` and `instanceId` are computed.
 * @internal
 */
export const SERVICE_DEFAULTS = deepFreeze({
  version: '0.0.0',
  tags: [] as string[],
  metadata: {} as Record<string, string>,
  weight: 1,
});

/**
 * Defaults of the active checks, applied by the monitor when it probes: a record carries the
 * check as its instance declared it, so every monitor applies the defaults of its own version.
 * @internal
 */
export const PROBE_DEFAULTS = deepFreeze({
  http: { expectStatus: 200, timeoutMs: 2_000 },
  tcp: { timeoutMs: 2_000 },
});

/**
 * How RegistryModule resolves its settings (see docs/lib-skeleton.md): the timings an operator
 * tunes per deployment and the shared secret also come from `KEEL_REGISTRY_*` variables (the
 * secret's text never appears in a problem).
 * @internal
 */
export const REGISTRY_SETTINGS_SPEC: ModuleSettingsSpec<RegistryModuleOptions> = {
  section: 'registry',
  moduleName: 'RegistryModule',
  schema,
  yamlSchema,
  defaults: DEFAULTS,
  env: { ttlMs: 'integer', heartbeatMs: 'integer', drainMs: 'integer', secret: 'secret' },
  // Services to preload add up: the YAML's and the options' lists both count.
  combine: {
    discover: (earlier, later) => [...new Set([...(earlier as string[]), ...(later as string[])])],
  },
};

type Resolved = RegistryModuleOptions & typeof DEFAULTS;

/**
 * Resolves the module's settings: `forRoot` options > `KEEL_REGISTRY_*` variables > the YAML
 * section `registry` > defaults, per key; then the computed defaults (`heartbeatMs` a third of `ttlMs`, `recoveryMs` = `ttlMs`,
 * the store from whether `KeelCoreModule` has Redis) and the cross-key rules.
 * @throws KeelConfigError with one line per problem (`store: 'redis'` without Redis included).
 * @internal
 */
export function resolveRegistrySettings(
  options: RegistryModuleOptions,
  core: KeelCoreSettings,
): RegistrySettings {
  const resolved = resolveModuleSettings(REGISTRY_SETTINGS_SPEC, options, core.config) as Resolved;
  const source = (key: string) => settingSource(REGISTRY_SETTINGS_SPEC, options, core.config, key);
  if (resolved.store === 'redis' && core.redis === undefined) {
    throw new KeelConfigError([redisRequired({ key: source('store'), asked: "'redis'" })]);
  }
  const ttlMs = resolved.ttlMs;
  const heartbeatMs = resolved.heartbeatMs ?? Math.max(10, Math.floor(ttlMs / 3));
  const problems = new SettingsProblems();
  if (heartbeatMs >= ttlMs) problems.add(source('heartbeatMs'), heartbeatNotBelowTtl({ ttlMs }));
  if (resolved.outlier.maxEjectMs < resolved.outlier.ejectMs) {
    problems.add(source('outlier.maxEjectMs'), maxEjectBelowEject());
  }
  // The rule is about what was asked for: DEFAULTS always hold `checks` (their timings).
  if (options.checks !== undefined && resolved.service === undefined) {
    problems.add(source('checks'), checksNeedService());
  }
  problems.throwIfAny();
  const checks = resolved.checks;
  return {
    store: resolved.store ?? (core.redis === undefined ? 'memory' : 'redis'),
    service: resolved.service && serviceSettings(resolved.service, core.serviceName),
    address: { ...(resolved.address ?? {}) },
    ttlMs,
    heartbeatMs,
    drainMs: resolved.drainMs,
    deregisterOnShutdown: resolved.deregisterOnShutdown,
    checks: {
      ...(checks.http ? { http: { ...checks.http } } : {}),
      ...(checks.tcp ? { tcp: { ...checks.tcp } } : {}),
      custom: [...(checks.custom ?? [])],
      intervalMs: checks.intervalMs,
      failuresBeforeCritical: checks.failuresBeforeCritical,
      successesBeforePassing: checks.successesBeforePassing,
    },
    discover: [...resolved.discover],
    resyncMs: resolved.resyncMs,
    emptyConfirmMs: resolved.emptyConfirmMs,
    recoveryMs: resolved.recoveryMs ?? ttlMs,
    secret: resolved.secret,
    strategy: resolved.strategy,
    outlier: { ...resolved.outlier },
    redisKeyPrefix: core.redisKeyPrefix,
  };
}

function serviceSettings(
  service: RegistryServiceOptions,
  serviceName: string,
): NonNullable<RegistrySettings['service']> {
  return {
    name: service.name ?? serviceName,
    version: service.version ?? SERVICE_DEFAULTS.version,
    tags: [...(service.tags ?? SERVICE_DEFAULTS.tags)],
    metadata: { ...(service.metadata ?? SERVICE_DEFAULTS.metadata) },
    weight: service.weight ?? SERVICE_DEFAULTS.weight,
    ...(service.zone !== undefined ? { zone: service.zone } : {}),
    instanceId: service.instanceId ?? randomUUID(),
  };
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (typeof child === 'object' && child !== null) deepFreeze(child);
  }
  return Object.freeze(value);
}
