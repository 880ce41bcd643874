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
