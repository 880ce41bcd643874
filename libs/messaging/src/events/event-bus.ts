import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { KeelMetrics, RequestContext } from '@keel/core';
import { uuidV7 } from '@keel/core/internal';
import type { Counter } from 'prom-client';
import { MESSAGING_SETTINGS, OUTBOX_STORE } from '../messaging.constants.js';
import type { OutboxEntityManager } from '../stores/outbox.store.js';
import type { PostgresOutboxStore } from '../stores/postgres-outbox.store.js';
import { MessagingError } from '../messaging.errors.js';
import {
  busShutDown,
  connectFailed,
  invalidEvent,
  largeEvent,
  outboxDisabled,
  sendFailed,
  transportLine,
} from '../messaging.messages.js';
import { MESSAGING_METRICS } from '../messaging.metrics.js';
import type { MessagingSettings } from '../interfaces/messaging-options.interface.js';
import { MessageTransport } from '../kafka/message-transport.js';
import { toKafkaRecord, type KeelCloudEvent } from './cloud-event.js';

/** What `publish()` takes. @publicApi */
export interface EventInput<T = unknown> {
  /** The CloudEvents `type`, reverse-DNS style: `'com.acme.order.created'` or `'order.created'`. */
  readonly type: string;
  /** The payload, sent as JSON. */
  readonly data: T;
  /** The Kafka key: events with one key keep their order (one partition). */
  readonly key?: string;
  /** The CloudEvents `subject`: what the event is about, within the source. */
  readonly subject?: string;
  /** Extra Kafka headers (not `ce_*` nor `content-type`, which the binding owns). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** What `publish()` resolves with once the broker has the event. @publicApi */
export interface PublishedEvent {
  readonly topic: string;
  readonly key: string | undefined;
  readonly event: KeelCloudEvent;
}

/** Kafka's own rule for topic names. */
const TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;
const RESERVED_HEADER = /^(ce_|content-type$)/i;

/**
 * Publishes CloudEvents 1.0 to Kafka (binary mode by default, structured per topic), or to the
 * embedded transport without brokers. Every event gets a UUIDv7 id, the module's `source`, the
 * time, and the correlation id and W3C trace context of the current unit of work.
 * @example
 * ```ts
 * await bus.publish('orders', { type: 'order.created', key: order.id, data: order });
 * ```
 * @publicApi
 */
@Injectable()
export class EventBus
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('KeelMessaging');
  private readonly published: Counter<string>;
  private readonly failures: Counter<string>;
  private stopping = false;

  constructor(
    @Inject(MESSAGING_SETTINGS) private readonly settings: MessagingSettings,
    @Inject(MessageTransport) private readonly transport: MessageTransport,
    @Inject(KeelMetrics) metrics: KeelMetrics,
    @Inject(OUTBOX_STORE) private readonly outbox: PostgresOutboxStore | null,
  ) {
    this.published = metrics.counter(MESSAGING_METRICS.published);
    this.failures = metrics.counter(MESSAGING_METRICS.publishFailures);
  }

  /** The transport in use: `'kafka'`, or `'memory'` without brokers. */
  get transportKind(): 'kafka' | 'memory' {
    return this.transport.kind;
  }

  async onApplicationBootstrap(): Promise<void> {
    const { brokers } = this.settings.kafka;
    this.logger.log(transportLine({ transport: this.transport.kind, brokers }));
    // Kafka down at startup must not stop the service: publish() connects again.
    await this.transport.connect().catch((error: unknown) => {
      this.logger.warn(connectFailed({ brokers, error: errorText(error) }));
    });
  }

  beforeApplicationShutdown(): void {
    this.stopping = true;
  }

  /** After every beforeApplicationShutdown hook: the outbox relay has finished its last send. */
  async onApplicationShutdown(): Promise<void> {
    await this.transport.close();
  }

  /**
   * Publishes one event to `topic` and resolves once the broker has acknowledged it (acks = all).
   * @throws MessagingError KEEL_MESSAGING_INVALID_EVENT (before anything is sent, naming the
   *   field), KEEL_MESSAGING_UNAVAILABLE (the broker did not take it), KEEL_MESSAGING_SHUT_DOWN.
   */
  async publish<T>(topic: string, input: EventInput<T>): Promise<PublishedEvent> {
    if (this.stopping) throw new MessagingError('KEEL_MESSAGING_SHUT_DOWN', busShutDown());
    const { event, record } = this.encode(topic, input);
    try {
      await this.transport.send(topic, [record]);
    } catch (error) {
      this.failures.inc({ topic });
      throw new MessagingError(
        'KEEL_MESSAGING_UNAVAILABLE',
        sendFailed({ topic, error: errorText(error) }),
        { cause: error },
      );
    }
    this.published.inc({ topic });
    return { topic, key: input.key, event };
  }

