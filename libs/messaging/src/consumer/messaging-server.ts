import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { KeelDecoratorError, KeelMetrics } from '@keel/core';
import { BehaviorSubject, type Observable } from 'rxjs';
import type { MessagingSettings } from '../interfaces/messaging-options.interface.js';
import { MessageTransport, type ConsumerHandle } from '../kafka/message-transport.js';
import { MESSAGING_SETTINGS } from '../messaging.constants.js';
import { consumerLine, unsupportedPattern } from '../messaging.messages.js';
import { ParkingStore } from '../stores/parking.store.js';
import { RecordProcessor, type EventHandler } from './record-processor.js';
import { retryTopic } from './retry-record.js';

/** Where {@link MessagingServer} is: `listening` once its consumer group runs. @publicApi */
export type MessagingServerStatus = 'idle' | 'listening' | 'stopped';

/** A handler as Nest's listeners controller registers it (its own fields, set by the server). */
type RegisteredHandler = EventHandler & {
  isEventHandler?: boolean;
  extras?: Record<string, unknown>;
  next?: RegisteredHandler;
};

const TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;
/** Retry-topic partitions one member works on at once. */
const RETRY_PARTITIONS_AT_ONCE = 8;

/**
 * Keel's transport for Nest microservices: serves your `@EventPattern('<topic>')` handlers —
 * with Nest's guards, interceptors and pipes — from the consumer group `consumer.groupId`, on
 * Kafka or, without brokers, on the embedded transport. Unlike Nest's `ServerKafka`, a failing
 * handler never blocks its partition nor loses the record: it is retried in process
 * (`consumer.retryDelaysMs`), then its key is parked on `<topic>.<group>.retry` (later records
 * of the key wait behind it, other keys flow on) for `consumer.retryTopicDelaysMs` rounds, then
 * written to `<topic>.<group>.dlq` with `keel-dlt-*` headers;
 * malformed records, records of topics no handler serves and 4xx failures go there at once. An
 * offset is committed only once its record is processed or dead-lettered. The handler runs in
 * the publisher's request context (correlation id, trace context, actor, tenant), heartbeats
 * keep the member in its group while it runs, and `consumer.maxProcessingMs` aborts a runaway.
 *
 * The payload is the whole CloudEvent (`@Payload('data')` picks its data); `@Ctx()` is a
 * {@link MessageContext}.
 *
 * @example
 * ```ts
 * const app = await NestFactory.create(AppModule);
 * app.connectMicroservice({ strategy: app.get(MessagingServer) });
 * await app.startAllMicroservices();
 * ```
 * @publicApi
 */
@Injectable()
export class MessagingServer implements BeforeApplicationShutdown {
  /** Nest lets handler errors reach the transport (it retries and dead-letters them). */
  readonly propagatesEventHandlerErrors = true;
  private readonly logger = new Logger('KeelMessaging');
  private readonly handlers = new Map<string, RegisteredHandler>();
  private readonly problems: string[] = [];
  private readonly status$ = new BehaviorSubject<MessagingServerStatus>('idle');
  private readonly stopping = new AbortController();
  private consumer: ConsumerHandle | undefined;
  private retryConsumer: ConsumerHandle | undefined;

  constructor(
    @Inject(MESSAGING_SETTINGS) private readonly settings: MessagingSettings,
    @Inject(MessageTransport) private readonly transport: MessageTransport,
    @Inject(KeelMetrics) private readonly metrics: KeelMetrics,
    @Inject(ParkingStore) private readonly parking: ParkingStore,
  ) {}

  /** Emits the server's status as it changes. */
  get status(): Observable<MessagingServerStatus> {
    return this.status$.asObservable();
  }

  /** The consumer group's state, for health: `undefined` before `listen()`. */
  consumerState(): ReturnType<ConsumerHandle['state']> | undefined {
    return this.consumer?.state();
  }

  /** The topics handlers are registered for. */
  topics(): string[] {
    return [...this.handlers.keys()];
  }

