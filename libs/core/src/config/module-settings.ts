import type { z } from 'zod';
import { KeelConfigError } from '../core.errors.js';
import type { KeelConfig } from './keel-config.js';
import { describeAccepted, keelZodErrorMap, schemaAt } from './zod-messages.js';
import { unknownModuleVariable } from '../core.messages.js';

/**
 * How an environment variable's text becomes a value before the module's schema validates it.
 * `list` splits on commas and drops empty items; `secret` is read as a string whose text a
 * problem never shows (a shared secret must not reach a log line).
 * @internal
 */
export type EnvValueKind = 'string' | 'integer' | 'number' | 'boolean' | 'list' | 'secret';

/**
 * What a lib declares once, in `<lib>.settings.ts`, so that every lib resolves its settings the
 * same way (see docs/lib-skeleton.md).
 * @internal
 */
export interface ModuleSettingsSpec<TOptions extends object> {
  /**
   * Section of the YAML file and infix of the environment variables: `'locks'` reads the YAML
   * section `locks:` and the variables `KEEL_LOCKS_*`.
   */
  readonly section: string;
  /** Module class name used in messages about `forRoot` options, e.g. `'LocksModule'`. */
  readonly moduleName: string;
  /** Schema of the `forRoot` options (every key optional). */
  readonly schema: z.ZodType<TOptions>;
  /** Schema of the YAML section, when it differs (YAML holds no functions or instances). */
  readonly yamlSchema?: z.ZodType<Partial<TOptions>>;
  /**
   * Keys that may also come from the environment, as dotted paths, with how their text is read:
   * `{ ttlMs: 'integer' }` reads `KEEL_LOCKS_TTL_MS`, `{ 'fleet.flushIntervalMs': 'integer' }`
   * reads `KEEL_COORDINATION_FLEET_FLUSH_INTERVAL_MS`.
   */
  readonly env?: Readonly<Record<string, EnvValueKind>>;
  /**
   * Frozen defaults: the single place a default is written. Each lib's settings spec checks that
   * the TSDoc `@default` of every option says the same.
   */
  readonly defaults: object;
  /** How two values of one key combine instead of the later replacing the earlier. */
  readonly combine?: Readonly<Record<string, (earlier: unknown, later: unknown) => unknown>>;
  /** Keys of the options that are module-definition extras, not settings (e.g. `isGlobal`). */
  readonly extras?: readonly string[];
}

/** One source of settings, lowest precedence first. */
interface Layer {
  readonly value: Record<string, unknown>;
}

/**
 * Resolves a module's settings with Keel's one precedence rule, **per key**: `forRoot` options
 * over environment variables over the YAML section over the lib's `DEFAULTS`. Nested plain
 * objects merge key by key; arrays, functions and class instances are replaced whole (unless the
 * spec says how to combine them). Every problem from every source is reported at once, one line
 * each, naming the key and where it came from.
 *
 * The result still needs the lib's own derived values (defaults computed from other keys) and
 * cross-key checks; the lib does those in its `resolve<Lib>Settings`, reporting problems through
 * {@link SettingsProblems}.
 *
 * @throws KeelConfigError listing every invalid value.
 * @internal
 */
export function resolveModuleSettings<TOptions extends object>(
  spec: ModuleSettingsSpec<TOptions>,
  options: TOptions | undefined,
  config: KeelConfig,
): TOptions {
  const problems: string[] = [];
  const yamlSource = config.file ?? 'YAML';
  const fromYaml = validate(
    spec.yamlSchema ?? spec.schema,
    config.sections[spec.section],
    (path) => `${[spec.section, ...path].join('.')} (${yamlSource})`,
    problems,
  );
  const envNames = envVariableNames(spec);
  const fromEnv = readEnv(spec, envNames, config, problems);
  const given = withoutExtras(options, spec.extras);
  const fromOptions = validate(
    spec.schema,
    given,
    (path) => `${[spec.moduleName, ...path].join('.')} (forRoot)`,
    problems,
  );
  if (problems.length > 0) throw new KeelConfigError(problems);
  const layers: Layer[] = [
    { value: spec.defaults as Record<string, unknown> },
    { value: fromYaml },
    { value: fromEnv },
    { value: fromOptions },
  ];
  let merged: Record<string, unknown> = {};
  for (const layer of layers) merged = mergeInto(merged, layer.value, '', spec.combine ?? {});
  return merged as TOptions;
}

