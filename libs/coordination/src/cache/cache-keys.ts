import { createHash } from 'node:crypto';
import { KeelArgumentError, escapeKeyValue } from '@keel/core';
import { compileKeyTemplate, type KeyBuilder, type PolicyTarget } from '@keel/core/internal';
import type { KeyTemplate } from '@keel/core';
import { cacheKeyArgsCyclic } from '../coordination.messages.js';

// A default key longer than this is hashed: Redis keys stay short, and an argument holding a
// large document does not make a large key.
const MAX_PLAIN_KEY = 200;

/**
 * The key of an entry within the shared tier: the cache name, then the key within it. A key
 * template's values are escaped (no `:` of their own), so `name:key` cannot collide across names.
 * @internal
 */
export function entryKey(name: string, key: string): string {
  return `${name}:${key}`;
}

/**
 * The key within a cache from a method's arguments: the key template's value, or — without one —
 * every argument in canonical JSON (object keys sorted), escaped, hashed when long.
 * @internal
 */
export function keyBuilder(
  template: KeyTemplate | undefined,
  target: PolicyTarget,
  usage: string,
): KeyBuilder {
  if (template !== undefined) return compileKeyTemplate(template, { ...target, usage });
  return (args) => defaultKey(args, target.label);
}

/** Each tag template compiled once; the tags of one call. @internal */
export function tagsBuilder(
  templates: readonly KeyTemplate[] | undefined,
  target: PolicyTarget,
  usage: string,
): (args: readonly unknown[]) => readonly string[] {
  if (templates === undefined || templates.length === 0) return () => [];
  const builders = templates.map((t) => compileKeyTemplate(t, { ...target, usage }));
  return (args) => builders.map((build) => build(args));
}

/** The key of `args` when the decorator names none. @internal */
export function defaultKey(args: readonly unknown[], label: string): string {
  if (args.length === 0) return '()';
  let json: string;
  try {
    json = JSON.stringify(args, canonical);
  } catch (error) {
    // A cycle recurses until the stack is exhausted (each level is a fresh sorted copy, so
    // JSON.stringify's own cycle check never sees it); a getter's or toJSON's error is the user's.
    if (error instanceof RangeError) throw new KeelArgumentError(cacheKeyArgsCyclic({ label }));
    throw error;
  }
  const key = `(${escapeKeyValue(json.slice(1, -1))})`;
  if (key.length <= MAX_PLAIN_KEY) return key;
  return `#${createHash('sha256').update(json).digest('base64url')}`;
}

// Values JSON loses or confuses become one-key objects whose key starts with NUL; a user object
// key that starts with NUL gets one more, so no argument can spell another's key.
const MARK = '\u0000';

/**
 * JSON with object keys sorted and the values JSON loses kept distinct: `{a, b}` and `{b, a}`
 * are one key; `1`, `'1'`, `1n`, `NaN`, `null`, `undefined` and a `Date` and its ISO string are
 * all different keys. Map and Set entries keep their insertion order.
 */
function canonical(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  if (raw instanceof Date) return { [`${MARK}date`]: value };
  switch (typeof value) {
    case 'bigint':
      return { [`${MARK}bigint`]: value.toString() };
    case 'undefined':
      return { [`${MARK}undefined`]: 0 };
    case 'number':
      return Number.isFinite(value) ? value : { [`${MARK}number`]: String(value) };
    case 'object':
      break;
    default:
      return value;
  }
  if (value === null || Array.isArray(value)) return value;
  if (value instanceof Map) return { [`${MARK}map`]: [...value] };
  if (value instanceof Set) return { [`${MARK}set`]: [...value] };
  const sorted: Record<string, unknown> = {};
  for (const field of Object.keys(value).sort()) {
    const name = field.startsWith(MARK) ? MARK + field : field;
    defineField(sorted, name, (value as Record<string, unknown>)[field]);
  }
  return sorted;
}

/** `target[key] = value`, also for `__proto__` (an assignment would set the prototype). */
export function defineField(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    target[key] = value;
  }
}
