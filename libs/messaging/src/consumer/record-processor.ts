import { Logger } from '@nestjs/common';
import { RequestContext, type KeelMetrics } from '@keel/core';
import { RPC_ERROR_SINK } from '@keel/core/internal';
import { isObservable, lastValueFrom, type Observable } from 'rxjs';
import type { Counter, Histogram } from 'prom-client';
import type { KeelCloudEvent } from '../events/cloud-event.js';
import type { MessagingSettings } from '../interfaces/messaging-options.interface.js';
import type { IncomingRecord, MessageTransport } from '../kafka/message-transport.js';
import { MessagingError } from '../messaging.errors.js';
import {
  consumerStopping,
  deadLetterFailed,
  deadLettered,
  handlerTimedOut,
  malformedRecord,
  noHandler,
} from '../messaging.messages.js';
import { MESSAGING_METRICS } from '../messaging.metrics.js';
import { deadLetterRecord, deadLetterTopic, type DeadLetterCause } from './dead-letter.js';
import { describeFailure, type Failure } from './failure.js';
import { decodeRecord } from './incoming-event.js';
import { MessageContext } from './message-context.js';

/** A handler as Nest registers it on a transport (`@EventPattern`, through its context proxy). */
export type EventHandler = (
  data: unknown,
  context: MessageContext,
) => Promise<Observable<unknown> | unknown> | Observable<unknown> | unknown;

const DUPLICATE_IN_PROGRESS = 'KEEL_MESSAGING_DUPLICATE_IN_PROGRESS';
/** Longest pause before asking again whether a duplicate's other call has finished. */
const MAX_DUPLICATE_WAIT_MS = 1_000;

interface AttemptInput {
  readonly handler: EventHandler;
  readonly event: KeelCloudEvent;
  readonly record: IncomingRecord;
  readonly attempt: number;
  readonly heartbeat: () => Promise<void>;
}

/** What a {@link RecordProcessor} works with. @internal */
export interface RecordProcessorDeps {
  readonly settings: MessagingSettings['consumer'];
  readonly transport: MessageTransport;
  readonly metrics: KeelMetrics;
  readonly handlerFor: (topic: string) => EventHandler | undefined;
  /** Aborts every running attempt when the server stops. */
  readonly stopping: AbortSignal;
}

/**
 * Takes one record from receipt to commit: decodes the CloudEvent, runs the handler in the
 * publisher's request context with heartbeats and a time cap, retries it in process, and
 * dead-letters what cannot be processed. It resolves only when the record is finished
 * (processed or dead-lettered) — that is when the transport may commit its offset — and
 * rejects only when the dead-letter write failed, so the record is delivered again.
 * @internal
 */
export class RecordProcessor {
  private readonly logger = new Logger('KeelMessaging');
  private readonly consumed: Counter<string>;
  private readonly retried: Counter<string>;
  private readonly deadLetters: Counter<string>;
  private readonly duration: Histogram<string>;

  constructor(private readonly deps: RecordProcessorDeps) {
    this.consumed = deps.metrics.counter(MESSAGING_METRICS.consumed);
    this.retried = deps.metrics.counter(MESSAGING_METRICS.retried);
    this.deadLetters = deps.metrics.counter(MESSAGING_METRICS.deadLettered);
    const { buckets, ...duration } = MESSAGING_METRICS.handlerDuration;
    this.duration = deps.metrics.histogram({ ...duration, buckets: [...buckets] });
  }

  async process(record: IncomingRecord, heartbeat: () => Promise<void>): Promise<void> {
    const decoded = decodeRecord(record);
    if (!decoded.ok) {
      const message = malformedRecord({ problem: decoded.problem });
      return this.deadLetter(record, {
        code: 'KEEL_MESSAGING_MALFORMED_EVENT',
        message,
        attempts: 0,
      });
    }
    const handler = this.deps.handlerFor(record.topic);
    if (handler === undefined) {
      const message = noHandler({ topic: record.topic });
      return this.deadLetter(record, { code: 'KEEL_MESSAGING_NO_HANDLER', message, attempts: 0 });
    }
    const delays = this.deps.settings.retryDelaysMs;
    for (let attempt = 1; ; attempt++) {
      const failure = await this.attemptPastDuplicates({
        handler,
        event: decoded.event,
        record,
        attempt,
        heartbeat,
      });
      if (failure === undefined) {
        this.consumed.inc({ topic: record.topic, outcome: 'processed' });
        return;
      }
      if (this.deps.stopping.aborted) {
        // Stopping, not failing: the record stays uncommitted and another member takes it.
        throw new MessagingError(
          'KEEL_MESSAGING_SHUT_DOWN',
          consumerStopping({ topic: record.topic }),
        );
      }
      const delay = delays[attempt - 1];
      if (!failure.retryable || delay === undefined) {
        return this.deadLetter(record, { ...failure, attempts: attempt });
      }
      this.retried.inc({ topic: record.topic });
      await pause(delay, heartbeat);
    }
  }

