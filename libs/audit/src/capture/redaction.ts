import type { AuditJson } from '../audit-event.js';

/**
 * Keys whose values are never stored (OWASP Logging Cheat Sheet, "data to exclude"), compared
 * after {@link normalizeKey}: case-insensitive, `-` and `_` ignored, so `Set-Cookie`,
 * `set_cookie` and `setCookie` are one key. Exact keys, not substrings: `tokenCount` or
 * `sessionLength` stay readable.
 * @internal
 */
export const DEFAULT_REDACTED_KEYS: readonly string[] = [
  'password',
  'passwd',
  'pwd',
  'passphrase',
  'secret',
  'clientSecret',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'api_key',
  'apikey',
  'x-api-key',
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'session',
  'sessionid',
  'card',
  'cardnumber',
  'pan',
  'cvv',
  'cvc',
  'privateKey',
  'connectionString',
  'dsn',
  'databaseUrl',
];

/** What replaces a redacted value. @internal */
export const REDACTED = '[REDACTED]';
/** What replaces a reference to an object that is being serialised (a cycle). @internal */
export const CIRCULAR = '[Circular]';
const TOO_DEEP = '[Truncated]';
const MAX_DEPTH = 32;

/** Lowercase, without `-` and `_`: the form keys are compared in. @internal */
export function normalizeKey(key: string): string {
  return key.replace(/[-_]/g, '').toLowerCase();
}

/** The redaction rules in force, compiled once. @internal */
export interface RedactionRules {
  readonly keys: ReadonlySet<string>;
  /** Exact dotted paths from the event root: `data.args.0.pin`. */
  readonly paths: ReadonlySet<string>;
  readonly maxPayloadBytes: number;
}

/** Compiles the configured redaction options onto the defaults. @internal */
export function compileRedaction(options: {
  readonly keys: readonly string[];
  readonly paths: readonly string[];
  readonly maxPayloadBytes: number;
}): RedactionRules {
  return {
    keys: new Set([...DEFAULT_REDACTED_KEYS, ...options.keys].map(normalizeKey)),
    paths: new Set(options.paths),
    maxPayloadBytes: options.maxPayloadBytes,
  };
}

// C0 controls, DEL, and lone surrogates (PostgreSQL jsonb rejects \u0000 and lone surrogates;
// CR/LF would let a value forge lines in NDJSON files and logs).
const UNSAFE = new RegExp(
  // eslint-disable-next-line no-control-regex -- control characters are what it matches
  '[\\u0000-\\u001f\\u007f]|[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])|(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]',
  'g',
);

/**
 * A string safe to store: control characters written out as visible escapes (`\n`, `\u0000`),
 * lone surrogates replaced by U+FFFD. Returns the same string when nothing needs changing.
 * @internal
 */
export function neutralizeString(value: string): string {
  UNSAFE.lastIndex = 0;
  if (!UNSAFE.test(value)) return value;
  return value.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    if (code >= 0xd800) return '\uFFFD';
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * The payload as it is stored: JSON only (Dates as ISO strings, BigInts as strings, Maps as
 * objects, Sets as arrays, class instances as their own enumerable fields, cycles as
 * `'[Circular]'`), secrets masked, strings neutralised, and capped at `maxPayloadBytes` of JSON
 * (a larger payload is replaced by `{ truncated: true, originalBytes }`).
 * @internal
 */
export function redactPayload(
  data: Readonly<Record<string, unknown>> | undefined,
  rules: RedactionRules,
): { readonly [key: string]: AuditJson } | null {
  if (data === undefined || data === null) return null;
  const walker = new Walker(rules);
  const clean = walker.value(data, 'data', 0);
  const object: { [key: string]: AuditJson } =
    clean !== null && typeof clean === 'object' && !Array.isArray(clean)
      ? (clean as { [key: string]: AuditJson })
      : { value: clean };
  const bytes = Buffer.byteLength(JSON.stringify(object));
  if (bytes > rules.maxPayloadBytes) return { truncated: true, originalBytes: bytes };
  return object;
}

class Walker {
  private readonly ancestors: object[] = [];

  constructor(private readonly rules: RedactionRules) {}

  value(value: unknown, path: string, depth: number): AuditJson {
    switch (typeof value) {
      case 'string':
        return neutralizeString(value);
      case 'number':
        return Number.isFinite(value) ? value : null;
      case 'boolean':
        return value;
      case 'bigint':
        return value.toString();
      case 'object':
        return value === null ? null : this.object(value, path, depth);
      default:
        // undefined, functions, symbols: what JSON.stringify writes as null in an array.
        return null;
    }
  }

  private object(value: object, path: string, depth: number): AuditJson {
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
    if (this.ancestors.includes(value)) return CIRCULAR;
    if (depth >= MAX_DEPTH) return TOO_DEEP;
    if (ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
    this.ancestors.push(value);
    try {
      if (Array.isArray(value)) return this.array(value, path, depth);
      if (value instanceof Set) return this.array([...value], path, depth);
      if (value instanceof Map) return this.entries([...value], path, depth);
      if (value instanceof Error) {
        return this.entries(
          [
            ['name', value.name],
            ['message', value.message],
          ],
          path,
          depth,
        );
      }
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') {
        return this.value((toJSON as () => unknown).call(value), path, depth + 1);
      }
      return this.entries(Object.entries(value), path, depth);
    } finally {
      this.ancestors.pop();
    }
  }

  private array(items: readonly unknown[], path: string, depth: number): AuditJson[] {
    const out: AuditJson[] = new Array<AuditJson>(items.length);
    for (let i = 0; i < items.length; i++) {
      const itemPath = `${path}.${i}`;
      out[i] = this.rules.paths.has(itemPath)
        ? REDACTED
        : this.value(items[i], itemPath, depth + 1);
    }
    return out;
  }

  private entries(
    entries: readonly (readonly [unknown, unknown])[],
    path: string,
    depth: number,
  ): { [key: string]: AuditJson } {
    const out: { [key: string]: AuditJson } = {};
    for (const [rawKey, item] of entries) {
      if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
      const key = neutralizeString(String(rawKey));
      const itemPath = `${path}.${key}`;
      const clean =
        this.rules.keys.has(normalizeKey(key)) || this.rules.paths.has(itemPath)
          ? REDACTED
          : this.value(item, itemPath, depth + 1);
      // A '__proto__' key from parsed input must stay data, not become the prototype.
      if (key === '__proto__') {
        Object.defineProperty(out, key, { value: clean, enumerable: true, writable: true });
      } else {
        out[key] = clean;
      }
    }
    return out;
  }
}
