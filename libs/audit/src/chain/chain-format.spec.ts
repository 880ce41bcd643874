import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import {
  canonicalEvent,
  canonicalJson,
  eventHash,
  GENESIS_HASH,
  HASHED_FIELDS,
  linkEvents,
} from './chain-format.js';
import type { PreparedAuditEvent } from '../audit-event.js';

// canonicalize 2 (the last release that runs on Node 20) is CommonJS typed with `export default`;
// imported from ESM, the default is module.exports itself: the function.
const canonicalize = canonicalizeModule as unknown as (value: unknown) => string | undefined;

/** A deterministic pseudo-random JSON value generator (no Math.random: a failure reproduces). */
function* values(seed: number, count: number): Generator<unknown> {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31);
  const strings = [
    '',
    'a',
    'é',
    '😀',
    '\u2028',
    '"q"',
    '\\',
    '10',
    '9',
    'B',
    'b',
    '\u0001',
    'z\u00ff',
  ];
  const numbers = [0, 1, -1, 0.1, 1e21, 1e-7, 123456789.123, -2.5e-10, 2 ** 53, 5e-324];
  const make = (depth: number): unknown => {
    const pick = next() % (depth > 2 ? 4 : 6);
    if (pick === 0) return strings[next() % strings.length];
    if (pick === 1) return numbers[next() % numbers.length];
    if (pick === 2) return next() % 2 === 0;
    if (pick === 3) return null;
    if (pick === 4) return Array.from({ length: next() % 4 }, () => make(depth + 1));
    return Object.fromEntries(
      Array.from({ length: next() % 5 }, () => [
        strings[next() % strings.length]!,
        make(depth + 1),
      ]),
    );
  };
  for (let i = 0; i < count; i++) yield make(0);
}

const event: PreparedAuditEvent = {
  id: '0193e0b2-7a3e-7c3e-8f00-1234567890ab',
  chain: 'shard-3',
  occurredAt: '2026-12-02T10:15:00.123Z',
  service: 'orders',
  category: 'DATA_CHANGE',
  level: 'INFO',
  action: 'order.update',
  outcome: 'success',
  errorCode: null,
  actor: 'alice',
  tenant: 'acme',
  ip: '10.0.0.1',
  userAgent: null,
  correlationId: 'c-1',
  resourceType: 'order',
  resourceId: 'o-1',
  subject: null,
  tags: ['sox'],
  durationMs: 12.5,
  data: { total: 10, items: [{ sku: 'A', qty: 2 }] },
};

describe('chain format', () => {
  it('writes RFC 8785 canonical JSON exactly as the canonicalize package does, on 2 000 varied values', () => {
    for (const value of values(42, 2_000)) expect(canonicalJson(value)).toBe(canonicalize(value));
  });

  it('follows RFC 8785 on its own examples: key order by UTF-16 units, number forms', () => {
    expect(
      canonicalJson({ '\u20ac': 1, '\r': 2, '\ud83d\ude00': 3, '1': 4, '\u0080': 5, ö: 6 }),
    ).toBe('{"\\r":2,"1":4,"\u0080":5,"ö":6,"\u20ac":1,"\ud83d\ude00":3}');
    expect(canonicalJson([333333333.3333333, 1e30, 4.5, 2e-3, 0.000001, 1e-7])).toBe(
      '[333333333.3333333,1e+30,4.5,0.002,0.000001,1e-7]',
    );
  });

  it('refuses what JSON cannot hold', () => {
    for (const bad of [Number.NaN, Infinity, undefined, () => 1, 1n, '\ud800'])
      expect(() => canonicalJson(bad)).toThrow(TypeError);
  });

  it('hashes the 21 documented fields, nulls included, as SHA-256(canonical ‖ prevHash)', () => {
    const withSeq = { ...event, seq: 1 };
    const canonical = canonicalEvent(withSeq);
    expect(Object.keys(JSON.parse(canonical) as object)).toEqual([...HASHED_FIELDS]);
    expect(canonical).toBe(
      canonicalize(Object.fromEntries(HASHED_FIELDS.map((f) => [f, withSeq[f] ?? null]))),
    );
    const expected = createHash('sha256')
      .update(canonical + GENESIS_HASH, 'utf8')
      .digest('hex');
    expect(eventHash(withSeq, GENESIS_HASH)).toBe(expected);
    const [first, second] = linkEvents(
      [event, { ...event, id: '0193e0b2-7a3e-7c3e-8f00-1234567890ac' }],
      undefined,
    );
    expect(first!.hash).toBe(expected);
    expect(second!.prevHash).toBe(first!.hash);
    expect(second!.seq).toBe(2);
  });
});
