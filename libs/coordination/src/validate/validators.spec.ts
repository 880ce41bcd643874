import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Ajv } from 'ajv';
import { Type } from 'class-transformer';
import { IsInt, IsString, Min, MinLength, ValidateNested } from 'class-validator';
import * as v from 'valibot';
import { z } from 'zod';
import { compileValidator, type CheckResult } from './validators.js';

const ajv = () => new Ajv({ allErrors: true, useDefaults: true, coerceTypes: true, strict: false });

class LineDto {
  @IsString()
  sku!: string;

  @IsInt()
  @Min(1)
  qty!: number;
}

class OrderDto {
  @IsString()
  @MinLength(3)
  customer!: string;

  @ValidateNested({ each: true })
  @Type(() => LineDto)
  lines!: LineDto[];
}

const check = (validator: Parameters<typeof compileValidator>[0], value: unknown) =>
  compileValidator(validator, 'dto', ajv)(value) as CheckResult;

describe('validators', () => {
  const bad = { customer: 'x', lines: [{ sku: 1, qty: 0 }] };

  it('class-validator DTO: every problem, with paths; transformed into the class', () => {
    const result = check(OrderDto, bad);
    expect(result.ok).toBe(false);
    const problems = (result as { problems: { path: string }[] }).problems
      .map((p) => p.path)
      .sort();
    expect(problems).toEqual(['dto.customer', 'dto.lines.0.qty', 'dto.lines.0.sku']);
    const good = check(OrderDto, { customer: 'acme', lines: [{ sku: 'a', qty: 2 }] });
    expect(good.ok && good.value).toBeInstanceOf(OrderDto);
    expect(good.ok && (good.value as OrderDto).lines[0]).toBeInstanceOf(LineDto);
  });

  it('zod (Standard Schema): every problem; defaults and coercions reach the method', () => {
    const schema = z.object({
      customer: z.string().min(3),
      lines: z.array(z.object({ sku: z.string(), qty: z.coerce.number().int().min(1) })),
      priority: z.enum(['low', 'high']).default('low'),
    });
    const result = check(schema, bad);
    expect(result.ok).toBe(false);
    expect((result as { problems: { path: string }[] }).problems.map((p) => p.path).sort()).toEqual(
      ['dto.customer', 'dto.lines.0.qty', 'dto.lines.0.sku'],
    );
    const good = check(schema, { customer: 'acme', lines: [{ sku: 'a', qty: '2' }] });
    expect(good).toEqual({
      ok: true,
      value: { customer: 'acme', lines: [{ sku: 'a', qty: 2 }], priority: 'low' },
    });
  });

  it('valibot (Standard Schema)', () => {
    const schema = v.object({ customer: v.pipe(v.string(), v.minLength(3)), qty: v.number() });
    const result = check(schema, { customer: 'x', qty: 'y' });
    expect(result.ok).toBe(false);
    expect((result as { problems: { path: string }[] }).problems.map((p) => p.path).sort()).toEqual(
      ['dto.customer', 'dto.qty'],
    );
  });

  it('JSON Schema (ajv): every problem; defaults and coercion on a copy', () => {
    const schema = {
      type: 'object',
      required: ['customer', 'lines'],
      properties: {
        customer: { type: 'string', minLength: 3 },
        lines: {
          type: 'array',
          items: {
            type: 'object',
            required: ['sku'],
            properties: { sku: { type: 'string' }, qty: { type: 'integer', minimum: 1 } },
          },
        },
        priority: { type: 'string', default: 'low' },
      },
    };
    const result = check(schema, { customer: 'x', lines: [{ qty: 0 }] });
    expect(result.ok).toBe(false);
    expect((result as { problems: { path: string }[] }).problems.map((p) => p.path).sort()).toEqual(
      ['dto.customer', 'dto.lines.0.qty', 'dto.lines.0.sku'],
    );
    const input = { customer: 'acme', lines: [{ sku: 'a', qty: '2' }] };
    const good = check(schema, input);
    expect(good).toEqual({
      ok: true,
      value: { customer: 'acme', lines: [{ sku: 'a', qty: 2 }], priority: 'low' },
    });
    expect(input.lines[0].qty).toBe('2');
  });
});
