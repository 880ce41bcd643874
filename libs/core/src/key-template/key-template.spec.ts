import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { KeelDecoratorError, KeyTemplateValueError } from '../core.errors.js';
import { compileKeyTemplate, escapeKeyValue } from './key-template.js';
import { readParameterNames } from './parameter-names.js';

class Orders {
  update(orderId: string, dto: { customer: { id: number } }, ...rest: unknown[]) {
    return [orderId, dto, rest];
  }
  destructured({ id }: { id: string }, /* a comment, with a comma */ amount = 3) {
    return [id, amount];
  }
}

const site = {
  className: 'Orders',
  methodName: 'update',
  parameterNames: readParameterNames(Orders.prototype.update),
};

describe('readParameterNames', () => {
  it('reads plain, rest, destructured and defaulted parameters', () => {
    expect(readParameterNames(Orders.prototype.update)).toEqual(['orderId', 'dto', 'rest']);
    expect(readParameterNames(Orders.prototype.destructured)).toEqual([undefined, 'amount']);
    expect(readParameterNames((a: number, b = '(x, y)') => a + b)).toEqual(['a', 'b']);
    expect(readParameterNames(async (x: number) => x)).toEqual(['x']);
  });
});

describe('compileKeyTemplate', () => {
  it('resolves parameter names', () => {
    expect(compileKeyTemplate('order:{orderId}', site)(['42', {}])).toBe('order:42');
  });

  it('resolves dotted paths into a parameter', () => {
    const build = compileKeyTemplate('customer:{dto.customer.id}', site);
    expect(build(['1', { customer: { id: 7 } }])).toBe('customer:7');
  });

  it('resolves positions and paths from positions', () => {
    expect(compileKeyTemplate('{0}/{1.customer.id}', site)(['a', { customer: { id: 9 } }])).toBe(
      'a/9',
    );
  });

  it('accepts a function of the arguments', () => {
    const build = compileKeyTemplate((id: string) => `fn:${id}`, site);
    expect(build(['x'])).toBe('fn:x');
  });

  it('returns constant templates unchanged', () => {
    expect(compileKeyTemplate('global-lock', site)([])).toBe('global-lock');
  });

  it('escapes placeholder values so user input cannot forge another key', () => {
    const build = compileKeyTemplate('order:{orderId}:items', site);
    expect(build(['1:admin', {}])).toBe('order:1%3Aadmin:items');
    expect(build(['{x}', {}])).toBe('order:%7Bx%7D:items');
    expect(build(['100%', {}])).toBe('order:100%25:items');
    expect(build(['é', {}])).toBe('order:%C3%A9:items');
    expect(build(['1%3Aadmin', {}])).not.toBe(build(['1:admin', {}]));
  });

  it('encodes characters outside the Basic Multilingual Plane by code point', () => {
    const build = compileKeyTemplate('order:{orderId}', site);
    // Each half of a surrogate pair encoded on its own became U+FFFD: all four collided.
    expect(build(['😀'])).toBe('order:%F0%9F%98%80');
    expect(build(['🎉'])).toBe('order:%F0%9F%8E%89');
    expect(build(['a😀b'])).toBe('order:a%F0%9F%98%80b');
    expect(build(['😀'])).not.toBe(build(['🎉']));
  });

  it('refuses a lone surrogate instead of encoding it as U+FFFD', () => {
    const build = compileKeyTemplate('order:{orderId}', site);
    for (const value of ['\uD83D', '\uDE00', 'a\uD83Db', '\uDE00\uD83D', '😀\uD83D']) {
      expect(() => build([value])).toThrow(KeyTemplateValueError);
      expect(() => build([value])).toThrow(
        /Orders\.update: placeholder '\{orderId\}' has a string with a lone surrogate \(U\+D[89A-F][0-9A-F]{2} at index \d+\)/,
      );
    }
    // Also the form a key function uses directly.
    expect(() => escapeKeyValue('\uD83D')).toThrow(KeyTemplateValueError);
  });

  it('escapes a value alone, as key functions use it', () => {
    expect(escapeKeyValue('1:admin')).toBe('1%3Aadmin');
    expect(escapeKeyValue('{x}')).toBe('%7Bx%7D');
    expect(escapeKeyValue(42)).toBe('42');
    expect(() => escapeKeyValue(undefined)).toThrow(
      /escapeKeyValue: got undefined; keys need a non-empty string/,
    );
  });

  it('rejects an unknown placeholder at compile time, naming class, method and placeholder', () => {
    expect(() => compileKeyTemplate('order:{ordreId}', site)).toThrow(KeelDecoratorError);
    expect(() => compileKeyTemplate('order:{ordreId}', site)).toThrow(
      /Orders\.update.*'\{ordreId\}'.*parameters: orderId, dto, rest/,
    );
  });

  it('rejects malformed templates', () => {
    expect(() => compileKeyTemplate('order:{}', site)).toThrow(KeelDecoratorError);
    expect(() => compileKeyTemplate('order:{a-b}', site)).toThrow(KeelDecoratorError);
    expect(() => compileKeyTemplate('order:{orderId', site)).toThrow(/unbalanced brace/);
    expect(() => compileKeyTemplate('', site)).toThrow(KeelDecoratorError);
  });

  it('rejects a position beyond the declared parameters', () => {
    const noRest = { ...site, parameterNames: ['a'] };
    expect(() => compileKeyTemplate('{3}', noRest)).toThrow(/argument 3/);
  });

  it('refuses missing or non-scalar values at call time instead of colliding keys', () => {
    const build = compileKeyTemplate('order:{orderId}', site);
    expect(() => build([undefined])).toThrow(KeyTemplateValueError);
    expect(() => build([''])).toThrow(/empty string/);
    expect(() => build([{ id: 1 }])).toThrow(/type object/);
    expect(() => build([Number.NaN])).toThrow(KeyTemplateValueError);
  });

  it('refuses a missing nested value', () => {
    expect(() => compileKeyTemplate('{dto.customer.id}', site)(['1', {}])).toThrow(
      /'\{dto\.customer\.id\}' has value undefined/,
    );
  });

  it('refuses a key function returning a non-string', () => {
    const build = compileKeyTemplate((() => 42) as unknown as () => string, site);
    expect(() => build([])).toThrow(KeyTemplateValueError);
  });
});

