import type { z } from 'zod';

/** The parts of a zod 4 schema definition these messages read. */
interface SchemaDef {
  readonly type: string;
  readonly innerType?: z.core.$ZodType;
  readonly in?: z.core.$ZodType;
  readonly out?: z.core.$ZodType;
  readonly values?: readonly unknown[];
  readonly entries?: Readonly<Record<string, unknown>>;
  readonly options?: readonly z.core.$ZodType[];
  readonly shape?: Readonly<Record<string, unknown>>;
  readonly element?: z.core.$ZodType;
  readonly checks?: readonly z.core.$ZodCheck[];
  readonly error?: (issue: never) => unknown;
}

/** The parts of a zod 4 check definition these messages read. */
interface CheckDef {
  readonly check: string;
  readonly value?: number | bigint;
  readonly inclusive?: boolean;
  readonly format?: string;
  readonly minimum?: number;
  readonly maximum?: number;
}

const defOf = (schema: z.core.$ZodType): SchemaDef => schema._zod.def as unknown as SchemaDef;
const checksOf = (schema: z.core.$ZodType): CheckDef[] =>
  (defOf(schema).checks ?? []).map((check) => check._zod.def as unknown as CheckDef);

/** Wrappers that accept what their inner schema accepts. */
const WRAPPERS = new Set([
  'optional',
  'nullable',
  'default',
  'prefault',
  'nonoptional',
  'readonly',
  'catch',
  'lazy',
  'promise',
]);

/**
 * What a zod schema accepts, in words a configuration file's author reads: `one of: memory,
 * redis`, `a whole number from 1 to 1000`, `a mapping with keys ms, signalInContext`. Unions list
 * every option; schemas given their own message (`z.custom(fn, 'must be a function')`) are
 * described by it.
 *
 * @example describeAccepted(z.enum(['count', 'time'])) // 'one of: count, time'
 * @publicApi
 */
export function describeAccepted(schema: z.core.$ZodType): string {
  const def = defOf(schema);
  if (WRAPPERS.has(def.type) && def.innerType) return describeAccepted(def.innerType);
  switch (def.type) {
    case 'pipe':
      // A transform accepts anything: what the pipe accepts is what its input side does.
      return defOf(def.in!).type === 'transform'
        ? describeAccepted(def.out!)
        : describeAccepted(def.in!);
    case 'literal':
    case 'enum':
    case 'boolean':
      return describeValues(valuesOf(schema)!);
    case 'number':
      return describeNumber(schema);
    case 'string':
      return ownMessage(def) ?? checkMessage(schema) ?? describeString(schema);
    case 'array':
      return `a list (each ${describeAccepted(def.element!)})`;
    case 'object':
      return `a mapping with keys ${Object.keys(def.shape ?? {}).join(', ')}`;
    case 'record':
      return 'a mapping';
    case 'union':
      return describeUnion(def.options ?? []);
    case 'null':
      return 'null';
    default:
      return ownMessage(def) ?? (def.type === 'custom' ? 'a valid value' : `a ${def.type}`);
  }
}

/**
 * The schema of the value at `path` (`'fleet.flushIntervalMs'`) inside an object schema, looking
 * through optional, default and similar wrappers; undefined when the path leaves the shape.
 * @internal
 */
export function schemaAt(schema: z.core.$ZodType, path: string): z.core.$ZodType | undefined {
  let node: z.core.$ZodType | undefined = schema;
  for (const key of path.split('.')) {
    node = unwrap(node);
    const shape: Readonly<Record<string, unknown>> | undefined = node && defOf(node).shape;
    node = shape?.[key] as z.core.$ZodType | undefined;
    if (node === undefined) return undefined;
  }
  return node;
}

function unwrap(schema: z.core.$ZodType | undefined): z.core.$ZodType | undefined {
  let node = schema;
  while (node !== undefined) {
    const def = defOf(node);
    if (WRAPPERS.has(def.type) && def.innerType) node = def.innerType;
    else if (def.type === 'pipe' && def.in) node = def.in;
    else break;
  }
  return node;
}

