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
  } catch {
    throw new KeelArgumentError(cacheKeyArgsCyclic({ label }));
  }
  const key = `(${escapeKeyValue(json.slice(1, -1))})`;
  if (key.length <= MAX_PLAIN_KEY) return key;
  return `#${createHash('sha256').update(json).digest('base64url')}`;
}

// JSON with object keys sorted and the values JSON loses kept distinct: {a,b} and {b,a} are one
// key; 1n, '1' and 1 are three.
function canonical(this: unknown, _key: string, value: unknown): unknown {
  switch (typeof value) {
    case 'bigint':
      return `${value.toString()}n`;
    case 'undefined':
      return '\u0000undefined';
    case 'object':
      break;
    default:
      return value;
  }
  if (value === null || Array.isArray(value)) return value;
  if (value instanceof Map) return { '\u0000map': [...value] };
  if (value instanceof Set) return { '\u0000set': [...value] };
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort())
    sorted[key] = (value as Record<string, unknown>)[key];
  return sorted;
}
