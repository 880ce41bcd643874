import {
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
  type Provider,
} from '@nestjs/common';
import { APP_INTERCEPTOR, DiscoveryService, MetadataScanner } from '@nestjs/core';
import { Observable, tap } from 'rxjs';
import {
  CORRELATION_ID_HEADER,
  KEEL_REQUEST_CONTEXT_SETTINGS,
  RPC_ERROR_SINK,
  TRACEPARENT_HEADER,
} from './context.constants.js';
import { RequestContext } from './request-context.js';
import type { RequestContextSettings } from './request-context.settings.js';

/** `@MessagePattern` / `@EventPattern` (from @nestjs/microservices, an optional peer). */
const PATTERN_METADATA = 'microservices:pattern';
/** `@WebSocketGateway` (from @nestjs/websockets, an optional peer). */
const GATEWAY_METADATA = 'websockets:is_gateway';

/**
 * Opens the request context for microservice handlers (`@EventPattern`, `@MessagePattern`)
 * from the message headers (Kafka headers arrive as Buffers), and for WebSocket gateway
 * handlers. HTTP requests get theirs from the middleware, on the routes it is applied to; an
 * HTTP request of a route left out of them gets none here either. The tenant comes from the
 * configured `tenantHeader`; an invalid one fails the call with `InvalidTenantError` instead of
 * running it. Made by {@link requestContextInterceptorProvider}, not by injection.
 * @internal
 */
export class RequestContextInterceptor implements NestInterceptor {
  /** @param tenantHeader lower-case header naming the tenant, `undefined` for none */
  constructor(private readonly tenantHeader: string | undefined) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const type = context.getType<string>();
    if (type === 'rpc') {
      const sink = RequestContext.getValue<(error: unknown) => void>(RPC_ERROR_SINK);
      if (sink !== undefined) return next.handle().pipe(tap({ error: sink }));
    }
    if ((type !== 'rpc' && type !== 'ws') || RequestContext.current() !== undefined) {
      return next.handle();
    }
    const headers = type === 'rpc' ? rpcHeaders(context) : {};
    return new Observable((subscriber) =>
      RequestContext.run(
        {
          correlationId: headers[CORRELATION_ID_HEADER],
          traceparent: headers[TRACEPARENT_HEADER],
          tenant: this.tenantHeader === undefined ? undefined : headers[this.tenantHeader],
        },
        () => next.handle().subscribe(subscriber),
      ),
    );
  }
}

/**
 * The interceptor as a global enhancer, or nothing (a factory that returns `null` is skipped by
 * Nest): when it is off, or `'auto'` finds no handler that needs it, no request pays for it.
 * @internal
 */
export const requestContextInterceptorProvider: Provider = {
  provide: APP_INTERCEPTOR,
  useFactory: (
    settings: RequestContextSettings,
    discovery: DiscoveryService,
    scanner: MetadataScanner,
  ): RequestContextInterceptor | null => {
    const wanted =
      settings.interceptor === 'auto'
        ? hasNonHttpHandlers(discovery, scanner)
        : settings.interceptor;
    return wanted ? new RequestContextInterceptor(settings.tenantHeader) : null;
  },
  inject: [KEEL_REQUEST_CONTEXT_SETTINGS, DiscoveryService, MetadataScanner],
};

/** True when a controller has a microservice handler or a provider is a WebSocket gateway. */
function hasNonHttpHandlers(discovery: DiscoveryService, scanner: MetadataScanner): boolean {
  for (const wrapper of discovery.getControllers()) {
    const prototype = (wrapper.metatype as { prototype?: object } | null)?.prototype;
    if (prototype === undefined) continue;
    for (const name of scanner.getAllMethodNames(prototype)) {
      const method = (prototype as Record<string, unknown>)[name];
      if (typeof method === 'function' && Reflect.hasMetadata(PATTERN_METADATA, method)) {
        return true;
      }
    }
  }
  return discovery
    .getProviders()
    .some(
      (wrapper) =>
        typeof wrapper.metatype === 'function' &&
        Reflect.hasMetadata(GATEWAY_METADATA, wrapper.metatype),
    );
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

function decodeHeader(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (Array.isArray(value)) return decodeHeader(value[0]);
  return undefined;
}
