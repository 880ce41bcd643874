import { KeelConfigError, type KeelCoreSettings } from '@keel/core';
import {
  redisRequired,
  resolveModuleSettings,
  settingSource,
  type ModuleSettingsSpec,
} from '@keel/core/internal';
import { z } from 'zod';
import type {
  LocksModuleOptions,
  LocksSettings,
  QuorumStoreOptions,
} from './interfaces/locks-options.interface.js';

const redisOptions = z.union([z.string().min(1), z.record(z.string(), z.unknown())], {
  error: 'must be a Redis URL or ioredis options',
});

// No `satisfies z.ZodType<LocksModuleOptions>`: the quorum nodes are `KeelRedisOptions`, which
// the schema accepts as any mapping (ioredis validates them when it connects).
const schema = z
  .object({
    store: z
      .union([
        z.literal('memory'),
        z.literal('redis'),
        z
          .object({
            quorum: z.array(redisOptions).min(1, 'needs at least one node (3 or 5 recommended)'),
            clockDriftFactor: z.number().min(0).max(0.5).optional(),
            nodeTimeoutMs: z.number().int().positive().optional(),
          })
          .strict(),
      ])
      .optional(),
    ttlMs: z.number().int().min(10).optional(),
    autoRenew: z.boolean().optional(),
    waitMs: z.number().int().min(0).optional(),
    fair: z.boolean().optional(),
    reentrant: z.boolean().optional(),
    deadlockDetection: z.boolean().optional(),
    keyPrefix: z.string().optional(),
  })
  .strict() as unknown as z.ZodType<LocksModuleOptions>;

/**
 * The one place each default of the options is written. `store` has none here: it is computed
 * (Redis when `KeelCoreModule` has it, else memory).
 * @internal
 */
export const DEFAULTS = Object.freeze({
  ttlMs: 30_000,
  autoRenew: true,
  waitMs: 10_000,
  fair: false,
  reentrant: false,
  deadlockDetection: true,
  keyPrefix: 'locks:',
} as const satisfies Required<Omit<LocksModuleOptions, 'store'>>);

/**
 * Defaults of quorum mode (`store: { quorum: [...] }`), also used by a `QuorumLockStore`
 * constructed directly.
 * @internal
 */
export const QUORUM_DEFAULTS = Object.freeze({
  clockDriftFactor: 0.01,
  nodeTimeoutMs: 250,
} as const satisfies Required<Omit<QuorumStoreOptions, 'quorum'>>);

/** How LocksModule resolves its settings (see docs/lib-skeleton.md). @internal */
export const LOCKS_SETTINGS_SPEC: ModuleSettingsSpec<LocksModuleOptions> = {
  section: 'locks',
  moduleName: 'LocksModule',
  schema,
  defaults: DEFAULTS,
  // The two an operator tunes per deployment; each is also in the root README's configuration
  // table (checked by test/readme.spec.ts).
  env: { ttlMs: 'integer', waitMs: 'integer' },
};

/**
 * Resolves the module's settings: `forRoot` options > `KEEL_LOCKS_TTL_MS` / `KEEL_LOCKS_WAIT_MS` >
 * the YAML section `locks` > defaults, per key. A left-out `store` becomes `'redis'` when
 * `KeelCoreModule` has Redis, else `'memory'`; `store: 'redis'` without it is a problem (the
 * message every lib gives). Quorum options get their defaults filled in.
 * @throws KeelConfigError with one line per problem.
 * @internal
 */
export function resolveLocksSettings(
  options: LocksModuleOptions,
  core: KeelCoreSettings,
): LocksSettings {
  // DEFAULTS fill every key but `store`.
  const resolved = resolveModuleSettings(LOCKS_SETTINGS_SPEC, options, core.config) as Required<
    Omit<LocksModuleOptions, 'store'>
  > &
    Pick<LocksModuleOptions, 'store'>;
  const store = resolved.store ?? (core.redis !== undefined ? 'redis' : 'memory');
  if (store === 'redis' && core.redis === undefined) {
    const key = settingSource(LOCKS_SETTINGS_SPEC, options, core.config, 'store');
    throw new KeelConfigError([redisRequired({ key, asked: "'redis'" })]);
  }
  return {
    ...resolved,
    store: typeof store === 'string' ? store : { ...QUORUM_DEFAULTS, ...store },
  };
}
