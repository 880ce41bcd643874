/**
 * What Keel's PostgreSQL stores need of `pg`, opened in one place: the audit store and the
 * messaging outbox both take either an application's TypeORM DataSource (whose pg pool they
 * share) or a URL (a small pool of their own). `pg` is an optional peer of those libs, which
 * import it themselves, only when a URL is given; core never loads it.
 */

/**
 * The pg pool inside an initialized TypeORM `postgres` DataSource (TypeORM keeps it as
 * `driver.master`), or `undefined` when the DataSource is not initialized or not postgres.
 * @internal
 */
export function dataSourcePgPool<Pool extends { connect(): unknown }>(dataSource: {
  readonly isInitialized: boolean;
}): Pool | undefined {
  const master = (dataSource as unknown as { driver?: { master?: Pool } }).driver?.master;
  return dataSource.isInitialized && typeof master?.connect === 'function' ? master : undefined;
}

/**
 * A new pool of `pg` (the module the caller imported: `pg` is the caller's optional peer, so it
 * is resolved from the caller's package) on `url`. An idle client that loses its connection
 * emits `error` on the pool, which would crash the process without a listener; the next query
 * reports the failure instead.
 * @internal
 */
export function createPgPool<Pool>(
  pg: { readonly default: { readonly Pool: new (config: object) => Pool } },
  options: { readonly url: string; readonly max: number },
): Pool {
  const pool = new pg.default.Pool({ connectionString: options.url, max: options.max });
  (pool as unknown as { on(event: 'error', listener: () => void): void }).on(
    'error',
    () => undefined,
  );
  return pool;
}