/**
 * Zod error map for configuration schemas: every message says what is accepted — enums and
 * literals list their values, unions list each option, numbers give their range, strict objects
 * list their known keys. Messages a schema sets itself (`.regex(re, 'must be …')`) still win.
 * Pass it per parse, so an application's own zod setup is untouched:
 *
 * @example
 * ```ts
 * const parsed = schema.safeParse(value, { error: keelZodErrorMap });
 * ```
 * @publicApi
 */
export const keelZodErrorMap: z.core.$ZodErrorMap = (issue) => {
  const schema = (issue.schema ?? issue.inst) as z.core.$ZodType | undefined;
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) {
        return schema ? `is required: ${describeAccepted(schema)}` : 'is required';
      }
      return `must be ${schema ? describeAccepted(schema) : expectedType(issue.expected)}`;
    case 'too_small':
    case 'too_big':
      return sizeMessage(issue, schema);
    case 'invalid_value':
      return `must be ${describeValues(issue.values)}`;
    case 'invalid_union':
      return schema ? `must be ${describeAccepted(schema)}${unionDetail(issue.errors)}` : undefined;
    case 'unrecognized_keys': {
      const known = schema ? Object.keys(defOf(schema).shape ?? {}) : [];
      const keys = issue.keys.map((k) => `'${k}'`).join(', ');
      return (
        `unknown key${issue.keys.length === 1 ? '' : 's'} ${keys}` +
        (known.length > 0 ? `; known: ${known.join(', ')}` : '')
      );
    }
    case 'invalid_key': {
      const inner = issue.issues.map((i) => i.message).join('; ');
      return `invalid key${inner ? `: ${inner}` : ''}`;
    }
    case 'invalid_format':
      return formatMessage(issue);
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    default:
      return undefined;
  }
};

/**
 * When exactly one option of a union got past its type check (the input is a mapping, but one of
 * its values is wrong), what that option found wrong: `; quorum.0: must be a Redis URL`.
 */
function unionDetail(errors: readonly (readonly z.core.$ZodIssue[])[]): string {
  const deeper = errors.filter(
    (issues) => issues.length > 0 && issues.every((i) => i.path.length > 0),
  );
  if (deeper.length !== 1) return '';
  return deeper[0].map((i) => `; ${i.path.map(String).join('.')}: ${i.message}`).join('');
}

function valuesOf(schema: z.core.$ZodType): unknown[] | undefined {
  const def = defOf(schema);
  if (WRAPPERS.has(def.type) && def.innerType) return valuesOf(def.innerType);
  if (def.type === 'literal') return [...(def.values ?? [])];
  if (def.type === 'enum') return Object.values(def.entries ?? {});
  if (def.type === 'boolean') return [true, false];
  return undefined;
}

function describeValues(values: readonly unknown[]): string {
  const shown = [...new Set(values.map(String))];
  return shown.length === 1 ? shown[0] : `one of: ${shown.join(', ')}`;
}

function describeUnion(options: readonly z.core.$ZodType[]): string {
  // Options that are fixed values (literals, enums, booleans) read best as one list.
  const values: unknown[] = [];
  const others: string[] = [];
  for (const option of options) {
    const optionValues = valuesOf(option);
    if (optionValues) values.push(...optionValues);
    else others.push(describeAccepted(option));
  }
  const parts = [...(values.length > 0 ? [describeValues(values)] : []), ...new Set(others)];
  if (parts.length <= 1) return parts[0] ?? 'a valid value';
  return `${parts.slice(0, -1).join(', ')}, or ${parts[parts.length - 1]}`;
}

