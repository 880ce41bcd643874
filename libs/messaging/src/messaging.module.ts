import { Module } from '@nestjs/common';
import { EventBus } from './events/event-bus.js';
import { MessageTransport } from './kafka/message-transport.js';
import { OutboxRelay } from './outbox/outbox-relay.js';
import { MessagingConfigurableModule } from './messaging.module-definition.js';
import { messagingProviders } from './messaging.providers.js';

/**
 * Kafka messaging: `EventBus.publish()` sends CloudEvents 1.0 through an idempotent kafkajs
 * producer, or through the embedded transport when no brokers are configured. Global by default.
 * Needs `KeelCoreModule.forRoot()`.
 * @publicApi
 */
@Module({ providers: messagingProviders, exports: [EventBus, MessageTransport, OutboxRelay] })
export class MessagingModule extends MessagingConfigurableModule {}
