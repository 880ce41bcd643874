import { Catch, Inject, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { throwError, type Observable } from 'rxjs';
import {
  BulkheadRejectedError,
  CircuitOpenError,
  TimeoutError,
  ValidationFailedError,
  isBulkheadRejectedError,
  isCircuitOpenError,
  isTimeoutError,
  isValidationFailedError,
} from './coordination.errors.js';

/** The body the filter sends (HTTP) or the error it raises (RPC). @publicApi */
export interface CoordinationErrorBody {
  readonly statusCode: number;
  readonly code: string;
  readonly message: string;
  /** Every validation problem (400 only). */
  readonly problems?: readonly { readonly path: string; readonly message: string }[];
}

/**
 * Maps Keel coordination errors to HTTP responses and RPC errors at the edge (libraries never
 * throw HttpException):
 *
 * | error | HTTP | extra |
 * | --- | --- | --- |
 * | ValidationFailedError | 400 | `problems: [{ path, message }]` |
 * | CircuitOpenError, BulkheadRejectedError | 503 | `Retry-After` header (seconds) |
 * | TimeoutError | 504 | |
 *
 * For microservice handlers it raises the same body as an RPC error (what `RpcException`
 * carries), so clients receive `{ statusCode, code, message, problems? }`. Other errors are not
 * caught. `CoordinationModule` registers it globally unless `exceptionFilter: false`; it can also
 * be used with `@UseFilters()` or `app.useGlobalFilters()`.
 * @publicApi
 */
@Catch(ValidationFailedError, CircuitOpenError, BulkheadRejectedError, TimeoutError)
export class KeelCoordinationExceptionFilter implements ExceptionFilter {
  constructor(@Inject(HttpAdapterHost) private readonly adapterHost?: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): Observable<never> | void {
    const body = coordinationErrorBody(exception);
    if (host.getType() === 'rpc') return throwError(() => body);
    if (host.getType() !== 'http') throw exception;
    const http = host.switchToHttp();
    const response = http.getResponse<unknown>();
    const adapter = this.adapterHost?.httpAdapter;
    const retryAfterMs =
      isCircuitOpenError(exception) || isBulkheadRejectedError(exception)
        ? exception.retryAfterMs
        : undefined;
    if (adapter === undefined) throw exception;
    if (retryAfterMs !== undefined) {
      adapter.setHeader(
        response,
        'Retry-After',
        String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
      );
    }
    adapter.reply(response, body, body.statusCode);
  }
}

/**
 * The status and body for a coordination error (also usable in a custom filter).
 * @publicApi
 */
export function coordinationErrorBody(exception: unknown): CoordinationErrorBody {
  if (isValidationFailedError(exception)) {
    return {
      statusCode: 400,
      code: exception.code,
      message: 'Validation failed',
      problems: exception.problems,
    };
  }
  if (isCircuitOpenError(exception) || isBulkheadRejectedError(exception)) {
    return { statusCode: 503, code: exception.code, message: exception.message };
  }
  if (isTimeoutError(exception))
    return { statusCode: 504, code: exception.code, message: exception.message };
  const error = exception as Error;
  return { statusCode: 500, code: 'KEEL_INTERNAL', message: error?.message ?? 'error' };
}
