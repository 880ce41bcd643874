import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { describeAccepted, keelZodErrorMap } from './zod-messages.js';

const messageOf = (schema: z.ZodType, value: unknown): string[] => {
  const parsed = schema.safeParse(value, { error: keelZodErrorMap });
  expect(parsed.success).toBe(false);
  return parsed.error!.issues.map((i) => [i.path.join('.'), i.message].filter(Boolean).join(': '));
};

describe('keelZodErrorMap', () => {
  it.each<[string, z.ZodType, unknown, string]>([
    [
      'an enum lists its values',
      z.enum(['count', 'time']),
      'sliding',
      'must be one of: count, time',
    ],
    ['a literal names its value', z.literal('memory'), 'mem', 'must be memory'],
    ['a boolean', z.boolean(), 'yes', 'must be one of: true, false'],
    [
      'an integer range',
      z.number().int().min(1).max(1000),
      0,
      'must be a whole number from 1 to 1000',
    ],
    [
      'an integer range, above',
      z.number().int().min(1).max(1000),
      1001,
      'must be a whole number from 1 to 1000',
    ],
    [
      'an integer range, fraction',
      z.number().int().min(1).max(1000),
      1.5,
      'must be a whole number from 1 to 1000',
    ],
    ['a number range', z.number().min(0).max(100), 101, 'must be a number from 0 to 100'],
    ['a lower bound only', z.number().int().min(10), 5, 'must be a whole number, at least 10'],
    ['a positive number', z.number().int().positive(), 0, 'must be a whole number, above 0'],
    ['a number, given a string', z.number().min(0).max(0.5), 'x', 'must be a number from 0 to 0.5'],
    ['a string length', z.string().max(64), 'x'.repeat(65), 'must be at most 64 characters long'],
    [
      'a string, given a number',
      z.string().min(1).max(64),
      5,
      'must be a string of 1 to 64 characters',
    ],
    ['a list', z.array(z.string()).min(1), [], 'must hold at least 1 item'],
    ['a list, given a string', z.array(z.string()), 'a', 'must be a list (each a string)'],
    ['a mapping', z.record(z.string(), z.string()), 3, 'must be a mapping'],
    [
      'a strict object lists its keys',
      z.object({ ms: z.number(), signalInContext: z.boolean() }).partial().strict(),
      { mss: 1 },
      "unknown key 'mss'; known: ms, signalInContext",
    ],
    [
      'a union of values and a mapping',
      z.union([z.literal('memory'), z.literal('redis'), z.object({ quorum: z.array(z.string()) })]),
      'mem',
      'must be one of: memory, redis, or a mapping with keys quorum',
    ],
    [
      'a union of a boolean and an enum of strings',
      z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])]),
      'maybe',
      'must be one of: true, false, 0, 1, yes, no',
    ],
    [
      'a union with a custom option',
      z.union([
        z.enum(['memory', 'redis']),
        z.custom<object>((v) => typeof v === 'object', 'must be a RegistryStore'),
      ]),
      'mem',
      'must be one of: memory, redis, or a RegistryStore',
    ],
    [
      'a union of a range and an object',
      z.union([z.number().int().min(1).max(10), z.object({ ms: z.number() }).strict()]),
      'x',
      'must be a whole number from 1 to 10, or a mapping with keys ms',
    ],
    [
      'a union whose mapping option holds a bad value',
      z.union([
        z.literal('memory'),
        z.object({
          nodes: z.array(z.union([z.string(), z.boolean()], { error: 'must be a URL' })),
        }),
      ]),
      { nodes: [5] },
      'must be memory, or a mapping with keys nodes; nodes.0: must be a URL',
    ],
    ['a missing key', z.object({ path: z.string() }), {}, 'path: is required: a string'],
    [
      'a string with its own rule, given a number',
      z.string().regex(/^[a-z]+$/, 'must be lowercase letters'),
      5,
      'must be lowercase letters',
    ],
    ['a prefix', z.string().startsWith('/'), 'health', "must start with '/'"],
    [
      'a record key',
      z.record(z.string().regex(/^[a-z]+$/, 'names are lowercase letters'), z.number()),
      { B: 1 },
      'B: invalid key: names are lowercase letters',
    ],
  ])('%s', (_, schema, value, expected) => {
    expect(messageOf(schema, value)).toEqual([expected]);
  });

  it('leaves messages a schema sets itself', () => {
    expect(messageOf(z.string().regex(/^\d+$/, 'must be a whole number'), 'x')).toEqual([
      'must be a whole number',
    ]);
  });

  it('describes what wrapped and piped schemas accept', () => {
    expect(describeAccepted(z.enum(['a', 'b']).optional())).toBe('one of: a, b');
    expect(
      describeAccepted(z.string().transform(Number).pipe(z.number().int().min(0).max(9))),
    ).toBe('a string');
  });
});
