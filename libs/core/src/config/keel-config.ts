import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { KeelConfigError } from '../core.errors.js';
// Read when loading, never at module evaluation: core.settings.ts imports this file too.
import { CONFIG_DEFAULTS } from '../core.settings.js';
import { envFromConfigSource, type KeelConfigSource } from './config-service.js';
import { redisKeyPrefixSchema, redisUrlSchema, serviceNameSchema } from './value-schemas.js';
import { keelZodErrorMap } from './zod-messages.js';
import {
  configFileNotMapping,
  configFileNotYaml,
  configFileUnreadable,
  emptyVariable,
  sectionNotMapping,
  unknownSection,
  unknownVariable,
} from '../core.messages.js';

/**
 * Keel's resolved configuration: environment variables over the optional YAML file
 * (`KEEL_CONFIG=path`) over defaults. Module sections (`coordination`, `locks`, ...) are kept as
 * given and validated by their modules with {@link parseConfigSection}.
 * @publicApi
 */
export interface KeelConfig {
  /** Service name, used in metrics labels, registry records and logs. @default 'keel-service' */
  readonly serviceName: string;
  /** Redis URL; when absent, stores use the embedded in-memory backend. */
  readonly redisUrl?: string;
  /** Prefix of every Redis key Keel writes. @default 'keel:' */
  readonly redisKeyPrefix: string;
  /** PostgreSQL URL for the audit store and database health. */
  readonly databaseUrl?: string;
  /** Kafka bootstrap brokers; when absent, messaging is disabled. */
  readonly kafkaBrokers?: readonly string[];
  /** HTTP port of the application. @default 3000 */
  readonly port: number;
  /** Collect prom-client's default process metrics. @default false */
  readonly defaultMetrics: boolean;
  /** The YAML file read, if any. */
  readonly file?: string;
  /** Module sections from the YAML file (`coordination`, `locks`, `registry`, `health`, ...). */
  readonly sections: Readonly<Record<string, unknown>>;
  /**
   * The `KEEL_<SECTION>_*` variables of module sections (`KEEL_LOCKS_TTL_MS`...), left for each
   * module to validate: only the module knows its own keys.
   */
  readonly moduleEnv?: Readonly<Record<string, string>>;
}

/** One documented environment variable. @internal */
interface EnvVariable {
  readonly name: string;
  readonly path: readonly string[];
  readonly description: string;
}

/**
 * Every environment variable `@keel/core` reads, with its YAML path. Module variables
 * (`KEEL_HEALTH_TIMEOUT_MS`, `KEEL_LOCKS_*`…) are declared by each module's settings spec and
 * validated by the module; the README's configuration table lists both.
 * @publicApi
 */
export const KEEL_ENV_VARIABLES: readonly EnvVariable[] = [
  { name: 'KEEL_CONFIG', path: [], description: 'Path of an optional YAML configuration file.' },
  { name: 'KEEL_SERVICE_NAME', path: ['service', 'name'], description: 'Service name.' },
  { name: 'REDIS_URL', path: ['redis', 'url'], description: 'Redis URL (alias KEEL_REDIS_URL).' },
  { name: 'KEEL_REDIS_URL', path: ['redis', 'url'], description: 'Redis URL.' },
  { name: 'KEEL_REDIS_KEY_PREFIX', path: ['redis', 'keyPrefix'], description: 'Redis key prefix.' },
  {
    name: 'DATABASE_URL',
    path: ['database', 'url'],
    description: 'PostgreSQL URL (alias KEEL_DATABASE_URL).',
  },
  { name: 'KEEL_DATABASE_URL', path: ['database', 'url'], description: 'PostgreSQL URL.' },
  {
    name: 'KAFKA_BROKERS',
    path: ['kafka', 'brokers'],
    description: 'Kafka brokers (alias KEEL_KAFKA_BROKERS).',
  },
  {
    name: 'KEEL_KAFKA_BROKERS',
    path: ['kafka', 'brokers'],
    description: 'Kafka brokers, comma-separated.',
  },
  { name: 'PORT', path: ['http', 'port'], description: 'HTTP port (alias KEEL_PORT).' },
  { name: 'KEEL_PORT', path: ['http', 'port'], description: 'HTTP port.' },
  {
    name: 'KEEL_METRICS_DEFAULT',
    path: ['metrics', 'defaultMetrics'],
    description: 'Process metrics on/off.',
  },
];

