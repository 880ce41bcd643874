/**
 * Options of `HealthModule.forRoot()`. Every option may also come from the YAML section `health`
 * (`health.timeoutMs: 500`); `timeoutMs` also from `KEEL_HEALTH_TIMEOUT_MS`. Precedence, per key:
 * `forRoot` > environment > YAML > default.
 * @publicApi
 */
export interface HealthModuleOptions {
  /**
   * Time limit of each readiness check, in milliseconds (10 to 60000); a check that takes longer
   * is reported `down`. Environment variable: `KEEL_HEALTH_TIMEOUT_MS`.
   * @default 1000
   */
  readonly timeoutMs?: number;
  /**
   * Check the TypeORM `DataSource` (through Terminus' `TypeOrmHealthIndicator`, which needs
   * `@nestjs/typeorm`): `'auto'` when one is provided in the application, `true` to require one
   * (startup fails without it), `false` never.
   * @default 'auto'
   */
  readonly database?: boolean | 'auto';
  /**
   * Ping Keel's Redis connection: `'auto'` when `KeelCoreModule` has Redis, `true` to require it
   * (startup fails when Keel has no Redis), `false` never.
   * @default 'auto'
   */
  readonly redis?: boolean | 'auto';
}

/**
 * Route options, fixed when the module is imported because Nest routes are static: given to
 * `forRoot()` and `forRootAsync()` beside the options, never read from YAML or the environment.
 * @publicApi
 */
export interface HealthModuleExtras {
  /** Path of the health endpoints (`/<path>/live`, `/<path>/ready`). @default 'health' */
  readonly path?: string;
  /** Path of the Prometheus endpoint, or `false` for none. @default 'metrics' */
  readonly metricsPath?: string | false;
}

/** The settings in force, after options, environment, YAML and defaults. @internal */
export interface HealthSettings {
  readonly timeoutMs: number;
  /** Whether Keel's Redis is pinged ('auto' resolved against KeelCoreModule's Redis). */
  readonly redis: boolean;
  /** 'auto' is resolved at startup, when the application's providers are known. */
  readonly database: boolean | 'auto';
  /** Where `database` came from (`HealthModule.database (forRoot)`…), for startup messages. */
  readonly databaseSource: string;
}
