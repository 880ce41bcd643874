import { Logger } from '@nestjs/common';
import type { Kafka, Producer } from 'kafkajs';
import type { MessagingSettings } from '../interfaces/messaging-options.interface.js';
import type { MessageTransport, OutgoingRecord } from './message-transport.js';

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

  constructor(private readonly settings: MessagingSettings['kafka']) {}

  connect(): Promise<void> {
    return this.connected().then(() => undefined);
  }

  async send(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
    const producer = await this.connected();
    await producer.send({
      topic,
      acks: -1,
      messages: records.map((r) => ({ key: r.key, value: r.value, headers: { ...r.headers } })),
    });
  }

  async close(): Promise<void> {
    const pending = this.connecting;
    this.connecting = undefined;
    const producer = this.producer ?? (await pending?.catch(() => undefined));
    this.producer = undefined;
    await producer?.disconnect();
  }

  private connected(): Promise<Producer> {
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

  private async open(): Promise<Producer> {
    const kafkajs = (await import('kafkajs')).default;
    const kafka: Kafka = new kafkajs.Kafka({
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
