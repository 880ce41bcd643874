import type { KeelConfig } from '../config/keel-config.js';
import type { KeelMetricsOptions } from '../metrics/keel-metrics.js';
import type { KeelRedisOptions } from '../redis/redis.interfaces.js';

/**
 * Options of `KeelCoreModule.forRoot()`. Anything left out comes from the environment and the
 * YAML file (see the configuration reference), then from defaults.
 * @publicApi
 */
export interface KeelCoreOptions {
  /** Service name. @default KEEL_SERVICE_NAME, else 'keel-service' */
  readonly serviceName?: string;
  /**
   * Redis for the stores that support it. `false` forces the embedded in-memory stores even when
   * `REDIS_URL` is set.
   * @default REDIS_URL when set, else the in-memory stores
   */
  readonly redis?: KeelRedisOptions | false;
  /** Prefix of every Redis key Keel writes. @default 'keel:' */
  readonly redisKeyPrefix?: string;
  /** Metrics options. */
  readonly metrics?: KeelMetricsOptions;
  /** How the request context is filled from HTTP requests. */
  readonly context?: {
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
  };
  /**
   * Configuration already loaded with `loadKeelConfig()`. When absent, the module loads it from
   * the environment and `KEEL_CONFIG`.
   */
  readonly config?: KeelConfig;
}

/** The core configuration in force, after options, environment, YAML and defaults. @publicApi */
export interface KeelCoreSettings {
  readonly serviceName: string;
  /** Redis to use, or `undefined` for the embedded in-memory stores. */
  readonly redis: KeelRedisOptions | undefined;
  readonly redisKeyPrefix: string;
  readonly config: KeelConfig;
}
