import { Catch, Inject, Optional, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { throwError, type Observable } from 'rxjs';
import { KeelError, type KeelErrorResponseFields } from './core.errors.js';

/**
 * The body the filter sends over HTTP, and the error it raises for a microservice handler (what
 * an `RpcException` would carry): `{ statusCode, code, message, …fields }`.
 * @publicApi
 */
export interface KeelErrorBody extends KeelErrorResponseFields {
  readonly statusCode: number;
  readonly code: string;
}

/**
 * Keel's one error edge. Libraries never throw `HttpException`; every Keel error carries a
 * stable `code` and the HTTP `status` its lib's error table gives it (`CORE_ERRORS`,
 * `COORDINATION_ERRORS`, `LOCKS_ERRORS`, `REGISTRY_ERRORS`…), and this filter turns it into:
 *
 * - over HTTP, a response with that status and the body `{ statusCode, code, message, … }`,
 *   plus `Retry-After` (whole seconds) when the error says when to try again (`retryAfterMs`:
 *   an open breaker, a full bulkhead) and the error's own headers (`toResponseHeaders()`: a
 *   rate limit's `RateLimit` and `RateLimit-Policy`);
 * - for a microservice handler, the same body raised as the RPC error, so the client's
 *   `send()` fails with `{ statusCode, code, message }`.
 *
 * Errors that are not Keel's pass to Nest's own handling untouched. `KeelCoreModule` registers
 * it globally unless `KeelCoreModule.forRoot({ exceptionFilter: false })`; it can also be used
 * with `@UseFilters(KeelExceptionFilter)` or `app.useGlobalFilters()`.
 *
 * @publicApi
 */
@Catch(KeelError)
export class KeelExceptionFilter implements ExceptionFilter<KeelError> {
  constructor(
    @Optional() @Inject(HttpAdapterHost) private readonly adapterHost?: HttpAdapterHost,
  ) {}

  catch(exception: KeelError, host: ArgumentsHost): Observable<never> | void {
    const body = keelErrorBody(exception);
    const type = host.getType<string>();
    if (type === 'rpc') return throwError(() => body);
    const adapter = this.adapterHost?.httpAdapter;
    if (type !== 'http' || adapter === undefined) throw exception;
    const response = host.switchToHttp().getResponse<unknown>();
    const retryAfterMs = retryAfterOf(exception);
    if (retryAfterMs !== undefined) {
      adapter.setHeader(
        response,
        'Retry-After',
        String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
      );
    }
    for (const [name, value] of Object.entries(headersOf(exception))) {
      adapter.setHeader(response, name, value);
    }
    adapter.reply(response, body, body.statusCode);
  }
}

/**
 * The status and body Keel answers with for `error` — for a custom filter that wants Keel's
 * mapping inside its own.
 * @publicApi
 */
export function keelErrorBody(error: KeelError): KeelErrorBody {
  return { statusCode: error.status, code: error.code, ...error.toResponseFields() };
}

// An error from an older copy of @keel/core may lack the method.
function headersOf(error: KeelError): Readonly<Record<string, string>> {
  return typeof error.toResponseHeaders === 'function' ? error.toResponseHeaders() : {};
}

function retryAfterOf(error: KeelError): number | undefined {
  const value = (error as KeelError & { retryAfterMs?: unknown }).retryAfterMs;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}
