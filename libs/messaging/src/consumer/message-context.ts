import type { KeelCloudEvent } from '../events/cloud-event.js';
import type { IncomingRecord } from '../kafka/message-transport.js';

/**
 * What an `@EventPattern` handler served by {@link MessagingServer} gets with `@Ctx()`: the
 * CloudEvent, where the record came from, which attempt this is, and the signal that aborts when
 * the attempt runs past `consumer.maxProcessingMs` (or the server shuts down).
 *
 * @example
 * ```ts
 * @EventPattern('payments')
 * async settled(@Payload('data') payment: Payment, @Ctx() ctx: MessageContext) {
 *   await this.ledger.apply(payment, { signal: ctx.signal });
 * }
 * ```
 * @publicApi
 */
export class MessageContext<T = unknown> {
  readonly #args: [KeelCloudEvent<T>, IncomingRecord, number, AbortSignal, string];

  /** @internal */
  constructor(
    event: KeelCloudEvent<T>,
    record: IncomingRecord,
    attempt: number,
    signal: AbortSignal,
    topic: string = record.topic,
  ) {
    this.#args = [event, record, attempt, signal, topic];
  }

  /** The event, as published (the handler's payload is the same object). */
  get event(): KeelCloudEvent<T> {
    return this.#args[0];
  }

  /** The Kafka record as received: topic, partition, offset, key, headers, timestamp. */
  get record(): IncomingRecord {
    return this.#args[1];
  }

  /** The topic the event was published to (also when it is delivered again from the retry topic). */
  get topic(): string {
    return this.#args[4];
  }

  get key(): string | null {
    return this.#args[1].key;
  }

  /** 1 for the first run of the handler for this record, then 2, 3… for each retry. */
  get attempt(): number {
    return this.#args[2];
  }

  /** Aborts when the attempt runs past `consumer.maxProcessingMs` or the server stops. */
  get signal(): AbortSignal {
    return this.#args[3];
  }

  /** The record with its headers, as Nest's `KafkaContext.getMessage()` has it. */
  getMessage(): IncomingRecord {
    return this.#args[1];
  }

  /** Nest's `BaseRpcContext` shape. */
  getArgs(): readonly unknown[] {
    return this.#args;
  }

  getArgByIndex(index: number): unknown {
    return this.#args[index];
  }
}
