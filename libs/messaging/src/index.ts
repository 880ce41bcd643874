export { MessagingModule } from './messaging.module.js';
export type {
  CloudEventMode,
  MessagingKafkaOptions,
  MessagingConsumerOptions,
  MessagingIdempotencyOptions,
  MessagingModuleOptions,
  MessagingOutboxOptions,
  MessagingTopicOptions,
} from './interfaces/messaging-options.interface.js';
export {
  MESSAGING_ERRORS,
  MessagingError,
  isMessagingError,
  type MessagingErrorCode,
} from './messaging.errors.js';
export { EventBus, type EventInput, type PublishedEvent } from './events/event-bus.js';
export type { KeelCloudEvent } from './events/cloud-event.js';
export {
  MessageTransport,
  type ConsumerHandle,
  type ConsumerSubscription,
  type IncomingRecord,
  type OutgoingRecord,
} from './kafka/message-transport.js';
export { MessagingServer, type MessagingServerStatus } from './consumer/messaging-server.js';
export { MessageContext } from './consumer/message-context.js';
export {
  MemoryTransport,
  type RecordListener,
  type StoredRecord,
} from './kafka/memory-transport.js';
export { OutboxRelay } from './outbox/outbox-relay.js';
export {
  OutboxAuditSink,
  type AuditRecordLike,
  type OutboxAuditSinkOptions,
} from './outbox/outbox-audit-sink.js';
export type { OutboxEntityManager } from './stores/outbox.store.js';
export {
  Idempotent,
  inboxTransaction,
  type IdempotentOptions,
} from './idempotent/idempotent.decorator.js';
export type { InboxDataSource } from './stores/postgres-inbox.store.js';
export { MessagingHealthIndicator } from './messaging.health.js';
