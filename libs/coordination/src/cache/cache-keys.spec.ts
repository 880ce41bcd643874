import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { KeelArgumentError } from '@keel/core';
import type { PolicyTarget } from '@keel/core/internal';
import { defaultKey, entryKey, keyBuilder, tagsBuilder } from './cache-keys.js';

const LABEL = 'OrderService.find';

function key(...args: unknown[]): string {
  return defaultKey(args, LABEL);
}

const target = {
  className: 'OrderService',
  methodName: 'find',
  label: LABEL,
  parameterNames: ['id', 'filter'],
  original: () => undefined,
  prototype: {},
  handlerType: 'provider',
} as unknown as PolicyTarget;

describe('defaultKey', () => {
  it("is '()' without arguments", () => {
    expect(defaultKey([], LABEL)).toBe('()');
  });

  it('wraps the arguments in parentheses and keeps safe characters as they are', () => {
    expect(key(1)).toBe('(1)');
    expect(key(1, true, null)).toBe('(1%2Ctrue%2Cnull)');
    expect(key('abc')).toBe('(%22abc%22)');
  });

  it('is the same for objects whose keys come in a different order, at any depth', () => {
    expect(key({ a: 1, b: 2 })).toBe(key({ b: 2, a: 1 }));
    expect(key({ x: { p: 1, q: [{ m: 1, n: 2 }] }, y: 0 })).toBe(
      key({ y: 0, x: { q: [{ n: 2, m: 1 }], p: 1 } }),
    );
    expect(key({ a: 1, b: 2 })).not.toBe(key({ a: 2, b: 1 }));
  });

  it('tells 1, "1" and 1n apart', () => {
    const keys = new Set([key(1), key('1'), key(1n)]);
    expect(keys.size).toBe(3);
  });

  it('never lets a string spell a value JSON loses, nor a NUL-keyed object another', () => {
    expect(key(1n)).not.toBe(key('1n'));
    expect(key(1n)).not.toBe(key({ '\u0000bigint': '1' }));
    expect(key(undefined)).not.toBe(key('\u0000undefined'));
    expect(key(undefined)).not.toBe(key({ '\u0000undefined': 0 }));
    expect(key(Number.NaN)).not.toBe(key(null));
    expect(key(Number.POSITIVE_INFINITY)).not.toBe(key(null));
    expect(key(Number.POSITIVE_INFINITY)).not.toBe(key(Number.NEGATIVE_INFINITY));
    expect(key(new Date(0))).not.toBe(key(new Date(0).toISOString()));
    expect(key(new Date(0))).toBe(key(new Date(0)));
  });

  it('reports a throwing getter as itself, not as a cycle', () => {
    const arg = {
      get x(): number {
        throw new Error('boom');
      },
    };
    expect(() => key(arg)).toThrow('boom');
  });

  it('tells undefined and null apart, as arguments and as fields', () => {
    expect(key(undefined)).not.toBe(key(null));
    expect(key({ a: undefined })).not.toBe(key({ a: null }));
    expect(key({ a: undefined })).not.toBe(key({}));
    expect(key(1, undefined)).not.toBe(key(1));
  });

  it('tells argument lists apart by position and count', () => {
    expect(key(1, 2)).not.toBe(key(2, 1));
    expect(key([1, 2])).not.toBe(key(1, 2));
    expect(key('a,b')).not.toBe(key('a', 'b'));
  });

  it('keys a Map and a Set by their contents', () => {
    expect(key(new Map([['a', 1]]))).toBe(key(new Map([['a', 1]])));
    expect(key(new Map([['a', 1]]))).not.toBe(key(new Map([['a', 2]])));
    expect(key(new Map([[1, 'x']]))).not.toBe(key(new Map([['1', 'x']])));
    expect(key(new Map([['a', 1]]))).not.toBe(key({}));
    expect(key(new Map())).not.toBe(key(new Set()));
    expect(key(new Set([1, 2]))).toBe(key(new Set([1, 2])));
    expect(key(new Set([1, 2]))).not.toBe(key(new Set([1, 3])));
    expect(key(new Set([1, 2]))).not.toBe(key([1, 2]));
    // Contents are canonical too.
    expect(key(new Map([['k', { a: 1, b: 2 }]]))).toBe(key(new Map([['k', { b: 2, a: 1 }]])));
    expect(key(new Set([1n]))).not.toBe(key(new Set([1])));
  });

  it('escapes the characters keys are built from', () => {
    const k = key({ 'a:b': '{x}' }, 'c:d', ['{', '}'], new Map([[':', '}']]));
    expect(k.startsWith('(')).toBe(true);
    expect(k.endsWith(')')).toBe(true);
    expect(k).not.toMatch(/[:{}]/);
    expect(k.slice(1, -1)).toMatch(/^[A-Za-z0-9_.~%-]*$/);
    // Escaping does not merge different inputs.
    expect(key('a:b')).not.toBe(key('a%3Ab'));
  });

  it('escapes any string argument to the key alphabet (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'binary', maxLength: 20 }), { maxLength: 4 }),
        (args) => {
          const k = defaultKey(args, LABEL);
          expect(k).toMatch(/^(\([A-Za-z0-9_.~%-]*\)|#[A-Za-z0-9_-]+)$/);
          expect(defaultKey([...args], LABEL)).toBe(k);
        },
      ),
    );
  });

  it('hashes long arguments into a short, stable key starting with #', () => {
    const doc = { body: 'x'.repeat(500), id: 7 };
    const k = key(doc);
    expect(k.startsWith('#')).toBe(true);
    expect(k.length).toBeLessThan(60);
    expect(k).not.toMatch(/[:{}()]/);
    expect(key({ id: 7, body: 'x'.repeat(500) })).toBe(k);
    expect(key({ body: 'x'.repeat(500), id: 8 })).not.toBe(k);
    expect(key('y'.repeat(201))).not.toBe(key('y'.repeat(202)));
  });

  it('hashes only past 200 characters', () => {
    // '("' and '")' escape to 3 characters each, a plain letter stays 1: 2 + 6 + n in all.
    expect(key('a'.repeat(192))).toHaveLength(200);
    expect(key('a'.repeat(192)).startsWith('(')).toBe(true);
    expect(key('a'.repeat(193)).startsWith('#')).toBe(true);
  });

  it('refuses a cyclic argument, naming the method and suggesting a key template', () => {
    const req: Record<string, unknown> = { id: 1 };
    req['self'] = req;
    expect(() => key(req)).toThrow(KeelArgumentError);
    expect(() => key(req)).toThrow(LABEL);
    expect(() => key(req)).toThrow(/key template/);
    expect(() => defaultKey([{ nested: [req] }], 'Other.method')).toThrow(/^Other\.method: /);
  });

  it('accepts an argument shared in two places (not a cycle)', () => {
    const shared = { id: 1 };
    expect(key(shared, { again: shared })).toBe(key({ id: 1 }, { again: { id: 1 } }));
  });
});

