import {
  Inject,
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { Observable } from 'rxjs';
import { KEEL_CORE_OPTIONS } from '../core.constants.js';
import type { KeelCoreOptions } from '../interfaces/core-options.interface.js';
import { CORRELATION_ID_HEADER, TENANT_HEADER, TRACEPARENT_HEADER } from './context.constants.js';
import { RequestContext } from './request-context.js';

/**
 * Opens the request context for microservice handlers (`@EventPattern`, `@MessagePattern`)
 * from the message headers (Kafka headers arrive as Buffers). HTTP requests get theirs from the
 * middleware; an HTTP request that reached a handler without one (middleware excluded) gets one
 * here. The tenant comes from the configured `tenantHeader`; an invalid one fails the call with
 * `InvalidTenantError` instead of running it.
 * @internal
 */
@Injectable()
export class RequestContextInterceptor implements NestInterceptor {
  private readonly tenantHeader: string | false;

  constructor(@Inject(KEEL_CORE_OPTIONS) options: KeelCoreOptions) {
    const header = options.context?.tenantHeader ?? TENANT_HEADER;
    this.tenantHeader = header === false ? false : header.toLowerCase();
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (RequestContext.current() !== undefined) return next.handle();
    const headers = context.getType() === 'rpc' ? rpcHeaders(context) : httpHeaders(context);
    return new Observable((subscriber) =>
      RequestContext.run(
        {
          correlationId: headers[CORRELATION_ID_HEADER],
          traceparent: headers[TRACEPARENT_HEADER],
          tenant: this.tenantHeader === false ? undefined : headers[this.tenantHeader],
        },
        () => next.handle().subscribe(subscriber),
      ),
    );
  }
}

function rpcHeaders(context: ExecutionContext): Record<string, string | undefined> {
  const rpc = context.switchToRpc().getContext() as
    { getMessage?: () => { headers?: Record<string, unknown> } } | undefined;
  const raw = typeof rpc?.getMessage === 'function' ? rpc.getMessage()?.headers : undefined;
  const headers: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(raw ?? {})) {
    headers[key.toLowerCase()] = decodeHeader(value);
  }
  return headers;
}

function httpHeaders(context: ExecutionContext): Record<string, string | undefined> {
  const req = context.switchToHttp().getRequest<{ headers?: Record<string, unknown> }>();
  const headers: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(req?.headers ?? {})) headers[key] = decodeHeader(value);
  return headers;
}

function decodeHeader(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (Array.isArray(value)) return decodeHeader(value[0]);
  return undefined;
}
