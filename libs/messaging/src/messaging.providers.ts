import type { Provider } from '@nestjs/common';
import { moduleSettingsProvider } from '@keel/core/internal';
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
  EventBus,
  OutboxRelay,
  MessagingServer,
];

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
