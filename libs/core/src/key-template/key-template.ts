import { KeelDecoratorError, KeyTemplateValueError } from '../keel.errors.js';

/**
 * A key template: `'order:{orderId}'` names a parameter, `'{dto.customer.id}'` a path into one,
 * `'{0}'` / `'{0.id}'` a position; or a function of the call's arguments.
 * @publicApi
 */
export type KeyTemplate = string | ((...args: never[]) => string);

/** Builds a key from a call's arguments. */
export type KeyBuilder = (args: readonly unknown[]) => string;

/** Where a template is used, for error messages. */
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
 * Placeholder values are escaped (percent-encoding of everything but `[A-Za-z0-9_.~-]`), so user
 * input such as `"1:admin"` cannot forge another key: `order:{id}` with that id becomes
 * `order:1%3Aadmin`.
 *
 * @throws KeelDecoratorError when the template is malformed or names an unknown parameter.
 * @publicApi
 */
export function compileKeyTemplate(template: KeyTemplate, site: KeyTemplateSite): KeyBuilder {
  const where = `${site.className}.${site.methodName}${site.usage ? ` (${site.usage})` : ''}`;
  if (typeof template === 'function') {
    const fn = template as (...args: unknown[]) => unknown;
    return (args) => {
      const key = fn(...args);
      if (typeof key !== 'string' || key === '') {
        throw new KeyTemplateValueError(
          `${where}: the key function returned ${describe(key)}; it must return a non-empty string`,
        );
      }
      return key;
    };
  }
  if (typeof template !== 'string' || template === '') {
    throw new KeelDecoratorError(
      `${where}: a key template must be a non-empty string or a function`,
    );
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
    throw new KeelDecoratorError(`${where}: unbalanced brace in key template '${template}'`);
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
      `${where}: placeholder '{${raw}}' in key template '${template}' is not a parameter name, position or dotted path`,
    );
  }
  const [head, ...path] = parts;
  if (/^\d+$/.test(head)) {
    const index = Number(head);
    if (index >= Math.max(site.parameterNames.length, 1) && !hasRest(site)) {
      throw new KeelDecoratorError(
        `${where}: placeholder '{${raw}}' in key template '${template}' refers to argument ${index}, but the method declares ${site.parameterNames.length} parameter(s)`,
      );
    }
    return { index, path, raw };
  }
  const index = site.parameterNames.indexOf(head);
  if (index === -1) {
    const known = site.parameterNames.filter((n): n is string => n !== undefined);
    throw new KeelDecoratorError(
      `${where}: placeholder '{${raw}}' in key template '${template}' names no parameter of the method` +
        ` (parameters: ${known.length ? known.join(', ') : 'none'}). Use a parameter name, a position such as '{0}', or a function.`,
    );
  }
  return { index, path, raw };
}

function hasRest(site: KeyTemplateSite): boolean {
  return site.parameterNames.length > 0 && site.parameterNames.at(-1) === undefined;
}

/**
 * Escapes one placeholder value. Only strings, finite numbers, bigints and booleans make keys:
 * `undefined` or an object would silently collapse many calls onto one key.
 */
export function escapeKeyValue(value: unknown, placeholder: string, where: string): string {
  switch (typeof value) {
    case 'string':
      if (value === '') break;
      return value.replace(/[^A-Za-z0-9_.~-]/g, percentEncode);
    case 'number':
      if (!Number.isFinite(value)) break;
      return String(value);
    case 'bigint':
    case 'boolean':
      return String(value);
  }
  throw new KeyTemplateValueError(
    `${where}: placeholder '{${placeholder}}' has value ${describe(value)}; keys need a non-empty string, a finite number, a bigint or a boolean`,
  );
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
