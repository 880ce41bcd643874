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

/** This process became the fleet's outbox relay. */
export function relayLeading(input: { readonly table: string }): string {
  return `this process now relays the outbox ${input.table}_outbox (it holds the relay lock)`;
}

/** A relay round failed; it is retried. */
export function relayFailed(input: { readonly error: string; readonly delayMs: number }): string {
  return `outbox relay round failed (${input.error}); retrying in ${input.delayMs} ms — unsent events stay in the outbox`;
}

/** publishInTransaction without an outbox. */
export function outboxDisabled(input: { readonly reason?: string } = {}): string {
  return input.reason === undefined
    ? 'publishInTransaction() needs the outbox, which needs PostgreSQL: set DATABASE_URL, or outbox: { url } or { dataSource } in MessagingModule.forRoot()'
    : `publishInTransaction() needs the outbox, which could not open: ${input.reason}`;
}

/** The outbox implied by DATABASE_URL could not open; it is off. */
export function outboxOff(input: { readonly reason: string }): string {
  return `the outbox is off (${input.reason}); publish() works, publishInTransaction() will refuse — set outbox.enabled: false to silence this`;
}

/** The outbox was given a DataSource that has no pg pool to share. */
export function outboxDataSourceWithoutPool(): string {
  return 'the outbox DataSource is not an initialized TypeORM postgres DataSource with a pg pool';
}

/** The outbox has a URL but pg is not installed. */
export function outboxNeedsPg(): string {
  return 'the outbox needs the pg package (an optional peer of @keel/messaging): npm install pg';
}

/** The outbox store was used before init() or after close(). */
export function outboxNotOpen(): string {
  return 'the outbox store is not open (closed, or init() not called)';
}

/** The relay lost its session, and with it the relay lock. */
export function relayNotLeading(): string {
  return 'this relay does not lead (its session was lost)';
}

/** A record was written to the dead-letter topic. */
export function deadLettered(input: {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly dlq: string;
  readonly code: string;
  readonly reason: string;
}): string {
  return `record ${input.topic}[${input.partition}]@${input.offset} moved to ${input.dlq} (${input.code}: ${input.reason})`;
}

/** A consumed record is not a CloudEvent Keel can read. */
export function malformedRecord(input: { readonly problem: string }): string {
  return `malformed record: ${input.problem}`;
}

/** A record arrived on a topic no handler serves. */
export function noHandler(input: { readonly topic: string }): string {
  return `no @EventPattern handler serves topic ${input.topic}`;
}

/** A handler attempt ran past maxProcessingMs. */
export function handlerTimedOut(input: {
  readonly topic: string;
  readonly maxProcessingMs: number;
}): string {
  return `the handler of ${input.topic} ran longer than consumer.maxProcessingMs (${input.maxProcessingMs} ms) and was aborted`;
}

/** The server cannot serve a handler pattern. */
export function unsupportedPattern(input: {
  readonly pattern: string;
  readonly reason: string;
}): string {
  return `MessagingServer cannot serve the pattern ${input.pattern}: ${input.reason}`;
}

/** The consumer started. */
export function consumerLine(input: {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly transport: 'kafka' | 'memory';
}): string {
  return `consumer group ${input.groupId} serves ${input.topics.join(', ')} on the ${input.transport === 'kafka' ? 'Kafka' : 'embedded'} transport`;
}

/** A dead-letter write failed; the record is delivered again. */
export function deadLetterFailed(input: { readonly dlq: string; readonly error: string }): string {
  return `writing to ${input.dlq} failed (${input.error}); the record is not committed and will be delivered again`;
}

/** The server stopped while a record was in hand. */
export function consumerStopping(input: { readonly topic: string }): string {
  return `the messaging server is stopping: the record of ${input.topic} in hand is left uncommitted for redelivery`;
}

/** The inbox needs pg for a URL. */
export function inboxNeedsPg(): string {
  return 'the PostgreSQL inbox needs the pg package (an optional peer of @keel/messaging): npm install pg';
}

/** The inbox store has no database. */
export function inboxNotOpen(): string {
  return 'the PostgreSQL inbox is not open (closed, or no database configured)';
}

/** A duplicate arrived while the first delivery of its key is still running. */
export function duplicateInProgress(input: {
  readonly key: string;
  readonly retryAfterMs: number;
}): string {
  return `a call with idempotency key ${input.key} is already running; try again in ${input.retryAfterMs} ms (it is then skipped if that call succeeded)`;
}

/** Marking a key done failed after its body ran. */
export function completeFailed(input: { readonly error: string }): string {
  return `an @Idempotent body ran but its key could not be marked done (${input.error}); a duplicate arriving after the lease lapses will run again`;
}

/** Which idempotency store is in use, logged once. */
export function idempotencyStoreLine(input: {
  readonly store: 'memory' | 'redis' | 'postgres';
}): string {
  return input.store === 'memory'
    ? '@Idempotent keys are kept in this process (no Redis configured): duplicates reaching another replica are not detected'
    : `@Idempotent keys are kept in ${input.store === 'redis' ? 'Redis' : 'the PostgreSQL inbox'}`;
}

/** The PostgreSQL inbox was asked for without a database. */
export function inboxNeedsDatabase(input: { readonly key: string }): string {
  return `${input.key}: 'postgres' needs PostgreSQL — set DATABASE_URL, idempotency.url or idempotency.dataSource`;
}

/** @Idempotent used wrongly (found at startup). */
export function idempotentMisuse(input: {
  readonly label: string;
  readonly problem: string;
}): string {
  return `@Idempotent on ${input.label}: ${input.problem}`;
}

/** Opening or pruning the idempotency store failed; retried later. */
export function inboxPruneFailed(input: { readonly error: string }): string {
  return `the idempotency store could not be opened or pruned (${input.error}); it is tried again later`;
}

/** An outbox row Kafka refused for good was set aside. */
export function outboxRowDead(input: {
  readonly id: string;
  readonly topic: string;
  readonly error: string;
}): string {
  return `outbox event ${input.id} to ${input.topic} was refused by Kafka for good (${input.error}); it is set aside as a dead row — list it with npx keel-messaging outbox list, requeue it with npx keel-messaging outbox requeue once the cause is fixed`;
}

/** The audit sink was configured without an outbox. */
export function auditSinkNeedsOutbox(): string {
  return 'OutboxAuditSink needs the outbox: configure PostgreSQL for MessagingModule (DATABASE_URL, outbox.url or outbox.dataSource) — the same database as the audit store';
}

/** The idempotency store failed (Redis or PostgreSQL unreachable). */
export function idempotencyStoreFailed(input: { readonly error: string }): string {
  return `the @Idempotent store could not be reached (${input.error}); the call did not complete — try again`;
}
