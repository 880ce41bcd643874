import { KeelError, isKeelError, type KeelErrorCodes } from '@keel/core';

/**
 * The error codes of `@keel/messaging`, with the HTTP status Keel's exception filter answers with.
 * @publicApi
 */
export const MESSAGING_ERRORS = {
  KEEL_MESSAGING_INVALID_EVENT: {
    status: 400,
    meaning:
      'an event passed to publish() is malformed (bad topic name, empty type, data JSON cannot hold, a reserved header)',
  },
  KEEL_MESSAGING_UNAVAILABLE: {
    status: 503,
    meaning: 'Kafka did not take the event (brokers unreachable, or the send failed after retries)',
  },
  KEEL_MESSAGING_OUTBOX_DISABLED: {
    status: 500,
    meaning:
      'publishInTransaction() was called but the outbox is off (no PostgreSQL configured, or outbox.enabled: false)',
  },
  KEEL_MESSAGING_MALFORMED_EVENT: {
    status: 400,
    meaning:
      'a consumed record is not a CloudEvent Keel can read (bad JSON, no ce_specversion, a missing id, source or type); it is dead-lettered at once',
  },
  KEEL_MESSAGING_NO_HANDLER: {
    status: 404,
    meaning:
      'a consumed record arrived on a topic no @EventPattern handler serves; it is dead-lettered, never silently committed',
  },
  KEEL_MESSAGING_HANDLER_TIMEOUT: {
    status: 504,
    meaning:
      'a handler ran longer than consumer.maxProcessingMs: its signal was aborted and the attempt failed',
  },
  KEEL_MESSAGING_DUPLICATE_IN_PROGRESS: {
    status: 409,
    meaning:
      'an @Idempotent call arrived while a call with the same key was still running; retry after retryAfterMs (it is then skipped if that call succeeded)',
  },
  KEEL_MESSAGING_IDEMPOTENCY_UNAVAILABLE: {
    status: 503,
    meaning:
      "the @Idempotent store could not be used (Redis or PostgreSQL unreachable, the inbox's database not configured, or pg missing); the call did not complete",
  },
  KEEL_MESSAGING_SHUT_DOWN: {
    status: 503,
    meaning: 'the event bus is shutting down and takes no new events',
  },
} as const satisfies KeelErrorCodes;

/** A code of {@link MESSAGING_ERRORS}. @publicApi */
export type MessagingErrorCode = keyof typeof MESSAGING_ERRORS;

/**
 * Base of every error `@keel/messaging` throws; takes its HTTP status from {@link MESSAGING_ERRORS}.
 * @publicApi
 */
export class MessagingError extends KeelError {
  /** When to try again, for a refusal that will pass later (`Retry-After` over HTTP). */
  readonly retryAfterMs?: number;

  constructor(
    code: MessagingErrorCode,
    message: string,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(code, message, {
      ...(options?.cause !== undefined ? { cause: options.cause } : {}),
      status: MESSAGING_ERRORS[code].status,
    });
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/** True when `error` is a {@link MessagingError} (any code). @publicApi */
export function isMessagingError(error: unknown): error is MessagingError {
  return isKeelError(error) && error.code in MESSAGING_ERRORS;
}
