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
import { readRetryState, retryRecord, retryTopic, type RetryState } from './retry-record.js';
import { parkingSlot, type ParkingStore } from '../stores/parking.store.js';

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
  /** The topic the event was published to (the record may come from its retry topic). */
  readonly topic: string;
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
  readonly parking: ParkingStore;
}

/**
 * Takes one record from receipt to commit: decodes the CloudEvent, runs the handler in the
 * publisher's request context with heartbeats and a time cap, retries it in process, parks its
 * key on the retry topic, and dead-letters what cannot be processed. It resolves only when the
 * record is finished (processed, parked or dead-lettered) — that is when the transport may
 * commit its offset — and rejects when that could not be written (the retry or dead-letter
 * send failed) or the server is stopping, so the record is delivered again.
 * @internal
 */
export class RecordProcessor {
  private readonly logger = new Logger('KeelMessaging');
  private readonly consumed: Counter<string>;
  private readonly retried: Counter<string>;
  private readonly deadLetters: Counter<string>;
  private readonly duration: Histogram<string>;
  private readonly parked: Counter<string>;

  constructor(private readonly deps: RecordProcessorDeps) {
    this.consumed = deps.metrics.counter(MESSAGING_METRICS.consumed);
    this.retried = deps.metrics.counter(MESSAGING_METRICS.retried);
    this.deadLetters = deps.metrics.counter(MESSAGING_METRICS.deadLettered);
    this.parked = deps.metrics.counter(MESSAGING_METRICS.parked);
    const { buckets, ...duration } = MESSAGING_METRICS.handlerDuration;
    this.duration = deps.metrics.histogram({ ...duration, buckets: [...buckets] });
  }

  /** A record of a subscribed topic. */
  async process(record: IncomingRecord, heartbeat: () => Promise<void>): Promise<void> {
    const topic = record.topic;
    const prepared = await this.prepare(record, topic);
    if (prepared === undefined) return;
    const slot = this.slotOf(topic, record.key);
    const position = Number(record.offset);
    if (slot !== undefined && (await this.deps.parking.joinIfParked(slot, position))) {
      // The key is parked: this record waits behind its head on the retry topic, in order.
      const state = { originalTopic: topic, round: 0, dueAt: Date.now(), attempts: 0 };
      await this.sendToRetry(record, state, slot, position);
      this.parked.inc({ topic, reason: 'behind' });
      return;
    }
    const result = await this.runAttempts({
      ...prepared,
      record,
      topic,
      heartbeat,
      attemptsBefore: 0,
    });
    if (result === undefined) return this.processed(topic);
    const delays = this.deps.settings.retryTopicDelaysMs;
    if (!result.failure.retryable || delays.length === 0) {
      return this.deadLetter(record, topic, { ...result.failure, attempts: result.attempts });
    }
    if (slot !== undefined) await this.deps.parking.park(slot, position);
    const state = {
      originalTopic: topic,
      round: 1,
      dueAt: Date.now() + delays[0]!,
      attempts: result.attempts,
    };
    await this.sendToRetry(record, state, slot, position);
    this.parked.inc({ topic, reason: 'failed' });
  }

