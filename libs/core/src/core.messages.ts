/**
 * Messages of `@keel/core` and the ones every lib shares, as small named factories (the
 * @nestjs/schedule `schedule.messages.ts` pattern): one place to read and reword them.
 * @internal
 */

/**
 * An option asks for Redis but `KeelCoreModule` has none. Every lib reports it with this text.
 * @example redisRequired({ key: "LocksModule.store (forRoot)", asked: "'redis'" })
 */
export function redisRequired(input: { readonly key: string; readonly asked: string }): string {
  return `${input.key}: ${input.asked} needs Redis, and none is configured; set REDIS_URL (or KEEL_REDIS_URL), pass KeelCoreModule.forRoot({ redis }), or leave the option out to use the embedded memory store`;
}

/** The startup line saying where Keel's stores live. */
export function storesLine(input: {
  readonly service: string;
  readonly target: string | undefined;
}): string {
  return `service '${input.service}': stores on ${
    input.target === undefined
      ? 'embedded memory (correct for one process only; set REDIS_URL for a fleet)'
      : `Redis ${input.target}`
  }`;
}

/** A Redis connection asked for after shutdown. */
export function redisClosed(): string {
  return 'Keel Redis connections are closed: the application shut down';
}

/** A metric name outside Keel's namespace. */
export function metricNamePrefix(input: {
  readonly prefix: string;
  readonly name: string;
}): string {
  return `Keel metric names start with '${input.prefix}': got '${input.name}'`;
}

/** The message of `KeelConfigError`: every problem, one line each. */
export function configInvalid(input: { readonly problems: readonly string[] }): string {
  const count = input.problems.length;
  return (
    `Invalid Keel configuration (${count} problem${count === 1 ? '' : 's'}):\n` +
    input.problems.map((p) => `  - ${p}`).join('\n')
  );
}

/** An invalid tenant id, quoted as JSON and truncated, so it is safe to log and send back. */
export function tenantInvalid(input: { readonly tenant: string }): string {
  const shown = input.tenant.length > 40 ? `${input.tenant.slice(0, 40)}…` : input.tenant;
  return (
    `tenant id ${JSON.stringify(shown)} is not valid: a tenant id is 1 to 128 characters of ` +
    'A-Z, a-z, 0-9, ".", "_" and "-". The work was refused rather than attributed to a tenant ' +
    'it may not belong to; send one valid tenant header (or none).'
  );
}