/** A code point: mostly anywhere in Unicode (most are astral), often one that must be escaped. */
const codePoint = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.constantFrom('😀', '🎉', ':', '{', '}', '%', '%3A', '%F0', 'a', 'é', '\u0000', '\uFFFD'),
);
const wellFormed = fc.string({ unit: codePoint, minLength: 1, maxLength: 12 });
/** Any UTF-16 code units, so lone surrogates of both kinds and in any position turn up. */
const codeUnits = fc.string({
  unit: fc.oneof(
    fc.integer({ min: 0xd800, max: 0xdfff }).map((u) => String.fromCharCode(u)),
    codePoint,
  ),
  minLength: 1,
  maxLength: 8,
});

describe('escapeKeyValue (properties)', () => {
  const build = compileKeyTemplate('order:{orderId}:items', site);

  it('gives distinct keys for distinct inputs, astral characters included', () => {
    fc.assert(
      fc.property(wellFormed, wellFormed, (a, b) => {
        fc.pre(a !== b);
        expect(build([a])).not.toBe(build([b]));
      }),
      { numRuns: 2_000 },
    );
  });

  it('is decodable back to the input and uses only key-safe characters', () => {
    // decodeURIComponent(escape(s)) === s means the encoding is injective: no two inputs share a
    // key, and no escaped value contains ':' '{' or '}' to forge a key or move a hash tag.
    fc.assert(
      fc.property(wellFormed, (value) => {
        const escaped = escapeKeyValue(value);
        expect(escaped).toMatch(/^[A-Za-z0-9_.~%-]+$/);
        expect(decodeURIComponent(escaped)).toBe(value);
      }),
      { numRuns: 2_000 },
    );
  });

  it('refuses exactly the strings that are not well-formed UTF-16', () => {
    fc.assert(
      fc.property(codeUnits, (value) => {
        const wellFormedText = !/[\uD800-\uDFFF]/u.test(value);
        if (wellFormedText) {
          expect(decodeURIComponent(escapeKeyValue(value))).toBe(value);
        } else {
          expect(() => escapeKeyValue(value)).toThrow(KeyTemplateValueError);
        }
      }),
      { numRuns: 2_000 },
    );
  });
});