  /**
   * A record of a retry topic. Only the head of its key's queue runs (when its round is due);
   * a record behind the head goes behind again; a copy of a record that already left the queue
   * (a redelivery after a rebalance or a crash) is skipped.
   */
  async processRetry(record: IncomingRecord, heartbeat: () => Promise<void>): Promise<void> {
    const state = readRetryState(record);
    if (state === undefined) {
      const message = malformedRecord({
        problem: 'a retry-topic record without keel-retry-* headers',
      });
      const suffix = `.${this.deps.settings.groupId}.retry`;
      const topic = record.topic.endsWith(suffix)
        ? record.topic.slice(0, -suffix.length)
        : record.topic;
      return this.deadLetter(record, topic, {
        code: 'KEEL_MESSAGING_MALFORMED_EVENT',
        message,
        attempts: 0,
      });
    }
    const topic = state.originalTopic;
    const position = Number(record.headers['keel-dlt-original-offset'] ?? Number.NaN);
    const prepared = await this.prepare(record, topic);
    if (prepared === undefined) return this.leave(topic, record.key, position);
    const slot = Number.isFinite(position) ? this.slotOf(topic, record.key) : undefined;
    if (slot !== undefined) {
      const where = await this.deps.parking.position(slot, position);
      if (!where.queued) return; // already processed or dead-lettered: a stale copy
      if (!where.head) {
        // An earlier record of its key is still in the pipeline: go behind it once more.
        return this.resend(record, { ...state, dueAt: Date.now() });
      }
    }
    if (state.round > 0) await this.untilDue(state.dueAt, heartbeat);
    const result = await this.runAttempts({
      ...prepared,
      record,
      topic,
      heartbeat,
      attemptsBefore: state.attempts,
      single: state.round > 0,
    });
    if (result === undefined) {
      await this.leave(topic, record.key, position);
      return this.processed(topic);
    }
    const delays = this.deps.settings.retryTopicDelaysMs;
    const next = state.round + 1;
    if (result.failure.retryable && next <= delays.length) {
      const delay = delays[next - 1]!;
      await this.resend(record, {
        ...state,
        round: next,
        dueAt: Date.now() + delay,
        attempts: result.attempts,
      });
      return; // still the head: the records behind it keep going behind it
    }
    await this.deadLetter(record, topic, { ...result.failure, attempts: result.attempts });
    await this.leave(topic, record.key, position); // moving to the DLQ releases the key
  }

  /** Decodes the record and finds its handler; dead-letters it (and returns nothing) if either fails. */
  private async prepare(
    record: IncomingRecord,
    topic: string,
  ): Promise<{ handler: EventHandler; event: KeelCloudEvent } | undefined> {
    const decoded = decodeRecord(record);
    if (!decoded.ok) {
      const message = malformedRecord({ problem: decoded.problem });
      await this.deadLetter(record, topic, {
        code: 'KEEL_MESSAGING_MALFORMED_EVENT',
        message,
        attempts: 0,
      });
      return undefined;
    }
    const handler = this.deps.handlerFor(topic);
    if (handler === undefined) {
      const message = noHandler({ topic });
      await this.deadLetter(record, topic, {
        code: 'KEEL_MESSAGING_NO_HANDLER',
        message,
        attempts: 0,
      });
      return undefined;
    }
    return { handler, event: decoded.event };
  }

  /**
   * Runs the handler: once (`single`), or with the in-process retries of `retryDelaysMs`.
   * Resolves with `undefined` on success, else with the last failure and the attempts made.
   */
  private async runAttempts(
    input: Omit<AttemptInput, 'attempt'> & {
      readonly attemptsBefore: number;
      readonly single?: boolean;
    },
  ): Promise<{ failure: Failure; attempts: number } | undefined> {
    const delays = input.single === true ? [] : this.deps.settings.retryDelaysMs;
    for (let run = 1; ; run++) {
      const attempt = input.attemptsBefore + run;
      const failure = await this.attemptPastDuplicates({ ...input, attempt });
      if (failure === undefined) return undefined;
      if (this.deps.stopping.aborted) {
        // Stopping, not failing: the record stays uncommitted and another member takes it.
        throw new MessagingError(
          'KEEL_MESSAGING_SHUT_DOWN',
          consumerStopping({ topic: input.topic }),
        );
      }
      const delay = delays[run - 1];
      if (!failure.retryable || delay === undefined) return { failure, attempts: attempt };
      this.retried.inc({ topic: input.topic });
      await pause(delay, input.heartbeat, this.deps.stopping);
      if (this.deps.stopping.aborted) {
        throw new MessagingError(
          'KEEL_MESSAGING_SHUT_DOWN',
          consumerStopping({ topic: input.topic }),
        );
      }
    }
  }

  private processed(topic: string): void {
    this.consumed.inc({ topic, outcome: 'processed' });
  }

  /** Parking applies to keyed records while a retry topic is configured. */
  private slotOf(topic: string, key: string | null): string | undefined {
    if (key === null || this.deps.settings.retryTopicDelaysMs.length === 0) return undefined;
    return parkingSlot(topic, this.deps.settings.groupId, key);
  }

  /** One record of a parked key left the pipeline; the next one of its key may run. */
  private async leave(topic: string, key: string | null, position: number): Promise<void> {
    const slot = this.slotOf(topic, key);
    if (slot === undefined || !Number.isFinite(position)) return;
    await this.deps.parking.leave(slot, position);
  }

