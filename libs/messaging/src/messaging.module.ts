import { Module, type DynamicModule } from '@nestjs/common';
import { EventBus } from './events/event-bus.js';
import { MessagingServer } from './consumer/messaging-server.js';
import { MessageTransport } from './kafka/message-transport.js';
import { OutboxRelay } from './outbox/outbox-relay.js';
import {
  MessagingConfigurableModule,
  MESSAGING_OPTIONS_TYPE,
} from './messaging.module-definition.js';
import { messagingProviders } from './messaging.providers.js';
import { MessagingHealthIndicator } from './messaging.health.js';

/**
 * Kafka messaging: `EventBus.publish()` sends CloudEvents 1.0 through an idempotent kafkajs
 * producer, or through the embedded transport when no brokers are configured;
 * `MessagingServer` serves `@EventPattern` handlers from a consumer group with retries and a
 * dead-letter topic. Global by default. Needs `KeelCoreModule.forRoot()`.
 * @publicApi
 */
@Module({
  providers: [...messagingProviders, MessagingHealthIndicator],
  exports: [EventBus, MessageTransport, OutboxRelay, MessagingServer],
})
export class MessagingModule extends MessagingConfigurableModule {
  /** `forRoot()` with no argument: every option at its default. */
  static override forRoot(options: typeof MESSAGING_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }
}