  /**
   * One attempt, repeated while `@Idempotent` says the same key is still running elsewhere (a
   * duplicate delivered during a rebalance): waiting for that call is not a failure of this
   * record, so it costs no attempt; once the other call completes, this one is skipped.
   */
  private async attemptPastDuplicates(input: AttemptInput): Promise<Failure | undefined> {
    for (;;) {
      const failure = await this.attempt(input);
      if (failure?.code !== DUPLICATE_IN_PROGRESS || this.deps.stopping.aborted) return failure;
      await pause(Math.min(failure.retryAfterMs ?? 100, MAX_DUPLICATE_WAIT_MS), input.heartbeat);
    }
  }

  /** One run of the handler; resolves with its failure, or `undefined` on success. */
  private async attempt(input: AttemptInput): Promise<Failure | undefined> {
    const { settings } = this.deps;
    const controller = new AbortController();
    const onStop = () => controller.abort(this.deps.stopping.reason);
    this.deps.stopping.addEventListener('abort', onStop, { once: true });
    const timeout = new MessagingError(
      'KEEL_MESSAGING_HANDLER_TIMEOUT',
      handlerTimedOut({ topic: input.record.topic, maxProcessingMs: settings.maxProcessingMs }),
    );
    const timer = setTimeout(() => controller.abort(timeout), settings.maxProcessingMs);
    const beat = setInterval(
      () => void input.heartbeat().catch(() => undefined),
      settings.heartbeatIntervalMs,
    );
    let handlerError: unknown;
    const sink = (error: unknown) => (handlerError ??= error);
    const context = new MessageContext(input.event, input.record, input.attempt, controller.signal);
    const started = performance.now();
    try {
      const run = RequestContext.run(requestInfo(input.event), () =>
        RequestContext.runWithValue(RPC_ERROR_SINK, sink, () =>
          invoke(input.handler, input.event, context),
        ),
      );
      await Promise.race([run, rejectOnAbort(controller.signal)]);
      this.duration.observe({ topic: input.record.topic, outcome: 'success' }, seconds(started));
      return undefined;
    } catch (error) {
      this.duration.observe({ topic: input.record.topic, outcome: 'failure' }, seconds(started));
      // The handler's own error, seen by the request-context interceptor before Nest's
      // exception filters replaced it with a response body; the body when that is all there is.
      return describeFailure(
        controller.signal.aborted ? controller.signal.reason : (handlerError ?? error),
      );
    } finally {
      clearTimeout(timer);
      clearInterval(beat);
      this.deps.stopping.removeEventListener('abort', onStop);
    }
  }

  private async deadLetter(record: IncomingRecord, cause: DeadLetterCause): Promise<void> {
    const dlq = deadLetterTopic(record.topic, this.deps.settings.groupId);
    try {
      await this.deps.transport.send(dlq, [
        deadLetterRecord(record, this.deps.settings.groupId, cause),
      ]);
    } catch (error) {
      this.logger.error(
        deadLetterFailed({ dlq, error: error instanceof Error ? error.message : String(error) }),
      );
      throw error;
    }
    this.deadLetters.inc({ topic: record.topic, code: cause.code });
    this.consumed.inc({ topic: record.topic, outcome: 'dead-lettered' });
    this.logger.warn(
      deadLettered({
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        dlq,
        code: cause.code,
        reason: cause.message,
      }),
    );
  }
}

/** The publisher's correlation id, trace context, actor and tenant, for the handler's context. */
function requestInfo(event: KeelCloudEvent): Parameters<typeof RequestContext.run>[0] {
  const tenant =
    typeof event.tenant === 'string' && RequestContext.isValidTenant(event.tenant)
      ? event.tenant
      : undefined;
  return {
    ...(typeof event.correlationid === 'string' ? { correlationId: event.correlationid } : {}),
    ...(typeof event.traceparent === 'string' ? { traceparent: event.traceparent } : {}),
    ...(typeof event.actor === 'string' ? { actor: event.actor } : {}),
    ...(tenant !== undefined ? { tenant } : {}),
  };
}

async function invoke(
  handler: EventHandler,
  event: KeelCloudEvent,
  context: MessageContext,
): Promise<void> {
  const result = await handler(event, context);
  if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
}

function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** Waits between attempts, heartbeating so a long backoff does not cost the group membership. */
async function pause(ms: number, heartbeat: () => Promise<void>): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  await heartbeat().catch(() => undefined);
}

function seconds(started: number): number {
  return (performance.now() - started) / 1000;
}
