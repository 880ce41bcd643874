import { Logger } from '@nestjs/common';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { incomingRecord } from './topic-reader.js';
import type { MessagingSettings } from '../interfaces/messaging-options.interface.js';
import type {
  ConsumerHandle,
  ConsumerSubscription,
  MessageTransport,
  OutgoingRecord,
} from './message-transport.js';

/**
 * Kafka through kafkajs 2.2: one idempotent producer (acks = all, so a retried send is not
 * written twice and an acknowledged one is on every in-sync replica), connected at startup —
 * a failure there is logged, not fatal — and again by `send()` whenever it is not connected.
 * kafkajs is loaded with `import()` when this transport is built, so an application on the
 * embedded transport never loads it.
 * @internal
 */
export class KafkajsTransport implements MessageTransport {
  readonly kind = 'kafka';
  private readonly logger = new Logger('KeelMessaging');
  private producer: Producer | undefined;
  private connecting: Promise<Producer> | undefined;
  private kafka: Promise<Kafka> | undefined;
  private readonly consumers = new Set<Consumer>();

  constructor(private readonly settings: MessagingSettings['kafka']) {}

  get connected(): boolean {
    return this.producer !== undefined;
  }

  connect(): Promise<void> {
    return this.connectedProducer().then(() => undefined);
  }

  async send(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
    const producer = await this.connectedProducer();
    await producer.send({
      topic,
      acks: -1,
      messages: records.map((r) => ({ key: r.key, value: r.value, headers: { ...r.headers } })),
    });
  }

  /**
   * One kafkajs consumer per subscription, committing offsets as kafkajs' `eachMessage`
   * resolves them (autoCommit): a record's offset is committed only after `onRecord` resolved.
   */
  async consume(subscription: ConsumerSubscription): Promise<ConsumerHandle> {
    const kafka = await this.client();
    const consumer = kafka.consumer({
      groupId: subscription.groupId,
      sessionTimeout: subscription.sessionTimeoutMs,
      heartbeatInterval: subscription.heartbeatIntervalMs,
      maxWaitTimeInMs: subscription.maxWaitTimeMs,
      allowAutoTopicCreation: true,
    });
    let state: 'joining' | 'joined' | 'crashed' | 'stopped' = 'joining';
    consumer.on(consumer.events.GROUP_JOIN, () => (state = 'joined'));
    consumer.on(consumer.events.REBALANCING, () => (state = 'joining'));
    consumer.on(consumer.events.CRASH, (event) => {
      // kafkajs restarts the consumer itself unless the error is not retriable.
      if (event.payload.restart !== true) state = 'crashed';
    });
    this.consumers.add(consumer);
    await consumer.connect();
    await consumer.subscribe({
      topics: [...subscription.topics],
      fromBeginning: subscription.fromBeginning,
    });
    await consumer.run({
      autoCommit: true,
      partitionsConsumedConcurrently: subscription.partitionsConsumedConcurrently ?? 1,
      eachMessage: ({ topic, partition, message, heartbeat }) =>
        subscription.onRecord(incomingRecord(topic, partition, message), heartbeat),
    });
    return {
      state: () => state,
      stop: async () => {
        if (!this.consumers.delete(consumer)) return;
        state = 'stopped';
        await consumer.disconnect();
      },
    };
  }

  async close(): Promise<void> {
    for (const consumer of [...this.consumers]) {
      this.consumers.delete(consumer);
      await consumer.disconnect().catch(() => undefined);
    }
    const pending = this.connecting;
    this.connecting = undefined;
    const producer = this.producer ?? (await pending?.catch(() => undefined));
    this.producer = undefined;
    await producer?.disconnect();
  }

  private connectedProducer(): Promise<Producer> {
    if (this.producer !== undefined) return Promise.resolve(this.producer);
    this.connecting ??= this.open().then(
      (producer) => {
        this.producer = producer;
        producer.on(producer.events.DISCONNECT, () => {
          if (this.producer === producer) this.producer = undefined;
          this.connecting = undefined;
        });
        return producer;
      },
      (error: unknown) => {
        this.connecting = undefined; // the next send tries again
        throw error;
      },
    );
    return this.connecting;
  }

  /** One kafkajs client for the producer and every consumer. */
  private client(): Promise<Kafka> {
    this.kafka ??= this.createClient().catch((error: unknown) => {
      this.kafka = undefined;
      throw error;
    });
    return this.kafka;
  }

  private async createClient(): Promise<Kafka> {
    const kafkajs = (await import('kafkajs')).default;
    return new kafkajs.Kafka({
      clientId: this.settings.clientId,
      brokers: [...this.settings.brokers],
      connectionTimeout: this.settings.connectionTimeoutMs,
      retry: { retries: this.settings.retries },
      ...(this.settings.ssl === true ? { ssl: true } : {}),
      ...(this.settings.sasl !== undefined ? { sasl: { ...this.settings.sasl } as never } : {}),
      logLevel: kafkajs.logLevel.WARN,
      logCreator: () => (entry) => {
        // kafkajs' own warnings and errors, through Nest's logger (never its console output).
        const text = `kafkajs ${entry.namespace}: ${entry.log.message}`;
        if (entry.level <= kafkajs.logLevel.ERROR) this.logger.error(text);
        else this.logger.warn(text);
      },
    });
  }

  private async open(): Promise<Producer> {
    const kafkajs = (await import('kafkajs')).default;
    const kafka = await this.client();
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 5,
      allowAutoTopicCreation: true,
      createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    return producer;
  }
}
