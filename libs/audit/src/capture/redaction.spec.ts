import { describe, expect, it } from '@jest/globals';
import {
  CIRCULAR,
  DEFAULT_REDACTED_KEYS,
  REDACTED,
  compileRedaction,
  neutralizeString,
  redactPayload,
} from './redaction.js';

const rules = compileRedaction({
  keys: ['pin'],
  paths: ['data.args.0.note'],
  maxPayloadBytes: 16_384,
});

describe('redactPayload', () => {
  it.each(DEFAULT_REDACTED_KEYS)(
    'masks the default key %s, in any case and separator style',
    (key) => {
      const upper = key.toUpperCase();
      const snake = key.replace(/-/g, '_');
      const kebab = key.replace(/_/g, '-');
      const out = redactPayload(
        {
          [key]: 's3cr3t',
          nested: { [upper]: 'x', list: [{ [snake]: 1 }, { [kebab]: { deep: 2 } }] },
        },
        rules,
      );
      expect(out).toEqual({
        [key]: REDACTED,
        nested: { [upper]: REDACTED, list: [{ [snake]: REDACTED }, { [kebab]: REDACTED }] },
      });
    },
  );

  it('masks camelCase forms and configured keys, and leaves look-alike keys readable', () => {
    const out = redactPayload(
      { accessToken: 'a', SetCookie: 'b', Pin: '1234', tokenCount: 3, sessionLength: 9 },
      rules,
    );
    expect(out).toEqual({
      accessToken: REDACTED,
      SetCookie: REDACTED,
      Pin: REDACTED,
      tokenCount: 3,
      sessionLength: 9,
    });
  });

  it('masks exact configured paths only', () => {
    const out = redactPayload({ args: [{ note: 'private', keep: 1 }, { note: 'public' }] }, rules);
    expect(out).toEqual({ args: [{ note: REDACTED, keep: 1 }, { note: 'public' }] });
  });

  it('neutralises CR/LF, other C0 controls, NUL and lone surrogates', () => {
    const out = redactPayload(
      { line: 'a\r\nFAKE log line', nul: 'x\u0000y', bell: '\u0007', lone: 'a\uD800b', pair: '😀' },
      rules,
    );
    expect(out).toEqual({
      line: 'a\\r\\nFAKE log line',
      nul: 'x\\u0000y',
      bell: '\\u0007',
      lone: 'a\uFFFDb',
      pair: '😀',
    });
    expect(neutralizeString('plain')).toBe('plain');
  });

  it('turns values JSON cannot hold into JSON', () => {
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
    }
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const shared = { v: 1 };
    const out = redactPayload(
      {
        at: new Date('2026-12-02T10:00:00.000Z'),
        big: 10n ** 20n,
        map: new Map<string, unknown>([['k', 1]]),
        set: new Set([1, 2]),
        point: new Point(1, 2),
        cyclic,
        twice: [shared, shared],
        nan: Number.NaN,
        fn: () => 1,
        undef: undefined,
        error: new Error('boom'),
        bytes: Buffer.from('abc'),
      },
      rules,
    );
    expect(out).toEqual({
      at: '2026-12-02T10:00:00.000Z',
      big: '100000000000000000000',
      map: { k: 1 },
      set: [1, 2],
      point: { x: 1, y: 2 },
      cyclic: { name: 'loop', self: CIRCULAR },
      twice: [{ v: 1 }, { v: 1 }],
      nan: null,
      error: { name: 'Error', message: 'boom' },
      bytes: '[3 bytes]',
    });
    expect(() => JSON.stringify(out)).not.toThrow();
  });

  it('keeps a __proto__ key as data', () => {
    const out = redactPayload(
      JSON.parse('{"__proto__": {"admin": true}}') as Record<string, unknown>,
      rules,
    );
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(JSON.stringify(out)).toBe('{"__proto__":{"admin":true}}');
  });

  it('caps the payload with a marker', () => {
    const small = compileRedaction({ keys: [], paths: [], maxPayloadBytes: 256 });
    const out = redactPayload({ blob: 'é'.repeat(300) }, small);
    expect(out).toEqual({
      truncated: true,
      originalBytes: Buffer.byteLength(JSON.stringify({ blob: 'é'.repeat(300) })),
    });
    expect(redactPayload({ blob: 'ok' }, small)).toEqual({ blob: 'ok' });
    expect(redactPayload(undefined, small)).toBeNull();
  });
});
