import { describe, expect, it } from '@jest/globals';
import { KeelDecoratorError, KeyTemplateValueError } from '../keel.errors.js';
import { compileKeyTemplate } from './key-template.js';
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
