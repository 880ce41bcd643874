/**
 * Every message of `@keel/health`, as small named factories (the @nestjs/schedule
 * `schedule.messages.ts` pattern): one place to read and reword them. Health output never
 * carries credentials, so no factory takes a URL.
 * @internal
 */

/** The Redis connection is not ready (a health detail): `connection reconnecting`. */
export function redisNotReady(input: { readonly status: string }): string {
  return `connection ${input.status}`;
}

/** Redis answered PING with something else than PONG. */
export function unexpectedPingReply(input: { readonly reply: unknown }): string {
  const shown = JSON.stringify(input.reply) ?? String(input.reply);
  return `Redis answered PING with ${shown.length > 40 ? `${shown.slice(0, 40)}…` : shown} instead of PONG`;
}

/** The DataSource exists but is not connected (a health detail). */
export function dataSourceNotInitialized(): string {
  return 'not initialized';
}

/** `database: true` but typeorm cannot be imported. */
export function typeormMissing(input: { readonly source: string }): string {
  return `${input.source}: true needs typeorm, which is not installed; npm i typeorm @nestjs/typeorm, or set database: false`;
}

/** `database: true` but the application provides no DataSource. */
export function noDataSource(input: { readonly source: string }): string {
  return `${input.source}: true, but no TypeORM DataSource is provided; import TypeOrmModule.forRoot() (or provide a DataSource), or set database: false`;
}

/** A DataSource is there to check, but Terminus' TypeORM indicator cannot run without @nestjs/typeorm. */
export function nestTypeormMissing(input: {
  readonly source: string;
  readonly asked: string;
}): string {
  return `${input.source}: ${input.asked} checks the TypeORM DataSource with @nestjs/terminus' TypeOrmHealthIndicator, which needs @nestjs/typeorm; npm i @nestjs/typeorm, or set database: false`;
}

/** The debug line when the database check is on. */
export function databaseCheckEnabled(input: { readonly type: string }): string {
  return `database readiness check enabled (${input.type})`;
}
