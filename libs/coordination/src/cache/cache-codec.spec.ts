import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { KeelArgumentError } from '@keel/core';
import { createTaggedJsonCodec } from './cache-codec.js';

class Money {
  constructor(
    readonly amount: number,
    readonly currency: string,
  ) {}

  format(): string {
    return `${this.amount.toFixed(2)} ${this.currency}`;
  }
}

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}

  norm(): number {
    return Math.hypot(this.x, this.y);
  }
}

class Celsius {
  constructor(readonly degrees: number) {}

  toJSON(): { celsius: number } {
    return { celsius: this.degrees };
  }
}

const codec = createTaggedJsonCodec();

function roundTrip(value: unknown, using = codec): unknown {
  return using.decode(using.encode(value));
}

describe('createTaggedJsonCodec', () => {
  it('takes the fast path for plain JSON and the tagged path otherwise', () => {
    const plain = { a: [1, 'two', true, null, { b: 2.5 }], c: '' };
    const payload = codec.encode(plain);
    expect(payload[0]).toBe('J');
    expect(payload.slice(1)).toBe(JSON.stringify(plain));
    expect(codec.decode(payload)).toEqual(plain);

    for (const value of [new Date(0), 1n, undefined, NaN, [undefined], { a: new Set([1]) }])
      expect(codec.encode(value)[0]).toBe('T');
  });

  it('round-trips a Date to an equal Date', () => {
    const date = new Date('2026-03-04T05:06:07.089Z');
    const back = roundTrip(date);
    expect(back).toBeInstanceOf(Date);
    expect((back as Date).getTime()).toBe(date.getTime());
  });

  it('round-trips a Map with non-string keys, in order', () => {
    const map = new Map<unknown, unknown>([
      [1, 'one'],
      ['1', 'string one'],
      [true, null],
      [2n, new Date(5)],
      [null, [1, 2]],
    ]);
    const back = roundTrip(map);
    expect(back).toBeInstanceOf(Map);
    expect([...(back as Map<unknown, unknown>)]).toEqual([...map]);
    expect((back as Map<unknown, unknown>).get(1)).toBe('one');
    expect((back as Map<unknown, unknown>).get('1')).toBe('string one');
  });

  it('round-trips a Set, in order', () => {
    const set = new Set<unknown>([3, 'a', 1n, null, 1]);
    const back = roundTrip(set);
    expect(back).toBeInstanceOf(Set);
    expect([...(back as Set<unknown>)]).toEqual([3, 'a', 1n, null, 1]);
  });

  it('round-trips BigInt, including values beyond Number precision and negatives', () => {
    for (const n of [0n, 1n, -42n, 2n ** 80n + 1n, -(2n ** 70n)]) {
      const back = roundTrip(n);
      expect(typeof back).toBe('bigint');
      expect(back).toBe(n);
    }
  });

  it('round-trips a RegExp with its source and flags', () => {
    const re = /a[b/]+c$/giu;
    const back = roundTrip(re) as RegExp;
    expect(back).toBeInstanceOf(RegExp);
    expect(back.source).toBe(re.source);
    expect(back.flags).toBe('giu');
    expect(back.test('xABBC')).toBe(true);
  });

  it('round-trips Uint8Array and Buffer as a Uint8Array with the same bytes', () => {
    const bytes = new Uint8Array([0, 1, 127, 128, 255]);
    const back = roundTrip(bytes);
    expect(back).toBeInstanceOf(Uint8Array);
    expect([...(back as Uint8Array)]).toEqual([0, 1, 127, 128, 255]);

    const buffer = Buffer.from('héllo\u0000', 'utf8');
    const fromBuffer = roundTrip(buffer) as Uint8Array;
    expect(fromBuffer).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(fromBuffer).equals(buffer)).toBe(true);

    // A view over part of a larger buffer carries only its own bytes.
    const view = new Uint8Array([9, 9, 1, 2, 3, 9]).subarray(2, 5);
    expect([...(roundTrip(view) as Uint8Array)]).toEqual([1, 2, 3]);
  });

  it('round-trips undefined at the top, inside arrays and as object fields', () => {
    expect(roundTrip(undefined)).toBeUndefined();
    const arr = roundTrip([1, undefined, 2]) as unknown[];
    expect(arr).toHaveLength(3);
    expect(arr).toStrictEqual([1, undefined, 2]);

    const obj = roundTrip({ a: undefined, b: 1 }) as Record<string, unknown>;
    expect(Object.keys(obj).sort()).toEqual(['a', 'b']);
    expect(obj).toStrictEqual({ a: undefined, b: 1 });
  });

  it('round-trips NaN, Infinity and -Infinity', () => {
    expect(roundTrip(NaN)).toBeNaN();
    expect(roundTrip(Infinity)).toBe(Infinity);
    expect(roundTrip(-Infinity)).toBe(-Infinity);
    expect(roundTrip([NaN, Infinity, -Infinity, 1])).toEqual([NaN, Infinity, -Infinity, 1]);
  });

  it('round-trips nested combinations', () => {
    const value = {
      when: new Date(1_700_000_000_000),
      tags: new Set(['a', 'b']),
      index: new Map<unknown, unknown>([
        [1n, { at: new Date(3), seen: new Set([undefined, NaN]) }],
        [{ k: 'obj' }, [new Uint8Array([7]), /x/m]],
      ]),
      list: [[new Map([[Infinity, -Infinity]])], { deep: { deeper: [undefined, 5n] } }],
      plain: { n: 1, s: 'x', b: false, z: null },
    };
    expect(roundTrip(value)).toStrictEqual(value);
  });

  it('round-trips a user object that has a $keel key of its own', () => {
    const values = [
      { $keel: 'Date', v: 0 },
      { $keel: 'undefined' },
      { $keel: 'Class', n: 'Money', v: { amount: 1 } },
      { outer: { $keel: 'BigInt', v: '5' }, d: new Date(2) },
      [{ $keel: { $keel: 'Set', v: [1] } }],
    ];
    for (const value of values) expect(roundTrip(value)).toStrictEqual(value);
    // Not mistaken for a tag even without anything else needing the tagged path.
    expect(codec.decode(codec.encode({ $keel: 'Number', v: 'NaN' }))).toStrictEqual({
      $keel: 'Number',
      v: 'NaN',
    });
    // And inside a registered class.
    const withMoney = createTaggedJsonCodec({ Money });
    const money = Object.assign(new Money(1, 'EUR'), { $keel: 'Date' });
    const back = roundTrip(money, withMoney) as Money & { $keel: string };
    expect(back).toBeInstanceOf(Money);
    expect(back.$keel).toBe('Date');
  });

  it('restores a registered class: instanceof, methods and fields', () => {
    const withClasses = createTaggedJsonCodec({ Money, Point });
    const back = roundTrip(
      { price: new Money(12.5, 'EUR'), at: [new Point(3, 4)] },
      withClasses,
    ) as { price: Money; at: Point[] };
    expect(back.price).toBeInstanceOf(Money);
    expect(back.price.amount).toBe(12.5);
    expect(back.price.currency).toBe('EUR');
    expect(back.price.format()).toBe('12.50 EUR');
    expect(back.at[0]).toBeInstanceOf(Point);
    expect(back.at[0]!.norm()).toBe(5);
    expect(Object.keys(back.price).sort()).toEqual(['amount', 'currency']);
  });

  it('restores tagged values held in the fields of a registered class', () => {
    class Event {
      constructor(
        readonly at: Date,
        readonly ids: Set<bigint>,
      ) {}
    }
    const withEvent = createTaggedJsonCodec({ Event });
    const back = roundTrip(new Event(new Date(10), new Set([1n, 2n])), withEvent) as Event;
    expect(back).toBeInstanceOf(Event);
    expect(back.at).toBeInstanceOf(Date);
    expect(back.at.getTime()).toBe(10);
    expect([...back.ids]).toEqual([1n, 2n]);
  });

  it('turns an unregistered class instance into a plain object of its own enumerable fields', () => {
    const back = roundTrip(new Money(3, 'USD')) as Record<string, unknown>;
    expect(back).not.toBeInstanceOf(Money);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(back).toStrictEqual({ amount: 3, currency: 'USD' });
    expect('format' in back).toBe(false);

    const hidden = new Point(1, 2);
    Object.defineProperty(hidden, 'secret', { value: 's', enumerable: false });
    expect(roundTrip(hidden)).toStrictEqual({ x: 1, y: 2 });
  });

  it('caches an unregistered class instance with toJSON() as its toJSON() result', () => {
    expect(roundTrip(new Celsius(21))).toStrictEqual({ celsius: 21 });
    expect(roundTrip([new Celsius(-4), new Date(1)])).toStrictEqual([{ celsius: -4 }, new Date(1)]);
  });

  it('refuses a cycle with a KeelArgumentError that mentions the cycle', () => {
    const obj: Record<string, unknown> = { a: 1 };
    obj['self'] = obj;
    const arr: unknown[] = [1];
    arr.push([arr]);
    const map = new Map<string, unknown>();
    map.set('me', { map });
    for (const cyclic of [obj, arr, map, { wrap: obj }]) {
      expect(() => codec.encode(cyclic)).toThrow(KeelArgumentError);
      expect(() => codec.encode(cyclic)).toThrow(/cycle/);
    }
  });

  it('accepts a value shared in two places (a DAG is not a cycle)', () => {
    const shared = { n: 1, d: new Date(4) };
    expect(roundTrip([shared, { again: shared }])).toStrictEqual([shared, { again: shared }]);
  });

  it('refuses a function or a symbol inside an array with a KeelArgumentError', () => {
    expect(() => codec.encode([1, () => 2])).toThrow(KeelArgumentError);
    expect(() => codec.encode([1, () => 2])).toThrow(/function/);
    expect(() => codec.encode([Symbol('s')])).toThrow(KeelArgumentError);
    expect(() => codec.encode(new Set([() => 1]))).toThrow(KeelArgumentError);
  });

  it('drops functions and symbols held as object fields', () => {
    const value = { keep: 1, run: () => 2, sym: Symbol('x'), nested: { go(): void {}, n: 2 } };
    const payload = codec.encode(value);
    expect(codec.decode(payload)).toStrictEqual({ keep: 1, nested: { n: 2 } });
  });

  it('falls back to the tagged encoder beyond the fast-path depth', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100; i++) deep = { d: deep };
    expect(roundTrip(deep)).toStrictEqual(deep);
  });

  it('round-trips any JSON value (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'grapheme' }), (value) => {
        // JSON has no -0: it comes back 0, as from JSON.parse(JSON.stringify(value)).
        const expected = JSON.parse(JSON.stringify(value)) as unknown;
        const payload = codec.encode(value);
        expect(payload[0]).toBe('J');
        expect(codec.decode(payload)).toStrictEqual(expected);
      }),
    );
  });

  it('round-trips any JSON value next to a tagged one (property)', () => {
    const json = fc.jsonValue();
    fc.assert(
      fc.property(json, (value) => {
        const expected = JSON.parse(JSON.stringify(value)) as unknown;
        const payload = codec.encode({ value, at: new Date(0) });
        expect(payload[0]).toBe('T');
        expect(codec.decode(payload)).toStrictEqual({ value: expected, at: new Date(0) });
      }),
    );
  });

  it('keeps an own __proto__ key on the tagged path as on the fast path', () => {
    const user = JSON.parse('{"__proto__":{"role":"admin"},"name":"x"}') as object;
    expect(codec.decode(codec.encode(user))).toStrictEqual(user);
    const decoded = codec.decode(codec.encode({ user, at: new Date(0) })) as { user: object };
    expect(decoded).toStrictEqual({ user, at: new Date(0) });
    expect(Object.getPrototypeOf(decoded.user)).toBe(Object.prototype);
  });
});
