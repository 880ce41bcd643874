import { KeelDecoratorError, KeyTemplateValueError } from '../core.errors.js';
import {
  keyFunctionResult,
  keyTemplateBrace,
  keyTemplateInvalid,
  keyValueLoneSurrogate,
  keyValueUnusable,
  placeholderInvalid,
} from '../core.messages.js';

/**
 * A key template: `'order:{orderId}'` names a parameter, `'{dto.customer.id}'` a path into one,
 * `'{0}'` / `'{0.id}'` a position; or a function of the call's arguments. Placeholder values are
 * escaped; a function's result is used as given, so escape what it takes from input with
 * {@link escapeKeyValue}.
 * @publicApi
 */
export type KeyTemplate = string | ((...args: never[]) => string);

/** Builds a key from a call's arguments. @internal */
export type KeyBuilder = (args: readonly unknown[]) => string;

/** Where a template is used, for error messages. @internal */
export interface KeyTemplateSite {
  readonly className: string;
  readonly methodName: string;
  /** Parameter names of the method, `undefined` for destructured ones. */
  readonly parameterNames: readonly (string | undefined)[];
  /** What the template is for, e.g. `@WithLock key`. */
  readonly usage?: string;
}

type Segment =
  string | { readonly index: number; readonly path: readonly string[]; readonly raw: string };

const PLACEHOLDER = /\{([^{}]*)\}/g;
const PATH_PART = /^[A-Za-z_$][\w$]*$|^\d+$/;

/**
 * Compiles a key template once, at bootstrap. Unknown placeholders fail here, with the class,
 * method and placeholder named, so a typo never reaches the first call.
 *
 * Placeholder values are escaped with {@link escapeKeyValue} (percent-encoding of the UTF-8 bytes
 * of every code point but `[A-Za-z0-9_.~-]`), so user input such as `"1:admin"` cannot forge
 * another key: `order:{id}` with that id becomes `order:1%3Aadmin`. A function-form template's
 * result is used as given (only checked to be a non-empty string): escape the values it takes
 * from input with {@link escapeKeyValue}.
 *
 * @throws KeelDecoratorError when the template is malformed or names an unknown parameter.
 * @internal
 */
export function compileKeyTemplate(template: KeyTemplate, site: KeyTemplateSite): KeyBuilder {
  const where = `${site.className}.${site.methodName}${site.usage ? ` (${site.usage})` : ''}`;
  if (typeof template === 'function') {
    const fn = template as (...args: unknown[]) => unknown;
    return (args) => {
      const key = fn(...args);
      if (typeof key !== 'string' || key === '') {
        throw new KeyTemplateValueError(keyFunctionResult({ where, got: describe(key) }));
      }
      return key;
    };
  }
  if (typeof template !== 'string' || template === '') {
    throw new KeelDecoratorError(keyTemplateInvalid({ where }));
  }
  const segments: Segment[] = [];
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    if (match.index > last) segments.push(template.slice(last, match.index));
    segments.push(resolvePlaceholder(match[1].trim(), site, where, template));
    last = match.index + match[0].length;
  }
  if (last < template.length) segments.push(template.slice(last));
  const stray = segments.find((s) => typeof s === 'string' && /[{}]/.test(s));
  if (stray !== undefined) {
    throw new KeelDecoratorError(keyTemplateBrace({ where, template }));
  }
  if (segments.every((s) => typeof s === 'string')) {
    return () => template;
  }
  return (args) => {
    let key = '';
    for (const segment of segments) {
      if (typeof segment === 'string') {
        key += segment;
        continue;
      }
      let value: unknown = args[segment.index];
      for (const part of segment.path) {
        value =
          value === null || value === undefined
            ? undefined
            : (value as Record<string, unknown>)[part];
      }
      key += escapeKeyValue(value, segment.raw, where);
    }
    return key;
  };
}

