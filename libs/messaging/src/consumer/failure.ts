/** What the server knows of a handler's failure. @internal */
export interface Failure {
  readonly code: string;
  readonly message: string;
  readonly stack?: string;
  /** False for a failure another attempt cannot fix (bad input, not found, forbidden). */
  readonly retryable: boolean;
  /** When the error says another attempt will pass. */
  readonly retryAfterMs?: number;
}

/** 4xx statuses that say "try again later" rather than "this input is wrong". */
const TRANSIENT_CLIENT_STATUSES = new Set([408, 425, 429]);

/**
 * Reads a handler's error — a thrown `Error`, a `KeelError`, an `HttpException`, or the RPC
 * body Nest's exception filters made of one (`{ statusCode, code, message }`) — as a failure.
 * A 4xx status (validation, not found, conflict, forbidden) is not retryable: another attempt
 * would fail the same way, so the record goes to the dead-letter topic at once — unless the
 * error says when to try again (`retryAfterMs`: a duplicate still running elsewhere).
 * @internal
 */
export function describeFailure(error: unknown): Failure {
  const value = (typeof error === 'object' && error !== null ? error : {}) as Record<
    string,
    unknown
  >;
  const status = statusOf(value);
  const retryable =
    typeof value['retryAfterMs'] === 'number' ||
    status === undefined ||
    status < 400 ||
    status >= 500 ||
    TRANSIENT_CLIENT_STATUSES.has(status);
  const code =
    typeof value['code'] === 'string' && value['code'] !== ''
      ? value['code']
      : error instanceof Error
        ? error.name
        : 'Error';
  const message =
    typeof value['message'] === 'string'
      ? value['message']
      : typeof error === 'string'
        ? error
        : String(JSON.stringify(error) ?? error);
  return {
    code,
    message,
    ...(error instanceof Error && error.stack !== undefined ? { stack: error.stack } : {}),
    retryable,
    ...(typeof value['retryAfterMs'] === 'number' ? { retryAfterMs: value['retryAfterMs'] } : {}),
  };
}

function statusOf(value: Record<string, unknown>): number | undefined {
  for (const name of ['status', 'statusCode']) {
    if (typeof value[name] === 'number') return value[name];
  }
  const getStatus = value['getStatus'];
  if (typeof getStatus === 'function') {
    const status: unknown = getStatus.call(value);
    if (typeof status === 'number') return status;
  }
  return undefined;
}