const booleanString = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');

const integerString = (min: number, max: number) => {
  const accepted = `must be a whole number from ${min} to ${max}`;
  return z
    .union([z.number(), z.string().regex(/^\d+$/, accepted)], { error: accepted })
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
};

const databaseUrl = z
  .string()
  .refine((v) => /^postgres(ql)?:\/\//.test(v) && URL.canParse(v), 'must be a postgres:// URL');

const brokers = z
  .union([z.string(), z.array(z.string())], {
    error: 'must be a comma-separated host:port list, or a list of host:port strings',
  })
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((b) => b.trim()).filter(Boolean))
  .pipe(
    z
      .array(z.string().regex(/^[^\s:/]+:\d{1,5}$/, 'each broker must be host:port'))
      .min(1, 'must name at least one broker'),
  );

const CoreSchema = z.object({
  service: z
    .object({
      name: serviceNameSchema.optional(),
    })
    .strict()
    .optional(),
  redis: z
    .object({ url: redisUrlSchema.optional(), keyPrefix: redisKeyPrefixSchema.optional() })
    .strict()
    .optional(),
  database: z.object({ url: databaseUrl.optional() }).strict().optional(),
  kafka: z.object({ brokers: brokers.optional() }).strict().optional(),
  http: z
    .object({ port: integerString(0, 65_535).optional() })
    .strict()
    .optional(),
  metrics: z.object({ defaultMetrics: booleanString.optional() }).strict().optional(),
});

const CORE_SECTIONS = new Set(['service', 'redis', 'database', 'kafka', 'http', 'metrics']);
/**
 * Module sections the YAML file may hold besides the core ones; each module validates its own,
 * and its `KEEL_<SECTION>_*` variables.
 */
const MODULE_SECTIONS = new Set([
  'coordination',
  'locks',
  'registry',
  'health',
  'audit',
  'messaging',
]);

/** Where configuration comes from. @publicApi */
export interface LoadKeelConfigOptions {
  /** Environment to read. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** YAML file; overrides `KEEL_CONFIG`. */
  readonly file?: string;
  /**
   * `@nestjs/config`'s `ConfigService` (or anything with `get(name)`): Keel's variables are taken
   * from it first, then from `env`, so a `.env` file, `load` factories and validated values that
   * `ConfigModule` holds configure Keel too. Use it in `KeelCoreModule.forRootAsync({ inject:
   * [ConfigService], useFactory: (configService) => ({ config: loadKeelConfig({ configService
   * }) }) })`.
   */
  readonly configService?: KeelConfigSource;
}

/**
 * Reads and validates Keel's configuration. Every problem is reported, one line each, naming
 * the variable or YAML key. Values are trimmed; a variable set but empty (or blank) is a problem,
 * never read as unset.
 *
 * @throws KeelConfigError listing every invalid value.
 * @publicApi
 */
