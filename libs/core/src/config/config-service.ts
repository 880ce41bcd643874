import { configServiceValue } from '../core.messages.js';

/**
 * What Keel reads of `@nestjs/config`'s `ConfigService`: `get(name)`. Structural, so `@keel/core`
 * does not depend on `@nestjs/config`; a `ConfigService` is one.
 * @publicApi
 */
export interface KeelConfigSource {
  get(name: string): unknown;
}

/** What {@link envFromConfigSource} reads. @internal */
export interface ConfigSourceRead {
  readonly source: KeelConfigSource;
  /** The process environment (or the one given to `loadKeelConfig`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Core's variables (`KEEL_ENV_VARIABLES`), asked for even when `env` lacks them. */
  readonly known: readonly string[];
  /** Where a value Keel cannot read as text is reported. */
  readonly problems: string[];
}

/**
 * The environment Keel reads, seen through a `ConfigService`: every core variable and every
 * `KEEL_*` variable of `env`, each taken from the `ConfigService` when it has a value (its `.env`
 * file, `load` factories, validated values) and from `env` otherwise. Module variables
 * (`KEEL_HEALTH_TIMEOUT_MS`…) are found by name in `env`, where `ConfigModule.forRoot()` also
 * puts the `.env` file's values; one that only a `load` factory gives is not seen (a
 * `ConfigService` cannot list its keys).
 * @internal
 */
export function envFromConfigSource(read: ConfigSourceRead): Record<string, string | undefined> {
  const { source, env, problems } = read;
  const names = new Set([
    ...read.known,
    ...Object.keys(env).filter((name) => name.startsWith('KEEL_')),
  ]);
  const result: Record<string, string | undefined> = { ...env };
  for (const name of names) {
    const value = source.get(name);
    if (value === undefined || value === null) continue;
    const text = asText(value);
    if (text === undefined) {
      problems.push(configServiceValue({ name, value }));
      continue;
    }
    result[name] = text;
  }
  return result;
}

function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  if (
    Array.isArray(value) &&
    value.every((item) => asText(item) !== undefined && !Array.isArray(item))
  ) {
    return value.map((item) => asText(item)).join(',');
  }
  return undefined;
}
