import type { EventBus } from '../events/event-bus.js';
import { MessagingError } from '../messaging.errors.js';
import { auditSinkNeedsOutbox } from '../messaging.messages.js';
import type { OutboxEntityManager } from '../stores/outbox.store.js';

/** An audit event as `@keel/audit` hands it to a sink, by the fields the sink reads. @publicApi */
export interface AuditRecordLike {
  readonly id: string;
  readonly action: string;
}

/** Options of {@link OutboxAuditSink}. @publicApi */
export interface OutboxAuditSinkOptions {
  /** The Kafka topic. @default 'keel.audit' */
  readonly topic?: string;
  /** The CloudEvents `type` of every event. @default 'keel.audit.recorded' */
  readonly type?: string;
}

/**
 * Streams the audit trail to Kafka **through the outbox**: `@keel/audit`'s PostgreSQL store
 * hands every stored batch to this sink inside the batch's own transaction, and the sink writes
 * one outbox row per audit event there — so an event reaches Kafka if and only if it is in the
 * trail, at least once (key = the audit event's id; data = the stored record, as redacted). The
 * audit tables and the outbox must be in the same database.
 *
 * @example
 * ```ts
 * AuditModule.forRootAsync({
 *   inject: [EventBus],
 *   useFactory: (bus: EventBus) => ({
 *     store: { type: 'postgres', dataSource, sink: new OutboxAuditSink(bus, { topic: 'audit' }) },
 *   }),
 * })
 * ```
 * @publicApi
 */
export class OutboxAuditSink {
  private readonly topic: string;
  private readonly type: string;

  constructor(
    private readonly bus: EventBus,
    options: OutboxAuditSinkOptions = {},
  ) {
    this.topic = options.topic ?? 'keel.audit';
    this.type = options.type ?? 'keel.audit.recorded';
  }

  /** Called by the audit store at startup: the outbox must be on. */
  check(): void {
    if (!this.bus.outboxAvailable) {
      throw new MessagingError('KEEL_MESSAGING_OUTBOX_DISABLED', auditSinkNeedsOutbox());
    }
  }

  /** Writes one outbox row per audit event, in the audit batch's transaction. */
  async write(
    transaction: OutboxEntityManager,
    records: readonly AuditRecordLike[],
  ): Promise<void> {
    await this.bus.publishManyInTransaction(
      transaction,
      this.topic,
      records.map((record) => ({
        type: this.type,
        key: record.id,
        subject: record.action,
        data: record,
      })),
    );
  }
}