export function loadKeelConfig(options: LoadKeelConfigOptions = {}): KeelConfig {
  const problems: string[] = [];
  const env =
    options.configService === undefined
      ? (options.env ?? process.env)
      : envFromConfigSource({
          source: options.configService,
          env: options.env ?? process.env,
          known: KEEL_ENV_VARIABLES.map((v) => v.name),
          problems,
        });
  const values = readVariables(env, problems);
  const file = options.file ?? values.get('KEEL_CONFIG');
  const yamlRoot = file === undefined ? {} : readYaml(file, problems);
  const core = coreSectionsOf(yamlRoot, file, problems);
  const moduleEnv = moduleVariablesOf(env, problems);
  applyCoreVariables(values, core);
  const data = parseCoreSections(core, problems);
  if (problems.length > 0 || data === undefined) throw new KeelConfigError(problems);
  const sections: Record<string, unknown> = {};
  for (const section of MODULE_SECTIONS) {
    if (yamlRoot[section] !== undefined) sections[section] = yamlRoot[section];
  }
  return {
    serviceName: data.service?.name ?? CONFIG_DEFAULTS.serviceName,
    redisUrl: data.redis?.url,
    redisKeyPrefix: data.redis?.keyPrefix ?? CONFIG_DEFAULTS.redisKeyPrefix,
    databaseUrl: data.database?.url,
    kafkaBrokers: data.kafka?.brokers,
    port: data.http?.port ?? CONFIG_DEFAULTS.port,
    defaultMetrics: data.metrics?.defaultMetrics ?? CONFIG_DEFAULTS.defaultMetrics,
    file,
    sections,
    moduleEnv,
  };
}

/** Core's sections before validation, and where each key came from (for problem lines). */
interface CoreSectionsDraft {
  readonly merged: Record<string, Record<string, unknown>>;
  readonly sources: Map<string, string>;
}

/** The YAML file's core sections; an unknown section or one that is not a mapping is a problem. */
function coreSectionsOf(
  yamlRoot: Record<string, unknown>,
  file: string | undefined,
  problems: string[],
): CoreSectionsDraft {
  for (const key of Object.keys(yamlRoot)) {
    if (!CORE_SECTIONS.has(key) && !MODULE_SECTIONS.has(key)) {
      problems.push(unknownSection({ key, file, known: [...CORE_SECTIONS, ...MODULE_SECTIONS] }));
    }
  }
  const draft: CoreSectionsDraft = { merged: {}, sources: new Map() };
  for (const section of CORE_SECTIONS) {
    const value = yamlRoot[section];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'object' || Array.isArray(value)) {
      problems.push(sectionNotMapping({ section, file }));
      continue;
    }
    draft.merged[section] = { ...(value as Record<string, unknown>) };
    for (const key of Object.keys(value))
      draft.sources.set(`${section}.${key}`, `${section}.${key} (${file})`);
  }
  return draft;
}

/**
 * The `KEEL_<SECTION>_*` variables of module sections, trimmed, for their modules to validate;
 * any other unknown `KEEL_*` variable, and an empty module variable, is a problem.
 */
function moduleVariablesOf(
  env: Readonly<Record<string, string | undefined>>,
  problems: string[],
): Record<string, string> {
  const moduleEnv: Record<string, string> = {};
  for (const name of Object.keys(env)) {
    if (isModuleVariable(name)) {
      const raw = env[name];
      if (raw === undefined) continue;
      if (raw.trim() === '') problems.push(emptyVariable({ name }));
      else moduleEnv[name] = raw.trim();
      continue;
    }
    // KEEL_TEST_* belong to the test harness (scripts/test-services.mjs), not to applications.
    if (
      name.startsWith('KEEL_') &&
      !name.startsWith('KEEL_TEST_') &&
      !KEEL_ENV_VARIABLES.some((v) => v.name === name)
    ) {
      problems.push(unknownVariable({ name, known: KEEL_ENV_VARIABLES.map((v) => v.name) }));
    }
  }
  return moduleEnv;
}

/** Core's variables over the YAML values, each recorded as its key's source. */
function applyCoreVariables(values: ReadonlyMap<string, string>, draft: CoreSectionsDraft): void {
  // Aliases first so the KEEL_-prefixed spelling wins when both are set.
  for (const variable of KEEL_ENV_VARIABLES) {
    const value = values.get(variable.name);
    if (value === undefined || variable.path.length === 0) continue;
    const [section, key] = variable.path;
    draft.merged[section] = { ...draft.merged[section], [key]: value };
    draft.sources.set(`${section}.${key}`, variable.name);
  }
}

