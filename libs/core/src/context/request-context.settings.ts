import { RequestMethod } from '@nestjs/common';
import { z } from 'zod';
import { parseConfigSection } from '../config/keel-config.js';
import type { KeelContextRoute, KeelCoreOptions } from '../interfaces/core-options.interface.js';
import { DEFAULTS } from '../core.settings.js';

/** Reads the actor from an HTTP request. */
export type ActorResolver = (request: {
  headers: Record<string, unknown>;
  user?: unknown;
}) => string | undefined;

/** The request context in force, after defaults. @internal */
export interface RequestContextSettings {
  /** Where the middleware runs; `undefined` when no HTTP request gets a context. */
  readonly http:
    | {
        readonly routes: readonly KeelContextRoute[];
        readonly exclude: readonly KeelContextRoute[];
      }
    | undefined;
  readonly interceptor: boolean | 'auto';
  /** Lower-case header name (Node lower-cases incoming header names), or `undefined` for none. */
  readonly tenantHeader: string | undefined;
  readonly actor: ActorResolver;
}

// Not in DEFAULTS: not a literal its TSDoc can name ("every route").
const EVERY_ROUTE: KeelContextRoute = { path: '{*path}', method: RequestMethod.ALL };

const route = z.union([
  z.string().min(1),
  z.object({
    path: z.string().min(1),
    method: z.enum(RequestMethod, {
      error: 'must be a RequestMethod from @nestjs/common (RequestMethod.GET, RequestMethod.ALL…)',
    }),
  }),
]);

const schema = z
  .object({
    tenantHeader: z
      .union([
        z.literal(false),
        z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name'),
      ])
      .optional(),
    actor: z
      .custom<ActorResolver>((value) => typeof value === 'function', 'must be a function')
      .optional(),
    routes: z.array(route).optional(),
    exclude: z.array(route).optional(),
    interceptor: z.union([z.boolean(), z.literal('auto')]).optional(),
  })
  .strict();

/**
 * Validates `forRoot({ context })` and applies the defaults.
 * @throws KeelConfigError with one line per problem.
 * @internal
 */
export function resolveRequestContextSettings(
  options: KeelCoreOptions['context'],
): RequestContextSettings {
  if (options === false) {
    return { http: undefined, interceptor: false, tenantHeader: undefined, actor: defaultActor };
  }
  const given = parseConfigSection(schema, options ?? {}, 'KeelCoreModule.context', 'forRoot');
  const routes = given.routes ?? [EVERY_ROUTE];
  const tenantHeader = given.tenantHeader ?? DEFAULTS.context.tenantHeader;
  return {
    http:
      routes.length === 0
        ? undefined
        : {
            routes: routes as KeelContextRoute[],
            exclude: (given.exclude ?? []) as KeelContextRoute[],
          },
    interceptor: given.interceptor ?? DEFAULTS.context.interceptor,
    tenantHeader: tenantHeader === false ? undefined : tenantHeader.toLowerCase(),
    actor: given.actor ?? defaultActor,
  };
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