  /** Sends a record to the retry topic; if that fails, the park it was counted in is undone. */
  private async sendToRetry(
    record: IncomingRecord,
    state: RetryState,
    slot: string | undefined,
    position: number,
  ): Promise<void> {
    try {
      await this.resend(record, state);
    } catch (error) {
      // Redelivered, the record queues itself again.
      if (slot !== undefined) await this.deps.parking.leave(slot, position).catch(() => undefined);
      throw error;
    }
  }

  private async resend(record: IncomingRecord, state: RetryState): Promise<void> {
    const topic = retryTopic(state.originalTopic, this.deps.settings.groupId);
    await this.deps.transport.send(topic, [retryRecord(record, state)]);
  }

  /** Waits for a retry round's due time, heartbeating; a stop leaves the record uncommitted. */
  private async untilDue(dueAt: number, heartbeat: () => Promise<void>): Promise<void> {
    for (;;) {
      const wait = dueAt - Date.now();
      if (wait <= 0) return;
      if (this.deps.stopping.aborted) {
        throw new MessagingError(
          'KEEL_MESSAGING_SHUT_DOWN',
          consumerStopping({ topic: 'a retry topic' }),
        );
      }
      await pause(
        Math.min(wait, this.deps.settings.heartbeatIntervalMs),
        heartbeat,
        this.deps.stopping,
      );
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
      const wait = Math.min(failure.retryAfterMs ?? 100, MAX_DUPLICATE_WAIT_MS);
      await pause(wait, input.heartbeat, this.deps.stopping);
      if (this.deps.stopping.aborted) return failure; // the caller sees the stop and rethrows
    }
  }

  /** One run of the handler; resolves with its failure, or `undefined` on success. */
  private async attempt(input: AttemptInput): Promise<Failure | undefined> {
    const { settings } = this.deps;
    const controller = new AbortController();
    const onStop = () => controller.abort(this.deps.stopping.reason);
    this.deps.stopping.addEventListener('abort', onStop, { once: true });
    // The error is built only when the cap is hit: an Error captures a stack, per record.
    const timer = setTimeout(
      () =>
        controller.abort(
          new MessagingError(
            'KEEL_MESSAGING_HANDLER_TIMEOUT',
            handlerTimedOut({ topic: input.topic, maxProcessingMs: settings.maxProcessingMs }),
          ),
        ),
      settings.maxProcessingMs,
    );
    const beat = setInterval(
      () => void input.heartbeat().catch(() => undefined),
      settings.heartbeatIntervalMs,
    );
    let handlerError: unknown;
    const sink = (error: unknown) => (handlerError ??= error);
    const context = new MessageContext(
      input.event,
      input.record,
      input.attempt,
      controller.signal,
      input.topic,
    );
    const started = performance.now();
    try {
      const run = RequestContext.run(requestInfo(input.event), () =>
        RequestContext.runWithValue(RPC_ERROR_SINK, sink, () =>
          invoke(input.handler, input.event, context),
        ),
      );
      await Promise.race([run, rejectOnAbort(controller.signal)]);
      this.duration.observe({ topic: input.topic, outcome: 'success' }, seconds(started));
      return undefined;
    } catch (error) {
      this.duration.observe({ topic: input.topic, outcome: 'failure' }, seconds(started));
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

  private async deadLetter(
    record: IncomingRecord,
    topic: string,
    cause: DeadLetterCause,
  ): Promise<void> {
    const dlq = deadLetterTopic(topic, this.deps.settings.groupId);
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
    this.deadLetters.inc({ topic, code: cause.code });
    this.consumed.inc({ topic, outcome: 'dead-lettered' });
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
async function pause(
  ms: number,
  heartbeat: () => Promise<void>,
  stopping?: AbortSignal,
): Promise<void> {
  // Cut short by a stop, so shutting down never waits out a retry delay or a due time.
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      stopping?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    stopping?.addEventListener('abort', done, { once: true });
  });
  if (stopping?.aborted !== true) await heartbeat().catch(() => undefined);
}

function seconds(started: number): number {
  return (performance.now() - started) / 1000;
}