/** Validates core's sections; each problem names the variable or YAML key it came from. */
function parseCoreSections(
  { merged, sources }: CoreSectionsDraft,
  problems: string[],
): z.output<typeof CoreSchema> | undefined {
  const parsed = CoreSchema.safeParse(merged, { error: keelZodErrorMap });
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    const path = issue.path.map(String).join('.');
    const source = sources.get(issue.path.slice(0, 2).map(String).join('.')) ?? path;
    problems.push(`${source}: ${issue.message}${showValue(merged, issue.path)}`);
  }
  return undefined;
}

/** `KEEL_LOCKS_TTL_MS` and the like: validated by the module that owns the section. */
function isModuleVariable(name: string): boolean {
  for (const section of MODULE_SECTIONS) {
    if (name.startsWith(`KEEL_${section.toUpperCase()}_`)) return true;
  }
  return false;
}

/**
 * Validates one module's section of the configuration with its schema (zod or any schema with a
 * compatible `safeParse`), reporting every problem with its full key. Messages say what is
 * accepted ({@link keelZodErrorMap}) unless the schema sets its own.
 *
 * @throws KeelConfigError listing every invalid value.
 * @internal
 */
export function parseConfigSection<T>(
  schema: z.ZodType<T>,
  value: unknown,
  path: string,
  source = 'configuration',
): T {
  const parsed = schema.safeParse(value ?? {}, { error: keelZodErrorMap });
  if (parsed.success) return parsed.data;
  throw new KeelConfigError(
    parsed.error.issues.map((issue) => {
      const key = [path, ...issue.path.map(String)].filter(Boolean).join('.');
      return `${key} (${source}): ${issue.message}`;
    }),
  );
}

function readYaml(file: string, problems: string[]): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    problems.push(
      configFileUnreadable({ file, code: (error as NodeJS.ErrnoException).code ?? 'error' }),
    );
    return {};
  }
  try {
    const parsed: unknown = parseYaml(text);
    if (parsed === null || parsed === undefined) return {};
    if (typeof parsed !== 'object' || Array.isArray(parsed)) {
      problems.push(configFileNotMapping({ file }));
      return {};
    }
    return parsed as Record<string, unknown>;
  } catch (error) {
    problems.push(configFileNotYaml({ file, reason: (error as Error).message.split('\n')[0] }));
    return {};
  }
}

/**
 * The trimmed value of every Keel variable that is set. A variable set but empty (or blank) is
 * a problem, not "unset": it is usually a template whose source was missing (`REDIS_URL=${X}`
 * with X unset), and reading it as unset would fall back to a default without a word — for
 * REDIS_URL, to process-local locks on a whole fleet.
 */
function readVariables(
  env: Readonly<Record<string, string | undefined>>,
  problems: string[],
): Map<string, string> {
  const values = new Map<string, string>();
  for (const { name } of KEEL_ENV_VARIABLES) {
    const raw = env[name];
    if (raw === undefined) continue;
    if (raw.trim() === '') {
      problems.push(emptyVariable({ name }));
      continue;
    }
    values.set(name, raw.trim());
  }
  return values;
}

// Values are shown so a typo is obvious, but never for URLs: they may carry passwords.
function showValue(root: Record<string, unknown>, path: readonly PropertyKey[]): string {
  let value: unknown = root;
  for (const key of path) {
    // A path into a transformed value (kafka.brokers.0) ends at the raw string given.
    if (typeof value !== 'object' || value === null) break;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  if (typeof value === 'string' && !path.includes('url') && value.length <= 64)
    return ` (got '${value}')`;
  if (typeof value === 'number' || typeof value === 'boolean') return ` (got ${String(value)})`;
  return '';
}