describe('entryKey', () => {
  it('joins the cache name and the key with a colon', () => {
    expect(entryKey('order', '1')).toBe('order:1');
    expect(entryKey('order', '()')).toBe('order:()');
  });
});

describe('keyBuilder', () => {
  it('builds the default key, with the target label in errors, without a template', () => {
    const build = keyBuilder(undefined, target, '@Cached key');
    expect(build([{ b: 1, a: 2 }])).toBe(key({ a: 2, b: 1 }));
    const cyclic: Record<string, unknown> = {};
    cyclic['me'] = cyclic;
    expect(() => build([cyclic])).toThrow(LABEL);
  });

  it('uses the key template, its values escaped, when given one', () => {
    const build = keyBuilder('order:{id}', target, '@Cached key');
    expect(build(['1:admin', {}])).toBe('order:1%3Aadmin');
  });
});

describe('tagsBuilder', () => {
  it('builds no tags without templates, one per template otherwise', () => {
    expect(tagsBuilder(undefined, target, '@Cached tags')([1])).toEqual([]);
    expect(tagsBuilder([], target, '@Cached tags')([1])).toEqual([]);
    const build = tagsBuilder(['order:{id}', 'all-orders'], target, '@Cached tags');
    expect(build(['7', undefined])).toEqual(['order:7', 'all-orders']);
  });
});