  /** Called by Nest for every `@EventPattern` / `@MessagePattern` handler. @internal */
  addHandler(
    pattern: unknown,
    callback: RegisteredHandler,
    isEventHandler = false,
    extras: Record<string, unknown> = {},
  ): void {
    const name =
      typeof pattern === 'string' ? pattern : (JSON.stringify(pattern) ?? String(pattern));
    if (!isEventHandler) {
      this.problems.push(
        unsupportedPattern({
          pattern: name,
          reason:
            '@MessagePattern is request-response, which this transport does not answer; use @EventPattern',
        }),
      );
      return;
    }
    if (typeof pattern !== 'string' || !TOPIC.test(pattern)) {
      this.problems.push(
        unsupportedPattern({
          pattern: name,
          reason:
            'an @EventPattern names one Kafka topic (1 to 249 characters of a-z A-Z 0-9 . _ -)',
        }),
      );
      return;
    }
    callback.isEventHandler = true;
    callback.extras = extras;
    const head = this.handlers.get(pattern);
    if (head === undefined) {
      this.handlers.set(pattern, callback);
      return;
    }
    let tail = head;
    while (tail.next !== undefined) tail = tail.next;
    tail.next = callback; // Nest's event wrapper runs the chained handlers together
  }

  /** @internal */
  getHandlers(): Map<string, RegisteredHandler> {
    return this.handlers;
  }

  /** @internal */
  getHandlerByPattern(pattern: string): RegisteredHandler | null {
    return this.handlers.get(pattern) ?? null;
  }

  /** Joins the consumer group and starts serving; called by `startAllMicroservices()`. @internal */
  async listen(callback: (error?: unknown) => void): Promise<void> {
    if (this.problems.length > 0) {
      callback(new KeelDecoratorError(this.problems.join('\n')));
      return;
    }
    try {
      const { consumer } = this.settings;
      const processor = new RecordProcessor({
        settings: consumer,
        transport: this.transport,
        metrics: this.metrics,
        handlerFor: (topic) => this.handlers.get(topic),
        stopping: this.stopping.signal,
        parking: this.parking,
      });
      const topics = this.topics();
      const common = {
        fromBeginning: consumer.fromBeginning,
        sessionTimeoutMs: consumer.sessionTimeoutMs,
        heartbeatIntervalMs: consumer.heartbeatIntervalMs,
        maxWaitTimeMs: consumer.maxWaitTimeMs,
      };
      this.consumer = await this.transport.consume({
        ...common,
        groupId: consumer.groupId,
        topics,
        partitionsConsumedConcurrently: consumer.partitionsConsumedConcurrently,
        onRecord: (record, heartbeat) => processor.process(record, heartbeat),
      });
      if (consumer.retryTopicDelaysMs.length > 0 && topics.length > 0) {
        // Its own group, so a retry round waiting for its due time never holds up the topics;
        // partitions concurrently, so one parked key's wait does not hold up another partition's.
        this.retryConsumer = await this.transport.consume({
          ...common,
          fromBeginning: true,
          groupId: `${consumer.groupId}.retry`,
          topics: topics.map((topic) => retryTopic(topic, consumer.groupId)),
          partitionsConsumedConcurrently: RETRY_PARTITIONS_AT_ONCE,
          onRecord: (record, heartbeat) => processor.processRetry(record, heartbeat),
        });
      }
      this.logger.log(
        consumerLine({ groupId: consumer.groupId, topics, transport: this.transport.kind }),
      );
      this.status$.next('listening');
      callback();
    } catch (error) {
      callback(error);
    }
  }

  /** Stops consuming: running handlers are aborted and their records left for redelivery. */
  async close(): Promise<void> {
    if (!this.stopping.signal.aborted) this.stopping.abort();
    const consumers = [this.consumer, this.retryConsumer];
    this.consumer = undefined;
    this.retryConsumer = undefined;
    await Promise.all(consumers.map((consumer) => consumer?.stop()));
    if (this.status$.value !== 'stopped') this.status$.next('stopped');
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.close();
  }

  /** Nest's `app.on()`: this transport emits no events of its own (see `status`). @internal */
  on(): void {}

  /** The transport underneath (`MessageTransport`). */
  unwrap<T>(): T {
    return this.transport as T;
  }
}