/**
 * The environment variable read for each `env` key of a spec, e.g.
 * `{ ttlMs: 'KEEL_LOCKS_TTL_MS' }`. The configuration reference lists these.
 * @internal
 */
export function envVariableNames(
  spec: Pick<ModuleSettingsSpec<object>, 'section' | 'env'>,
): Readonly<Record<string, string>> {
  const names: Record<string, string> = {};
  for (const path of Object.keys(spec.env ?? {})) {
    names[path] = `KEEL_${screaming(spec.section)}_${path.split('.').map(screaming).join('_')}`;
  }
  return names;
}

/**
 * Where the value of `path` in force came from, named the way problems name their key:
 * `LocksModule.store (forRoot)`, `KEEL_LOCKS_STORE`, `locks.store (keel.yaml)`, or
 * `LocksModule.store (default)` — for a message about a resolved value (a cross-key rule, Redis
 * asked for but absent), which should send the reader to the source that set it.
 * @internal
 */
export function settingSource<TOptions extends object>(
  spec: ModuleSettingsSpec<TOptions>,
  options: TOptions | undefined,
  config: KeelConfig,
  path: string,
): string {
  const given = withoutExtras(options, spec.extras);
  if (valueAt(given, path) !== undefined) return `${spec.moduleName}.${path} (forRoot)`;
  const envName = envVariableNames(spec)[path];
  if (envName !== undefined && config.moduleEnv?.[envName] !== undefined) return envName;
  if (valueAt(config.sections[spec.section], path) !== undefined) {
    return `${spec.section}.${path} (${config.file ?? 'YAML'})`;
  }
  return `${spec.moduleName}.${path} (default)`;
}

function valueAt(root: unknown, path: string): unknown {
  let node = root;
  for (const key of path.split('.')) {
    if (!isPlainObject(node)) return undefined;
    node = node[key];
  }
  return node;
}

/**
 * Collects problems found after the merge (derived values, cross-key rules) so that they too are
 * reported together, in the same `key (source): problem` shape.
 * @internal
 */
export class SettingsProblems {
  private readonly lines: string[] = [];

  /** Records one problem about `key`, e.g. `add('RegistryModule.heartbeatMs', 'must be less than ttlMs')`. */
  add(key: string, problem: string): void {
    this.lines.push(`${key}: ${problem}`);
  }

  /** @throws KeelConfigError when any problem was recorded. */
  throwIfAny(): void {
    if (this.lines.length > 0) throw new KeelConfigError(this.lines);
  }
}

function validate(
  schema: z.ZodType<unknown>,
  value: unknown,
  label: (path: readonly string[]) => string,
  problems: string[],
): Record<string, unknown> {
  const parsed = schema.safeParse(value ?? {}, { error: keelZodErrorMap });
  if (parsed.success) return (parsed.data ?? {}) as Record<string, unknown>;
  for (const issue of parsed.error.issues) {
    problems.push(`${label(issue.path.map(String))}: ${issue.message}`);
  }
  return {};
}

