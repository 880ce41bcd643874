import type { RequestMethod } from '@nestjs/common';
import type { KeelConfig } from '../config/keel-config.js';
import type { KeelRedisOptions } from '../redis/redis.interfaces.js';

/**
 * Options of `KeelCoreModule.forRoot()`. Anything left out comes from the environment and the
 * YAML file (see the configuration reference), then from defaults.
 * @publicApi
 */
export interface KeelCoreOptions {
  /**
   * Service name: a label of every metric, the name of registry records, and in logs. Left out,
   * `KEEL_SERVICE_NAME` or the YAML key `service.name` gives it.
   * @default 'keel-service'
   */
  readonly serviceName?: string;
  /**
   * Redis for the stores that support it. `false` forces the embedded in-memory stores even when
   * `REDIS_URL` is set.
   * @default REDIS_URL when set, else the in-memory stores
   */
  readonly redis?: KeelRedisOptions | false;
  /**
   * Prefix of every Redis key Keel writes. Left out, `KEEL_REDIS_KEY_PREFIX` or the YAML key
   * `redis.keyPrefix` gives it.
   * @default 'keel:'
   */
  readonly redisKeyPrefix?: string;
  /** Metrics options. */
  readonly metrics?: KeelMetricsOptions;
  /**
   * The request context: how it is filled, and where it is opened. `false` turns it off: no
   * middleware and no interceptor run on any request, and `RequestContext` reads `undefined`
   * except inside `RequestContext.run()`.
   * @default on for every HTTP route, and for microservice handlers when the app has any
   */
  readonly context?: KeelRequestContextOptions | false;
  /**
   * Configuration already loaded with `loadKeelConfig()`. When absent, the module loads it from
   * the environment and `KEEL_CONFIG`.
   */
  readonly config?: KeelConfig;
}

/** Options of Keel's metrics. @publicApi */
export interface KeelMetricsOptions {
  /** Labels added to every Keel metric, e.g. `{ service: 'orders' }`. */
  readonly defaultLabels?: Readonly<Record<string, string>>;
  /**
   * Also collect prom-client's default process metrics (CPU, memory, event loop lag, GC),
   * prefixed `keel_process_`, except the three gauges named `nodejs_active_*_total`: they break
   * Prometheus' naming rules and are the sums of `keel_process_nodejs_active_handles`,
   * `..._requests` and `..._resources` over their `type` label.
   * @default false
   */
  readonly defaultMetrics?: boolean;
}

/**
 * Extras of `KeelCoreModule.forRoot()` / `forRootAsync()`: known when the module is defined (also
 * for `forRootAsync`), which is when a global enhancer has to be registered or not.
 * @publicApi
 */
export interface KeelCoreModuleExtras {
  /**
   * Register {@link KeelExceptionFilter} globally, mapping every Keel error to its documented HTTP
   * status (and to an RPC error for microservice handlers). `false` leaves the mapping to you
   * (use the filter with `@UseFilters()`, or `keelErrorBody()` in your own filter).
   * @default true
   */
  readonly exceptionFilter?: boolean;
}

/**
 * A route of the request-context middleware, in Nest's middleware syntax: a path
 * (`'orders'`, `'orders/{*path}'`) or `{ path, method }`.
 * @publicApi
 */
export type KeelContextRoute = string | { readonly path: string; readonly method: RequestMethod };

/**
 * Options of the request context (`KeelCoreModule.forRoot({ context })`).
 *
 * @example
 * ```ts
 * // Only the API gets a context; health probes and metrics scrapes pay nothing for it.
 * KeelCoreModule.forRoot({ context: { routes: ['api/{*path}'], exclude: ['api/health'] } });
 * ```
 * @publicApi
 */
export interface KeelRequestContextOptions {
  /**
   * Header naming the tenant, or `false` for none. A present but invalid value (not 1 to 128
   * characters of `A-Z a-z 0-9 . _ -`) refuses the request or message with
   * `InvalidTenantError` (HTTP 400).
   * @default 'x-tenant-id'
   */
  readonly tenantHeader?: string | false;
  /** Reads the actor from the request. @default request.user.id / sub / username */
  readonly actor?: (request: {
    headers: Record<string, unknown>;
    user?: unknown;
  }) => string | undefined;
  /**
   * HTTP routes whose requests get a context (the middleware runs there only). `[]`: no HTTP
   * route does; microservice handlers still do (see `interceptor`).
   * @default every route
   */
  readonly routes?: readonly KeelContextRoute[];
  /** HTTP routes left out of `routes`: their requests get no context and no correlation header. */
  readonly exclude?: readonly KeelContextRoute[];
  /**
   * The global interceptor that opens the context for microservice handlers (`@MessagePattern`,
   * `@EventPattern`) and WebSocket gateways, from the message headers. HTTP requests never need
   * it (the middleware opens theirs), but a global interceptor sits on every route, so it costs
   * each HTTP request Nest's interceptor pipeline. `'auto'`: registered only when a controller
   * has a microservice handler or a provider is a WebSocket gateway; `true`: always; `false`:
   * never (a transport that opens the context itself, or handlers that need none).
   * @default 'auto'
   */
  readonly interceptor?: boolean | 'auto';
}

/** The core configuration in force, after options, environment, YAML and defaults. @publicApi */
export interface KeelCoreSettings {
  readonly serviceName: string;
  /** Redis to use, or `undefined` for the embedded in-memory stores. */
  readonly redis: KeelRedisOptions | undefined;
  readonly redisKeyPrefix: string;
  readonly config: KeelConfig;
}
