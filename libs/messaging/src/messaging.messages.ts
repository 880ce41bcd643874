// Every log and error message of @keel/messaging, as small named factories (docs/lib-skeleton.md).

/** Which transport the module uses, logged once at startup. */
export function transportLine(input: {
  readonly transport: 'kafka' | 'memory';
  readonly brokers: readonly string[];
}): string {
  return input.transport === 'kafka'
    ? `events go to Kafka at ${input.brokers.join(', ')}`
    : 'no Kafka brokers configured (KAFKA_BROKERS): events stay in this process (the embedded transport); set KAFKA_BROKERS to publish to Kafka';
}

/** One problem of an event passed to publish(). */
export function invalidEvent(input: { readonly field: string; readonly problem: string }): string {
  return `event rejected: ${input.field} ${input.problem}`;
}

/** Kafka did not take a send. */
export function sendFailed(input: { readonly topic: string; readonly error: string }): string {
  return `publishing to ${input.topic} failed: ${input.error}`;
}

/** The first connection attempt at startup failed; publish() connects again when called. */
export function connectFailed(input: {
  readonly brokers: readonly string[];
  readonly error: string;
}): string {
  return `could not connect to Kafka at ${input.brokers.join(', ')} at startup (${input.error}); publish() retries the connection`;
}

/** An event larger than warnAboveBytes. */
export function largeEvent(input: {
  readonly topic: string;
  readonly type: string;
  readonly bytes: number;
  readonly limit: number;
}): string {
  return `event ${input.type} to ${input.topic} is ${input.bytes} bytes (over warnAboveBytes ${input.limit}): Kafka's default message limit is 1 MiB; consider sending a reference instead`;
}

/** publish() after shutdown began. */
export function busShutDown(): string {
  return 'the event bus is shutting down and takes no new events; publish before beforeApplicationShutdown';
}
