import { Logger, type Provider } from '@nestjs/common';
import { RedisConnectionFactory, type KeelCoreSettings } from '@keel/core';
import { KEEL_CORE_SETTINGS, moduleSettingsProvider } from '@keel/core/internal';
import { IdempotencyLifecycle } from './idempotent/idempotency-lifecycle.js';
import { IdempotentPolicyFactory } from './idempotent/idempotent.policy.js';
import { completeFailed } from './messaging.messages.js';
import { IdempotencyStore } from './stores/idempotency.store.js';
import { MemoryIdempotencyStore } from './stores/memory-idempotency.store.js';
import { PostgresInboxStore } from './stores/postgres-inbox.store.js';
import { RedisIdempotencyStore } from './stores/redis-idempotency.store.js';
import { MemoryParkingStore, ParkingStore } from './stores/parking.store.js';
import { RedisParkingStore } from './stores/redis-parking.store.js';
import { MESSAGING_SETTINGS, OUTBOX_STORE } from './messaging.constants.js';
import { OutboxRelay } from './outbox/outbox-relay.js';
import { PostgresOutboxStore } from './stores/postgres-outbox.store.js';
import { MESSAGING_MODULE_OPTIONS } from './messaging.module-definition.js';
import { resolveMessagingSettings } from './messaging.settings.js';
import { EventBus } from './events/event-bus.js';
import { MessagingServer } from './consumer/messaging-server.js';
import type { MessagingSettings } from './interfaces/messaging-options.interface.js';
import { KafkajsTransport } from './kafka/kafkajs-transport.js';
import { MemoryTransport } from './kafka/memory-transport.js';
import { MessageTransport } from './kafka/message-transport.js';

/**
 * How long a parked key's Redis slot lives untouched: longer than any retry schedule, short
 * enough that a count orphaned by a crash between "park" and "send" frees its key in a day.
 */
const PARKED_SLOT_TTL_MS = 86_400_000;

/** Kafka when brokers are configured, else the embedded transport. @internal */
export function createTransport(settings: MessagingSettings): MessageTransport {
  return settings.transport === 'kafka'
    ? new KafkajsTransport(settings.kafka)
    : new MemoryTransport();
}

/** @internal */
export const messagingProviders: Provider[] = [
  moduleSettingsProvider({
    provide: MESSAGING_SETTINGS,
    options: MESSAGING_MODULE_OPTIONS,
    resolve: resolveMessagingSettings,
  }),
  {
    provide: MessageTransport,
    useFactory: (settings: MessagingSettings) => createTransport(settings),
    inject: [MESSAGING_SETTINGS],
  },
  {
    provide: OUTBOX_STORE,
    useFactory: (settings: MessagingSettings) => createOutboxStore(settings),
    inject: [MESSAGING_SETTINGS],
  },
  {
    provide: IdempotencyStore,
    useFactory: (
      settings: MessagingSettings,
      core: KeelCoreSettings,
      connections: RedisConnectionFactory,
    ) => createIdempotencyStore(settings, core, connections),
    inject: [MESSAGING_SETTINGS, KEEL_CORE_SETTINGS, RedisConnectionFactory],
  },
  {
    provide: ParkingStore,
    useFactory: (core: KeelCoreSettings, connections: RedisConnectionFactory): ParkingStore =>
      core.redis === undefined
        ? new MemoryParkingStore()
        : new RedisParkingStore({
            client: connections.client(core.redis, 'messaging:parking'),
            prefix: `${core.redisKeyPrefix}park:`,
            ttlMs: PARKED_SLOT_TTL_MS,
          }),
    inject: [KEEL_CORE_SETTINGS, RedisConnectionFactory],
  },
  EventBus,
  OutboxRelay,
  MessagingServer,
  IdempotentPolicyFactory,
  IdempotencyLifecycle,
];

/** The store `@Idempotent` uses (resolveMessagingSettings refuses one whose backend is absent). @internal */
export function createIdempotencyStore(
  settings: MessagingSettings,
  core: KeelCoreSettings,
  connections: RedisConnectionFactory,
): IdempotencyStore {
  const { idempotency } = settings;
  if (idempotency.store === 'redis') {
    const logger = new Logger('KeelMessaging');
    return new RedisIdempotencyStore({
      client: connections.client(core.redis!, 'messaging:idempotency'),
      prefix: core.redisKeyPrefix,
      onCompleteFailed: (error) =>
        logger.warn(
          completeFailed({ error: error instanceof Error ? error.message : String(error) }),
        ),
    });
  }
  if (idempotency.store === 'postgres') {
    return new PostgresInboxStore({
      ...(idempotency.url !== undefined ? { url: idempotency.url } : {}),
      ...(idempotency.dataSource !== undefined ? { dataSource: idempotency.dataSource } : {}),
      tablePrefix: idempotency.tablePrefix,
    });
  }
  return new MemoryIdempotencyStore();
}

/** The outbox store, or `null` when the outbox is off (no database). @internal */
export function createOutboxStore(settings: MessagingSettings): PostgresOutboxStore | null {
  const { outbox } = settings;
  if (!outbox.enabled) return null;
  return new PostgresOutboxStore({
    ...(outbox.url !== undefined ? { url: outbox.url } : {}),
    ...(outbox.dataSource !== undefined ? { dataSource: outbox.dataSource } : {}),
    tablePrefix: outbox.tablePrefix,
  });
}