  /**
   * Writes the event to the outbox **in the caller's transaction** (`manager`: TypeORM's
   * EntityManager of `dataSource.transaction(...)`): it is published if and only if the
   * transaction commits, by the fleet's one relay, in outbox order per key, at least once. The
   * event — its id, time, correlation id and trace context — is fixed now and published unchanged.
   * @throws MessagingError KEEL_MESSAGING_INVALID_EVENT, KEEL_MESSAGING_OUTBOX_DISABLED (no
   *   database configured); the manager's own error if the insert fails (the transaction then
   *   fails with it).
   */
  async publishInTransaction<T>(
    manager: OutboxEntityManager,
    topic: string,
    input: EventInput<T>,
  ): Promise<PublishedEvent> {
    const outbox = this.requireOutbox();
    const { event, record } = this.encode(topic, input);
    await outbox.add(manager, [{ ...record, id: event.id, topic }]);
    return { topic, key: input.key, event };
  }

  /**
   * {@link publishInTransaction} for several events at once: one multi-row insert, one wake-up
   * of the relay. They are published in the order given.
   * @throws MessagingError KEEL_MESSAGING_INVALID_EVENT (naming the event's index),
   *   KEEL_MESSAGING_OUTBOX_DISABLED.
   */
  async publishManyInTransaction<T>(
    manager: OutboxEntityManager,
    topic: string,
    inputs: readonly EventInput<T>[],
  ): Promise<PublishedEvent[]> {
    const outbox = this.requireOutbox();
    const encoded = inputs.map((input) => this.encode(topic, input));
    if (encoded.length === 0) return [];
    await outbox.add(
      manager,
      encoded.map(({ event, record }) => ({ ...record, id: event.id, topic })),
    );
    return encoded.map(({ event }, i) => ({ topic, key: inputs[i]!.key, event }));
  }

  /** True when `publishInTransaction` can work: the outbox is configured and could open. */
  get outboxAvailable(): boolean {
    return this.outbox !== null && this.outbox.disabledReason === undefined;
  }

  private requireOutbox(): PostgresOutboxStore {
    if (this.outbox === null || this.outbox.disabledReason !== undefined) {
      const reason = this.outbox?.disabledReason;
      throw new MessagingError(
        'KEEL_MESSAGING_OUTBOX_DISABLED',
        outboxDisabled(reason === undefined ? {} : { reason }),
      );
    }
    return this.outbox;
  }

  private encode<T>(topic: string, input: EventInput<T>) {
    const { event, data } = this.build(topic, input);
    const mode = this.settings.topics[topic]?.mode ?? 'binary';
    const record = toKafkaRecord(event, {
      mode,
      key: input.key,
      data,
      headers: input.headers ?? {},
    });
    const bytes = Buffer.byteLength(record.value);
    if (bytes > this.settings.warnAboveBytes) {
      const limit = this.settings.warnAboveBytes;
      this.logger.warn(largeEvent({ topic, type: event.type, bytes, limit }));
    }
    return { event, record };
  }

  private build<T>(
    topic: string,
    input: EventInput<T>,
  ): { event: KeelCloudEvent<T>; data: string } {
    const problems: string[] = [];
    const problem = (field: string, text: string) =>
      problems.push(invalidEvent({ field, problem: text }));
    if (typeof topic !== 'string' || !TOPIC.test(topic)) {
      problem(
        'topic',
        `must be 1 to 249 characters of a-z A-Z 0-9 . _ - (got ${JSON.stringify(topic)})`,
      );
    }
    if (typeof input?.type !== 'string' || input.type.trim() === '') {
      problem('type', 'must be a non-empty string');
    }
    if (input?.key !== undefined && typeof input.key !== 'string')
      problem('key', 'must be a string');
    if (input?.subject !== undefined && typeof input.subject !== 'string') {
      problem('subject', 'must be a string');
    }
    for (const [name, value] of Object.entries(input?.headers ?? {})) {
      if (RESERVED_HEADER.test(name))
        problem(`headers.${name}`, 'is set by the CloudEvents binding');
      else if (typeof value !== 'string') problem(`headers.${name}`, 'must be a string');
    }
    let data = '';
    try {
      data = JSON.stringify(input?.data) ?? '';
      if (data === '') problem('data', 'must be a JSON value (got undefined)');
    } catch (error) {
      problem('data', `cannot be written as JSON (${errorText(error)})`);
    }
    if (problems.length > 0) {
      throw new MessagingError('KEEL_MESSAGING_INVALID_EVENT', problems.join('; '));
    }
    const context = RequestContext.current();
    const event: KeelCloudEvent<T> = {
      specversion: '1.0',
      id: uuidV7(),
      source: this.settings.source,
      type: input.type,
      time: new Date().toISOString(),
      ...(input.subject !== undefined ? { subject: input.subject } : {}),
      datacontenttype: 'application/json',
      data: input.data,
      ...(context?.correlationId !== undefined ? { correlationid: context.correlationId } : {}),
      ...(context?.traceparent !== undefined ? { traceparent: context.traceparent } : {}),
      ...contextExtensions(context),
    };
    return { event, data };
  }
}

/** The actor and tenant of the unit of work, when it has them. */
function contextExtensions(
  context: ReturnType<typeof RequestContext.current>,
): Pick<KeelCloudEvent, 'actor' | 'tenant'> {
  const actor = context?.actor;
  const tenant = context?.tenant;
  return {
    ...(actor !== undefined ? { actor } : {}),
    ...(tenant !== undefined ? { tenant } : {}),
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