function readEnv(
  spec: ModuleSettingsSpec<object>,
  names: Readonly<Record<string, string>>,
  config: KeelConfig,
  problems: string[],
): Record<string, unknown> {
  const env = config.moduleEnv ?? {};
  const prefix = `KEEL_${screaming(spec.section)}_`;
  const known = new Set(Object.values(names));
  for (const name of Object.keys(env)) {
    if (name.startsWith(prefix) && !known.has(name)) {
      problems.push(
        unknownModuleVariable({ name, moduleName: spec.moduleName, known: [...known] }),
      );
    }
  }
  const value: Record<string, unknown> = {};
  const sourceOf = new Map<string, string>();
  for (const [path, kind] of Object.entries(spec.env ?? {})) {
    const name = names[path];
    const text = env[name];
    if (text === undefined) continue;
    const parsed = parseEnvText(text, kind);
    if (!parsed.ok) {
      // The schema knows the range ("a whole number, at least 10"); the kind only the type.
      const target = kind === 'boolean' ? undefined : schemaAt(spec.schema, path);
      const accepted = target ? `must be ${describeAccepted(target)}` : parsed.problem;
      problems.push(`${name}: ${accepted} (got '${text}')`);
      continue;
    }
    setPath(value, path, parsed.value);
    sourceOf.set(path, name);
  }
  if (sourceOf.size === 0) return {};
  const parsed = spec.schema.safeParse(value, { error: keelZodErrorMap });
  if (parsed.success) return value;
  for (const issue of parsed.error.issues) {
    const path = issue.path.map(String).join('.');
    const name = sourceOf.get(path) ?? longestSource(sourceOf, path) ?? `${prefix}*`;
    // The text is shown as a failed parse shows it, so a typo is as obvious in range as in type.
    const secret = Object.entries(spec.env ?? {}).some(
      ([key, kind]) => kind === 'secret' && names[key] === name,
    );
    const shown = env[name] === undefined || secret ? '' : ` (got '${env[name]}')`;
    problems.push(`${name}: ${issue.message}${shown}`);
  }
  return {};
}

type Parsed = { ok: true; value: unknown } | { ok: false; problem: string };

function parseEnvText(text: string, kind: EnvValueKind): Parsed {
  switch (kind) {
    case 'string':
    case 'secret':
      return { ok: true, value: text };
    case 'integer':
      return /^-?\d+$/.test(text)
        ? { ok: true, value: Number(text) }
        : { ok: false, problem: 'must be a whole number' };
    case 'number':
      return text.trim() !== '' && Number.isFinite(Number(text))
        ? { ok: true, value: Number(text) }
        : { ok: false, problem: 'must be a number' };
    case 'boolean': {
      const lower = text.toLowerCase();
      if (['true', '1', 'yes'].includes(lower)) return { ok: true, value: true };
      if (['false', '0', 'no'].includes(lower)) return { ok: true, value: false };
      return { ok: false, problem: 'must be one of: true, false, 1, 0, yes, no' };
    }
    case 'list':
      return {
        ok: true,
        value: text
          .split(',')
          .map((item) => item.trim())
          .filter(Boolean),
      };
  }
}

function longestSource(sources: Map<string, string>, path: string): string | undefined {
  let best: string | undefined;
  for (const [key, name] of sources) {
    if (path.startsWith(`${key}.`) && (best === undefined || key.length > best.length)) best = name;
  }
  return best;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    node[key] = isPlainObject(next) ? next : {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
}

function withoutExtras(
  options: object | undefined,
  extras: readonly string[] = [],
): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options ?? {})) {
    if (value !== undefined && key !== 'isGlobal' && !extras.includes(key)) result[key] = value;
  }
  return result;
}

function mergeInto(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
  path: string,
  combine: Readonly<Record<string, (earlier: unknown, later: unknown) => unknown>>,
): Record<string, unknown> {
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const keyPath = path === '' ? key : `${path}.${key}`;
    const earlier = result[key];
    if (combine[keyPath] !== undefined && earlier !== undefined) {
      result[key] = combine[keyPath](earlier, value);
    } else if (isPlainObject(earlier) && isPlainObject(value)) {
      result[key] = mergeInto(earlier, value, keyPath, combine);
    } else {
      result[key] = isPlainObject(value) ? mergeInto({}, value, keyPath, combine) : value;
    }
  }
  return result;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function screaming(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toUpperCase();
}
