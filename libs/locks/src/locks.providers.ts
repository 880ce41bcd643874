import type { Provider } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import {
  describeTarget,
  KeelConfigError,
  RedisConnectionFactory,
  type KeelCoreSettings,
  type KeelRedisOptions,
} from '@keel/core';
import { KEEL_CORE_SETTINGS, parseConfigSection } from '@keel/core/internal';
import { z } from 'zod';
import { LOCKS_SETTINGS } from './locks.constants.js';
import { LOCKS_MODULE_OPTIONS } from './locks.module-definition.js';
import type { LocksModuleOptions, LocksSettings } from './interfaces/locks-options.interface.js';
import { LockStore } from './stores/lock.store.js';
import { MemoryLockStore } from './stores/memory-lock.store.js';
import { QuorumLockStore } from './stores/quorum-lock.store.js';
import { RedisLockStore } from './stores/redis-lock.store.js';

const redisOptions = z.union([z.string().min(1), z.record(z.string(), z.unknown())], {
  error: 'must be a Redis URL or ioredis options',
});

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
  .strict();

/**
 * Merges `forRoot` options over the YAML `locks` section, validates them and applies defaults.
 * @throws KeelConfigError with one line per problem.
 * @internal
 */
export function resolveLocksSettings(
  options: LocksModuleOptions,
  core: KeelCoreSettings,
): LocksSettings {
  const yaml = parseConfigSection(schema, core.config.sections.locks, 'locks', 'YAML');
  const given = parseConfigSection(schema, stripUndefined(options), 'LocksModule', 'forRoot');
  const merged = { ...yaml, ...given };
  const store = merged.store ?? (core.redis !== undefined ? 'redis' : 'memory');
  if (store === 'redis' && core.redis === undefined) {
    throw new KeelConfigError([
      "LocksModule.store (forRoot): 'redis' needs Redis; set REDIS_URL or KeelCoreModule.forRoot({ redis })",
    ]);
  }
  return {
    store: store as LocksSettings['store'],
    ttlMs: merged.ttlMs ?? 30_000,
    autoRenew: merged.autoRenew ?? true,
    waitMs: merged.waitMs ?? 10_000,
    fair: merged.fair ?? false,
    reentrant: merged.reentrant ?? false,
    deadlockDetection: merged.deadlockDetection ?? true,
    keyPrefix: merged.keyPrefix ?? 'locks:',
  };
}

function stripUndefined(options: object): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(options).filter(([k, v]) => v !== undefined && k !== 'isGlobal'),
  );
}

/** Creates the configured store. @internal */
export function createLockStore(
  settings: LocksSettings,
  core: KeelCoreSettings,
  connections: RedisConnectionFactory,
): LockStore {
  const logger = new Logger('KeelLocks');
  const prefix = `${core.redisKeyPrefix}${settings.keyPrefix}`;
  if (settings.store === 'memory') {
    logger.log('locks on the embedded memory store: correct for one process only');
    return new MemoryLockStore();
  }
  const redisStore = (options: KeelRedisOptions, purpose: string) =>
    new RedisLockStore({
      client: connections.client(options, purpose),
      subscriber: () => connections.subscriber(options, `${purpose}:subscriber`),
      prefix,
    });
  if (settings.store === 'redis') {
    return redisStore(core.redis!, 'locks');
  }
  const quorum = settings.store;
  logger.log(`locks in quorum mode over ${quorum.quorum.length} Redis nodes`);
  return new QuorumLockStore({
    nodes: quorum.quorum.map((node) => ({
      label: describeTarget(node),
      store: redisStore(node, `locks:quorum:${describeTarget(node)}`),
    })),
    clockDriftFactor: quorum.clockDriftFactor,
    nodeTimeoutMs: quorum.nodeTimeoutMs,
  });
}

/** @internal */
export const locksProviders: Provider[] = [
  {
    provide: LOCKS_SETTINGS,
    useFactory: (options: LocksModuleOptions, core: KeelCoreSettings) =>
      resolveLocksSettings(options, core),
    inject: [LOCKS_MODULE_OPTIONS, KEEL_CORE_SETTINGS],
  },
  {
    provide: LockStore,
    useFactory: (
      settings: LocksSettings,
      core: KeelCoreSettings,
      connections: RedisConnectionFactory,
    ) => createLockStore(settings, core, connections),
    inject: [LOCKS_SETTINGS, KEEL_CORE_SETTINGS, RedisConnectionFactory],
  },
];
