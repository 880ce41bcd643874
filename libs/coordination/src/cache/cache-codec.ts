import { KeelArgumentError } from '@keel/core';
import { cacheValueCyclic, cacheValueUnencodable } from '../coordination.messages.js';
import type { CacheableClass } from '../interfaces/coordination-options.interface.js';
import { defineField } from './cache-keys.js';

import type { CacheCodec } from '../interfaces/coordination-options.interface.js';

export type { CacheCodec };

// Payloads start with one letter saying how to read the rest: plain JSON needs no revival.
const PLAIN = 'J';
const TAGGED = 'T';
// The key that marks a tagged node. A user object that has it is itself wrapped, so no user
// value can be mistaken for a tag.
const MARK = '$keel';

type Tagged = { readonly [MARK]: string; readonly v?: unknown; readonly n?: string };

/**
 * The default codec: JSON, plus what JSON loses — `Date`, `Map`, `Set`, `BigInt`, `RegExp`,
 * `Uint8Array` / `Buffer`, `undefined`, `NaN` / `±Infinity`, and instances of the classes
 * registered by name (their prototype is restored, the constructor is not run). A value made
 * only of plain objects, arrays, strings, finite numbers, booleans and `null` takes a fast path
 * (one `JSON.stringify` / `JSON.parse`). A cycle is refused: a cached value must be a tree.
 * An instance of an unregistered class is cached as its `toJSON()` result when it has one, else
 * as a plain object of its own enumerable properties — what `JSON.stringify` would do.
 * @internal
 */
export function createTaggedJsonCodec(
  classes: Readonly<Record<string, CacheableClass>> = {},
): CacheCodec {
  const byName = new Map<string, CacheableClass>(Object.entries(classes));
  const nameOf = new Map<object, string>();
  for (const [name, type] of byName) nameOf.set(type.prototype as object, name);
  const encoder = new TaggedEncoder(nameOf);
  return {
    encode(value) {
      if (isPlainJson(value, 0)) return PLAIN + JSON.stringify(value);
      return TAGGED + JSON.stringify(encoder.encode(value, []));
    },
    decode(payload) {
      const body = JSON.parse(payload.slice(1)) as unknown;
      return payload[0] === PLAIN ? body : revive(body, byName);
    },
  };
}

// Deeper than this the fast-path check gives up and the tagged encoder (which detects cycles)
// takes over; real payloads are far shallower.
const MAX_PLAIN_DEPTH = 64;

function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth > MAX_PLAIN_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!isPlainJson(value[i], depth + 1)) return false;
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key in value) {
    if (key === MARK) return false;
    if (!isPlainJson((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

class TaggedEncoder {
  constructor(private readonly nameOf: ReadonlyMap<object, string>) {}

  encode(value: unknown, path: object[]): unknown {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value;
      case 'number':
        return Number.isFinite(value) ? value : tag('Number', String(value));
      case 'bigint':
        return tag('BigInt', value.toString());
      case 'undefined':
        return tag('undefined');
      case 'object':
        return value === null ? null : this.encodeObject(value, path);
      default:
        throw new KeelArgumentError(cacheValueUnencodable({ type: typeof value }));
    }
  }

  private encodeObject(value: object, path: object[]): unknown {
    if (path.includes(value)) throw new KeelArgumentError(cacheValueCyclic());
    path.push(value);
    try {
      return this.encodeNode(value, path);
    } finally {
      path.pop();
    }
  }

  private encodeNode(value: object, path: object[]): unknown {
    if (Array.isArray(value)) return value.map((item: unknown) => this.encode(item, path));
    if (value instanceof Date) return tag('Date', value.getTime());
    if (value instanceof RegExp) return tag('RegExp', [value.source, value.flags]);
    if (value instanceof Uint8Array) return tag('Bytes', Buffer.from(value).toString('base64'));
    if (value instanceof Map)
      return tag(
        'Map',
        [...value].map(([k, v]: [unknown, unknown]) => [
          this.encode(k, path),
          this.encode(v, path),
        ]),
      );
    if (value instanceof Set)
      return tag(
        'Set',
        [...value].map((v: unknown) => this.encode(v, path)),
      );
    const proto = Object.getPrototypeOf(value) as object | null;
    const name = proto === null ? undefined : this.nameOf.get(proto);
    if (name !== undefined) return { [MARK]: 'Class', n: name, v: this.fields(value, path) };
    if (proto !== Object.prototype && proto !== null) {
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') return this.encode(toJSON.call(value), path);
    }
    const fields = this.fields(value, path);
    return MARK in fields ? tag('Object', fields) : fields;
  }

  private fields(value: object, path: object[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) {
      if (typeof field === 'function' || typeof field === 'symbol') continue;
      defineField(out, key, this.encode(field, path));
    }
    return out;
  }
}

function tag(kind: string, v?: unknown): Tagged {
  return v === undefined ? { [MARK]: kind } : { [MARK]: kind, v };
}

function revive(node: unknown, classes: ReadonlyMap<string, CacheableClass>): unknown {
  if (typeof node !== 'object' || node === null) return node;
  if (Array.isArray(node)) return node.map((item: unknown) => revive(item, classes));
  const record = node as Record<string, unknown>;
  if (!(MARK in record)) return reviveFields(record, classes);
  const { v } = record as Tagged;
  switch (record[MARK]) {
    case 'undefined':
      return undefined;
    case 'Number':
      return Number(v);
    case 'BigInt':
      return BigInt(v as string);
    case 'Date':
      return new Date(v as number);
    case 'RegExp': {
      const [source, flags] = v as [string, string];
      return new RegExp(source, flags);
    }
    case 'Bytes':
      return new Uint8Array(Buffer.from(v as string, 'base64'));
    case 'Map':
      return new Map(
        (v as [unknown, unknown][]).map(([k, item]) => [revive(k, classes), revive(item, classes)]),
      );
    case 'Set':
      return new Set((v as unknown[]).map((item) => revive(item, classes)));
    case 'Class':
      return reviveClass(record as Tagged, classes);
    default:
      return reviveFields(v as Record<string, unknown>, classes);
  }
}

function reviveClass(node: Tagged, classes: ReadonlyMap<string, CacheableClass>): unknown {
  const fields = reviveFields(node.v as Record<string, unknown>, classes);
  const type = classes.get(node.n ?? '');
  // A class no longer registered (an older replica wrote it) comes back as its fields.
  if (type === undefined) return fields;
  const instance = Object.create(type.prototype as object) as Record<string, unknown>;
  for (const [key, field] of Object.entries(fields)) defineField(instance, key, field);
  return instance;
}

function reviveFields(
  record: Record<string, unknown>,
  classes: ReadonlyMap<string, CacheableClass>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(record)) defineField(out, key, revive(field, classes));
  return out;
}
