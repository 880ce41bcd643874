import type { Provider } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import {
  describeTarget,
  RedisConnectionFactory,
  type KeelCoreSettings,
  type KeelRedisOptions,
} from '@keel/core';
import { KEEL_CORE_SETTINGS, moduleSettingsProvider } from '@keel/core/internal';
import { LOCKS_SETTINGS } from './locks.constants.js';
import { memoryStoreLine, quorumStoreLine } from './locks.messages.js';
import { LOCKS_MODULE_OPTIONS } from './locks.module-definition.js';
import { resolveLocksSettings } from './locks.settings.js';
import type { LocksSettings } from './interfaces/locks-options.interface.js';
import { LockStore } from './stores/lock.store.js';
import { MemoryLockStore } from './stores/memory-lock.store.js';
import { QuorumLockStore } from './stores/quorum-lock.store.js';
import { RedisLockStore } from './stores/redis-lock.store.js';

/** Creates the configured store. @internal */
export function createLockStore(
  settings: LocksSettings,
  core: KeelCoreSettings,
  connections: RedisConnectionFactory,
): LockStore {
  const logger = new Logger('KeelLocks');
  const prefix = `${core.redisKeyPrefix}${settings.keyPrefix}`;
  if (settings.store === 'memory') {
    logger.log(memoryStoreLine());
    return new MemoryLockStore();
  }
  const redisStore = (options: KeelRedisOptions, purpose: string) =>
    new RedisLockStore({
      client: connections.client(options, purpose),
      subscriber: () => connections.subscriber(options, `${purpose}:subscriber`),
      prefix,
    });
  if (settings.store === 'redis') {
    // resolveLocksSettings refuses 'redis' when KeelCoreModule has no Redis.
    return redisStore(core.redis!, 'locks');
  }
  const quorum = settings.store;
  logger.log(quorumStoreLine({ nodes: quorum.quorum.length }));
  return new QuorumLockStore({
    nodes: quorum.quorum.map((node) => ({
      label: describeTarget(node),
      store: redisStore(node, `locks:quorum:${describeTarget(node)}`),
    })),
    clockDriftFactor: quorum.clockDriftFactor,
    nodeTimeoutMs: quorum.nodeTimeoutMs,
  });
}

/** The providers `LocksModule` lists besides its services. @internal */
export const locksProviders: Provider[] = [
  moduleSettingsProvider({
    provide: LOCKS_SETTINGS,
    options: LOCKS_MODULE_OPTIONS,
    resolve: resolveLocksSettings,
  }),
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