function resolvePlaceholder(
  raw: string,
  site: KeyTemplateSite,
  where: string,
  template: string,
): Segment {
  const parts = raw.split('.');
  if (raw === '' || !parts.every((p) => PATH_PART.test(p))) {
    throw new KeelDecoratorError(
      placeholderInvalid({ where, raw, template, problem: { kind: 'syntax' } }),
    );
  }
  const [head, ...path] = parts;
  if (/^\d+$/.test(head)) {
    const index = Number(head);
    if (index >= Math.max(site.parameterNames.length, 1) && !hasRest(site)) {
      const problem = { kind: 'position', index, declared: site.parameterNames.length } as const;
      throw new KeelDecoratorError(placeholderInvalid({ where, raw, template, problem }));
    }
    return { index, path, raw };
  }
  const index = site.parameterNames.indexOf(head);
  if (index === -1) {
    const known = site.parameterNames.filter((n): n is string => n !== undefined);
    throw new KeelDecoratorError(
      placeholderInvalid({ where, raw, template, problem: { kind: 'name', known } }),
    );
  }
  return { index, path, raw };
}

function hasRest(site: KeyTemplateSite): boolean {
  return site.parameterNames.length > 0 && site.parameterNames.at(-1) === undefined;
}

/** Everything but RFC 3986's unreserved characters, one code point at a time (`u` flag). */
const NEEDS_ESCAPE = /[^A-Za-z0-9_.~-]/gu;
/** With the `u` flag a surrogate code unit matches only when it is not half of a pair. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * Escapes one value for use inside a key, exactly as key templates escape their placeholders:
 * percent-encoding of the UTF-8 bytes of every code point outside `[A-Za-z0-9_.~-]`. The result
 * is `encodeURIComponent`'s except that `!'()*` are escaped too, so `decodeURIComponent` gives the value back: two
 * different values never give the same key, and an escaped value never contains `:`, `{` or `}`
 * (it cannot forge another key or move a Redis Cluster hash tag).
 *
 * Use it in function-form templates, whose result Keel uses as given:
 * `@WithLock((dto: Dto) => \`stock:${escapeKeyValue(dto.sku)}\`)`.
 *
 * Only non-empty strings, finite numbers, bigints and booleans make keys: `undefined` or an
 * object would silently collapse many calls onto one key. A string with a lone surrogate (half of
 * a UTF-16 pair, e.g. from a JSON body with `"\ud83d"`) is not text and is refused too: encoding
 * it as U+FFFD would give it the key of every other such string.
 *
 * @param value the value to escape.
 * @param placeholder the placeholder it fills, for the error message (templates pass it).
 * @param where the class and method, for the error message (templates pass it).
 * @throws KeyTemplateValueError when the value cannot make a key.
 * @example
 * ```ts
 * escapeKeyValue('1:admin'); // '1%3Aadmin'
 * escapeKeyValue('😀'); // '%F0%9F%98%80'
 * ```
 * @publicApi
 */
export function escapeKeyValue(value: unknown, placeholder?: string, where?: string): string {
  switch (typeof value) {
    case 'string': {
      if (value === '') break;
      const lone = LONE_SURROGATE.exec(value);
      if (lone !== null) {
        const unit = value.charCodeAt(lone.index).toString(16).toUpperCase();
        throw new KeyTemplateValueError(
          keyValueLoneSurrogate({ subject: subject(placeholder, where), unit, index: lone.index }),
        );
      }
      return value.replace(NEEDS_ESCAPE, percentEncode);
    }
    case 'number':
      if (!Number.isFinite(value)) break;
      return String(value);
    case 'bigint':
    case 'boolean':
      return String(value);
  }
  throw new KeyTemplateValueError(
    keyValueUnusable({
      subject: subject(placeholder, where),
      placeholder: placeholder !== undefined,
      got: describe(value),
    }),
  );
}

/** Who has the bad value: a template's placeholder, or the caller of escapeKeyValue(). */
function subject(placeholder: string | undefined, where: string | undefined): string {
  if (placeholder === undefined) return 'escapeKeyValue: got';
  return `${where ?? 'escapeKeyValue'}: placeholder '{${placeholder}}' has`;
}

function percentEncode(ch: string): string {
  return Array.from(
    Buffer.from(ch, 'utf8'),
    (b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
  ).join('');
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string') return value === '' ? 'an empty string' : 'a string';
  if (typeof value === 'number') return String(value);
  return `a value of type ${Array.isArray(value) ? 'array' : typeof value}`;
}
