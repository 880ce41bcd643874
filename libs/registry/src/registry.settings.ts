import { randomUUID } from 'node:crypto';
import { KeelConfigError, keelZodErrorMap, type KeelCoreSettings } from '@keel/core';
import { z } from 'zod';
import type {
  RegistryModuleOptions,
  RegistrySettings,
} from './interfaces/registry-options.interface.js';

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

/** Keys the YAML section `registry` may set. */
const YamlSchema = z
  .object({
    service: ServiceSchema.optional(),
    ttlMs: ms(100, 3_600_000).optional(),
    heartbeatMs: ms(10, 3_600_000).optional(),
    drainMs: ms(0, 600_000).optional(),
    resyncMs: ms(10, 3_600_000).optional(),
    emptyConfirmMs: ms(0, 3_600_000).optional(),
    discover: z.array(name).optional(),
  })
  .strict();

const OptionsSchema = z.object({
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
  checks: z
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
    .strict()
    .optional(),
  discover: z.array(name).optional(),
  resyncMs: ms(10, 3_600_000).optional(),
  emptyConfirmMs: ms(0, 3_600_000).optional(),
  recoveryMs: ms(0, 3_600_000).optional(),
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
});

function problemsOf(error: z.ZodError, path: string, source: string): string[] {
  return error.issues.map((issue) => {
    const key = [path, ...issue.path.map(String)].filter(Boolean).join('.');
    return `${key} (${source}): ${issue.message}`;
  });
}

/**
 * Merges the YAML section, the `forRoot` options and defaults, and validates them in one place.
 * @throws KeelConfigError with one line per problem.
 * @internal
 */
export function resolveRegistrySettings(
  options: RegistryModuleOptions,
  core: KeelCoreSettings,
): RegistrySettings {
  const problems: string[] = [];
  const yaml = YamlSchema.safeParse(core.config.sections.registry ?? {}, {
    error: keelZodErrorMap,
  });
  if (!yaml.success)
    problems.push(...problemsOf(yaml.error, 'registry', core.config.file ?? 'YAML'));
  const parsed = OptionsSchema.safeParse(options, { error: keelZodErrorMap });
  if (!parsed.success) problems.push(...problemsOf(parsed.error, 'RegistryModule', 'forRoot'));
  if (problems.length > 0) throw new KeelConfigError(problems);
  const y = yaml.data ?? {};
  const o = parsed.data!;

  const ttlMs = options.ttlMs ?? y.ttlMs ?? 15_000;
  const heartbeatMs = options.heartbeatMs ?? y.heartbeatMs ?? Math.max(10, Math.floor(ttlMs / 3));
  if (heartbeatMs >= ttlMs) {
    problems.push(`RegistryModule.heartbeatMs (forRoot): must be less than ttlMs (${ttlMs})`);
  }
  const outlier = {
    failures: o.outlier?.failures ?? 5,
    windowMs: o.outlier?.windowMs ?? 10_000,
    ejectMs: o.outlier?.ejectMs ?? 10_000,
    maxEjectMs: o.outlier?.maxEjectMs ?? 120_000,
  };
  if (outlier.maxEjectMs < outlier.ejectMs) {
    problems.push('RegistryModule.outlier.maxEjectMs (forRoot): must be at least ejectMs');
  }
  const serviceInput = options.service ?? y.service;
  const checksInput = options.checks;
  if (checksInput && serviceInput === undefined) {
    problems.push(
      'RegistryModule.checks (forRoot): checks need `service` (this instance registers nothing)',
    );
  }
  if (problems.length > 0) throw new KeelConfigError(problems);

  const service =
    serviceInput === undefined
      ? undefined
      : {
          name: serviceInput.name ?? core.serviceName,
          version: serviceInput.version ?? '0.0.0',
          tags: [...(serviceInput.tags ?? [])],
          metadata: { ...(serviceInput.metadata ?? {}) },
          weight: serviceInput.weight ?? 1,
          ...(serviceInput.zone !== undefined ? { zone: serviceInput.zone } : {}),
          instanceId: serviceInput.instanceId ?? randomUUID(),
        };
  return {
    store: options.store ?? (core.redis === undefined ? 'memory' : 'redis'),
    service,
    address: { ...(options.address ?? {}) },
    ttlMs,
    heartbeatMs,
    drainMs: options.drainMs ?? y.drainMs ?? 2_000,
    deregisterOnShutdown: options.deregisterOnShutdown ?? true,
    checks: {
      ...(checksInput?.http ? { http: { ...checksInput.http } } : {}),
      ...(checksInput?.tcp ? { tcp: { ...checksInput.tcp } } : {}),
      custom: [...(checksInput?.custom ?? [])],
      intervalMs: checksInput?.intervalMs ?? 5_000,
      failuresBeforeCritical: checksInput?.failuresBeforeCritical ?? 2,
      successesBeforePassing: checksInput?.successesBeforePassing ?? 2,
    },
    discover: [...new Set([...(y.discover ?? []), ...(options.discover ?? [])])],
    resyncMs: options.resyncMs ?? y.resyncMs ?? 5_000,
    emptyConfirmMs: options.emptyConfirmMs ?? y.emptyConfirmMs ?? 2_000,
    recoveryMs: options.recoveryMs ?? ttlMs,
    secret: options.secret,
    strategy: options.strategy,
    outlier,
    redisKeyPrefix: core.redisKeyPrefix,
  };
}
