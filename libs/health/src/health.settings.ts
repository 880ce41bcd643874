import { KeelConfigError, type KeelCoreSettings } from '@keel/core';
import {
  redisRequired,
  resolveModuleSettings,
  settingSource,
  type ModuleSettingsSpec,
} from '@keel/core/internal';
import { z } from 'zod';
import type {
  HealthModuleExtras,
  HealthModuleOptions,
  HealthSettings,
} from './interfaces/health-options.interface.js';

const toggle = z.union([z.boolean(), z.literal('auto')]);

const schema: z.ZodType<HealthModuleOptions> = z
  .object({
    timeoutMs: z.number().int().min(10).max(60_000).optional(),
    database: toggle.optional(),
    redis: toggle.optional(),
  })
  .strict();

/** The one place each default of the options is written. @internal */
export const DEFAULTS = Object.freeze({
  timeoutMs: 1_000,
  database: 'auto',
  redis: 'auto',
} as const satisfies Required<HealthModuleOptions>);

/** Defaults of the route extras (the module definition adds `isGlobal: true`). @internal */
export const ROUTE_DEFAULTS: Readonly<Required<HealthModuleExtras>> = Object.freeze({
  path: 'health',
  metricsPath: 'metrics',
});

/** How HealthModule resolves its settings (see docs/lib-skeleton.md). @internal */
export const HEALTH_SETTINGS_SPEC: ModuleSettingsSpec<HealthModuleOptions> = {
  section: 'health',
  moduleName: 'HealthModule',
  schema,
  defaults: DEFAULTS,
  env: { timeoutMs: 'integer' },
  extras: ['path', 'metricsPath'],
};

/**
 * Resolves the module's settings: `forRoot` options > `KEEL_HEALTH_TIMEOUT_MS` > the YAML
 * section `health` > defaults, per key. `redis: 'auto'` becomes whether `KeelCoreModule` has
 * Redis; `redis: true` without it is a problem (the message every lib gives).
 * @throws KeelConfigError with one line per problem.
 * @internal
 */
export function resolveHealthSettings(
  options: HealthModuleOptions,
  core: KeelCoreSettings,
): HealthSettings {
  // DEFAULTS fill every key, so nothing is left undefined.
  const resolved = resolveModuleSettings(
    HEALTH_SETTINGS_SPEC,
    options,
    core.config,
  ) as Required<HealthModuleOptions>;
  const source = (key: keyof HealthModuleOptions) =>
    settingSource(HEALTH_SETTINGS_SPEC, options, core.config, key);
  if (resolved.redis === true && core.redis === undefined) {
    throw new KeelConfigError([redisRequired({ key: source('redis'), asked: 'true' })]);
  }
  return {
    timeoutMs: resolved.timeoutMs,
    redis: resolved.redis === 'auto' ? core.redis !== undefined : resolved.redis,
    database: resolved.database,
    databaseSource: source('database'),
  };
}
