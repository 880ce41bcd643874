/** One record as the event bus sends it: the CloudEvents Kafka binding's key, value, headers. @publicApi */
export interface OutgoingRecord {
  readonly key: string | null;
  readonly value: string;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * What the event bus publishes through. Kafka's client stays behind this one small interface —
 * kafkajs today, whose maintainer has asked for successors (kafkajs#1603) — and the embedded
 * transport implements it too.
 * @publicApi
 */
export interface MessageTransport {
  readonly kind: 'kafka' | 'memory';
  /** Connects; safe to call again after a failure. */
  connect(): Promise<void>;
  /** Sends records to one topic; resolves once the broker has acknowledged all of them. */
  send(topic: string, records: readonly OutgoingRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** DI token of the {@link MessageTransport}. @publicApi */
export const MessageTransport = Symbol('MessageTransport');
