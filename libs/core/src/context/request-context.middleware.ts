import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import { KEEL_CORE_OPTIONS } from '../core.constants.js';
import type { KeelCoreOptions } from '../interfaces/core-options.interface.js';
import { CORRELATION_ID_HEADER, TENANT_HEADER, TRACEPARENT_HEADER } from './context.constants.js';
import { RequestContext, createRequestInfo } from './request-context.js';

interface HttpRequestLike {
  headers: Record<string, string | string[] | undefined>;
  user?: unknown;
}
interface HttpResponseLike {
  setHeader(name: string, value: string): unknown;
}

/**
 * Opens the request context for every HTTP request: correlation id from `x-correlation-id`
 * (generated when absent or unsafe, and echoed in the response), `traceparent`, tenant from
 * `x-tenant-id`, and the actor from `request.user` once a guard has set it.
 * @internal
 */
@Injectable()
export class RequestContextMiddleware implements NestMiddleware {
  constructor(@Inject(KEEL_CORE_OPTIONS) private readonly options: KeelCoreOptions) {}

  use(req: HttpRequestLike, res: HttpResponseLike, next: (error?: unknown) => void): void {
    const tenantHeader = this.options.context?.tenantHeader ?? TENANT_HEADER;
    const resolveActor = this.options.context?.actor ?? defaultActor;
    const info = createRequestInfo({
      correlationId: header(req, CORRELATION_ID_HEADER),
      traceparent: header(req, TRACEPARENT_HEADER),
      tenant: tenantHeader === false ? undefined : header(req, tenantHeader),
      actorResolver: () => resolveActor(req),
    });
    res.setHeader(CORRELATION_ID_HEADER, info.correlationId);
    RequestContext.run(info, () => next());
  }
}

function header(req: HttpRequestLike, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `request.user.id`, `.sub` or `.username`, as set by the usual Passport/JWT guards. */
export function defaultActor(req: { user?: unknown }): string | undefined {
  const user = req.user as Record<string, unknown> | undefined;
  if (user === undefined || user === null || typeof user !== 'object') return undefined;
  for (const key of ['id', 'sub', 'username']) {
    const value = user[key];
    if (typeof value === 'string' || typeof value === 'number') return String(value);
  }
  return undefined;
}
