import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import {
  CORRELATION_ID_HEADER,
  KEEL_REQUEST_CONTEXT_SETTINGS,
  TRACEPARENT_HEADER,
} from './context.constants.js';
import { createRequestInfo, enterRequestContext } from './request-context.js';
import type { ActorResolver, RequestContextSettings } from './request-context.settings.js';

interface HttpRequestLike {
  headers: Record<string, string | string[] | undefined>;
  user?: unknown;
  /** Set by Express (and Fastify) from the socket, or from `x-forwarded-for` under `trust proxy`. */
  ip?: string;
}
interface HttpResponseLike {
  setHeader(name: string, value: string): unknown;
}

/**
 * Opens the request context for the HTTP requests of the routes it is applied to: correlation id
 * from `x-correlation-id` (generated when absent or unsafe, and echoed in the response),
 * `traceparent`, tenant from `x-tenant-id`, client ip (`req.ip`) and `user-agent`, and the actor from `request.user` once a guard has
 * set it.
 *
 * Runs on every request of those routes, so it allocates only the request info and the context
 * frame: no closure per request (the actor is read lazily through the configured resolver), and
 * the store is entered once, around Nest's `next()`.
 * @internal
 */
@Injectable()
export class RequestContextMiddleware implements NestMiddleware {
  private readonly tenantHeader: string | undefined;
  private readonly actor: ActorResolver;

  constructor(@Inject(KEEL_REQUEST_CONTEXT_SETTINGS) settings: RequestContextSettings) {
    this.tenantHeader = settings.tenantHeader;
    this.actor = settings.actor;
  }

  use(req: HttpRequestLike, res: HttpResponseLike, next: () => void): void {
    const headers = req.headers;
    const info = createRequestInfo({
      correlationId: first(headers[CORRELATION_ID_HEADER]),
      traceparent: first(headers[TRACEPARENT_HEADER]),
      tenant: this.tenantHeader === undefined ? undefined : first(headers[this.tenantHeader]),
      actorResolver: this.actor,
      actorSource: req,
      ip: req.ip,
      userAgent: first(headers['user-agent']),
    });
    res.setHeader(CORRELATION_ID_HEADER, info.correlationId);
    enterRequestContext(info, next);
  }
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