function describeNumber(schema: z.core.$ZodType): string {
  const checks = checksOf(schema);
  const integer = checks.some((c) => c.check === 'number_format' && /int/.test(c.format ?? ''));
  const noun = integer ? 'a whole number' : 'a number';
  const lower = checks.find((c) => c.check === 'greater_than');
  const upper = checks.find((c) => c.check === 'less_than');
  if (lower?.inclusive && upper?.inclusive) return `${noun} from ${lower.value} to ${upper.value}`;
  const bounds = [
    lower ? `${lower.inclusive ? 'at least' : 'above'} ${lower.value}` : undefined,
    upper ? `${upper.inclusive ? 'at most' : 'below'} ${upper.value}` : undefined,
  ].filter(Boolean);
  return bounds.length > 0 ? `${noun}, ${bounds.join(' and ')}` : noun;
}

function describeString(schema: z.core.$ZodType): string {
  const checks = checksOf(schema);
  const min = checks.find((c) => c.check === 'min_length')?.minimum;
  const max = checks.find((c) => c.check === 'max_length')?.maximum;
  const prefix = checks.find((c) => c.check === 'string_format' && c.format === 'starts_with');
  const start = prefix ? ` starting with '${(prefix as { prefix?: string }).prefix}'` : '';
  if (min !== undefined && max !== undefined) {
    return `a string of ${min} to ${max} characters${start}`;
  }
  if (min !== undefined) {
    return `a string of at least ${min} character${min === 1 ? '' : 's'}${start}`;
  }
  if (max !== undefined) return `a string of at most ${max} characters${start}`;
  return `a string${start}`;
}

function sizeMessage(
  issue: z.core.$ZodRawIssue<z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig>,
  schema: z.core.$ZodType | undefined,
): string {
  if (schema && (issue.origin === 'number' || issue.origin === 'int')) {
    return `must be ${describeNumber(schema)}`;
  }
  const small = issue.code === 'too_small';
  const limit = small
    ? (issue as { minimum: number | bigint }).minimum
    : (issue as { maximum: number | bigint }).maximum;
  const bound = issue.exact ? 'exactly' : small ? 'at least' : 'at most';
  switch (issue.origin) {
    case 'string':
      return `must be ${bound} ${limit} character${limit === 1 ? '' : 's'} long`;
    case 'array':
    case 'set':
      return `must hold ${bound} ${limit} item${limit === 1 ? '' : 's'}`;
    default:
      return `must be ${bound} ${limit}`;
  }
}

function formatMessage(issue: z.core.$ZodRawIssue<z.core.$ZodIssueInvalidStringFormat>): string {
  const extra = issue as { prefix?: string; suffix?: string; includes?: string };
  switch (issue.format) {
    case 'regex':
      return `must match ${issue.pattern}`;
    case 'starts_with':
      return `must start with '${extra.prefix}'`;
    case 'ends_with':
      return `must end with '${extra.suffix}'`;
    case 'includes':
      return `must include '${extra.includes}'`;
    default:
      return `must be a valid ${issue.format}`;
  }
}

/**
 * The message a schema or check was given (`z.custom(fn, 'must be a function')`), as a noun
 * phrase.
 */
function ownMessage(def: { readonly error?: (issue: never) => unknown }): string | undefined {
  let message: unknown;
  try {
    message = def.error?.({ code: 'custom', input: undefined, path: [] } as never);
  } catch {
    return undefined;
  }
  if (typeof message === 'object' && message !== null) {
    message = (message as { message?: unknown }).message;
  }
  // Only "must be <what>" reads as a description of what is accepted.
  return typeof message === 'string' && message.startsWith('must be ')
    ? message.slice('must be '.length)
    : undefined;
}

/** The first message a check of the schema was given, e.g. a regex's `'must be 1–63 letters…'`. */
function checkMessage(schema: z.core.$ZodType): string | undefined {
  for (const check of defOf(schema).checks ?? []) {
    const message = ownMessage(check._zod.def as { error?: (issue: never) => unknown });
    if (message !== undefined) return message;
  }
  return undefined;
}

function expectedType(expected: string): string {
  switch (expected) {
    case 'int':
      return 'a whole number';
    case 'array':
      return 'a list';
    case 'object':
    case 'record':
      return 'a mapping';
    default:
      return `a ${expected}`;
  }
}
