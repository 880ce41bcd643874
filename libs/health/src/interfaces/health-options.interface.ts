/**
 * Options of `HealthModule.forRoot()`.
 * @publicApi
 */
export interface HealthModuleOptions {
  /**
   * Time limit of each readiness check; a check that takes longer is reported `down`.
   * @default KEEL_HEALTH_TIMEOUT_MS, else 1000
   */
  readonly timeoutMs?: number;
  /**
   * Check the TypeORM `DataSource` (a `SELECT 1`): `'auto'` when one is provided in the
   * application, `true` to require one, `false` never.
   * @default 'auto'
   */
  readonly database?: boolean | 'auto';
  /**
   * Ping Keel's Redis connections: `'auto'` when Keel is configured with Redis.
   * @default 'auto'
   */
  readonly redis?: boolean | 'auto';
}
