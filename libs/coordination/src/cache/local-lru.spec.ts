import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { LocalLru, type LocalEntry } from './local-lru.js';

/** An entry fresh until `expiresAt`, stale until `staleUntil`. */
function entry<V>(value: V, bytes = 1, expiresAt = 1000, staleUntil = 2000): LocalEntry<V> {
  return { value, bytes, expiresAt, staleUntil };
}

const roomy = { maxEntries: 100, maxBytes: 1_000_000 };

describe('LocalLru', () => {
  it('is fresh before expiresAt, stale from expiresAt until staleUntil', () => {
    const lru = new LocalLru<string>(roomy);
    expect(lru.set('k', entry('v', 10, 1000, 2000))).toBe(true);
    expect(lru.get('k', 0)).toEqual({ value: 'v', stale: false });
    expect(lru.get('k', 999)).toEqual({ value: 'v', stale: false });
    expect(lru.get('k', 1000)).toEqual({ value: 'v', stale: true });
    expect(lru.get('k', 1999)).toEqual({ value: 'v', stale: true });
    expect(lru.size).toBe(1);
    expect(lru.bytes).toBe(10);
  });

  it('drops an entry read at or after staleUntil: size and bytes fall, later reads miss', () => {
    const lru = new LocalLru<string>(roomy);
    lru.set('gone', entry('a', 7, 1000, 2000));
    lru.set('kept', entry('b', 5, 1000, 5000));
    expect(lru.get('gone', 2000)).toBeUndefined();
    expect(lru.size).toBe(1);
    expect(lru.bytes).toBe(5);
    // Reading earlier again does not bring it back: it was removed, not hidden.
    expect(lru.get('gone', 0)).toBeUndefined();
    expect(lru.get('kept', 2000)).toEqual({ value: 'b', stale: true });
    expect(lru.evictions).toBe(0);

    lru.set('later', entry('c', 3, 1000, 2000));
    expect(lru.get('later', 10_000)).toBeUndefined();
    expect(lru.size).toBe(1);
    expect(lru.bytes).toBe(5);
  });

  it('returns undefined for a key never set', () => {
    const lru = new LocalLru<number>(roomy);
    expect(lru.get('missing', 0)).toBeUndefined();
    expect(lru.size).toBe(0);
  });

  it('evicts the least recently used entry when over maxEntries', () => {
    const lru = new LocalLru<number>({ maxEntries: 3, maxBytes: 1000 });
    for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) lru.set(key, entry(i));
    expect(lru.size).toBe(3);
    expect(lru.evictions).toBe(1);
    expect(lru.get('a', 0)).toBeUndefined();
    expect(lru.get('b', 0)?.value).toBe(1);
    expect(lru.get('d', 0)?.value).toBe(3);
  });

  it('counts a get as a use: the entry read survives the next eviction', () => {
    const lru = new LocalLru<string>({ maxEntries: 3, maxBytes: 1000 });
    lru.set('a', entry('A'));
    lru.set('b', entry('B'));
    lru.set('c', entry('C'));
    expect(lru.get('a', 0)?.value).toBe('A'); // order now b, c, a
    lru.set('d', entry('D'));
    expect(lru.get('b', 0)).toBeUndefined();
    expect(lru.get('a', 0)?.value).toBe('A');
    lru.set('e', entry('E')); // coldest is now c
    expect(lru.get('c', 0)).toBeUndefined();
    expect(lru.get('a', 0)?.value).toBe('A');
    expect(lru.get('d', 0)?.value).toBe('D');
    expect(lru.get('e', 0)?.value).toBe('E');
    expect(lru.evictions).toBe(2);
  });

  it('evicts the coldest entries, as many as needed, when over maxBytes', () => {
    const lru = new LocalLru<string>({ maxEntries: 100, maxBytes: 100 });
    lru.set('a', entry('A', 40));
    lru.set('b', entry('B', 30));
    lru.set('c', entry('C', 20));
    expect(lru.bytes).toBe(90);
    expect(lru.evictions).toBe(0);
    lru.set('d', entry('D', 75)); // 165: must drop a (40) and b (30) to reach 95
    expect(lru.evictions).toBe(2);
    expect(lru.bytes).toBe(95);
    expect(lru.size).toBe(2);
    expect(lru.get('a', 0)).toBeUndefined();
    expect(lru.get('b', 0)).toBeUndefined();
    expect(lru.get('c', 0)?.value).toBe('C');
    expect(lru.get('d', 0)?.value).toBe('D');
  });

  it('holds an entry of exactly maxBytes, alone', () => {
    const lru = new LocalLru<string>({ maxEntries: 10, maxBytes: 50 });
    lru.set('small', entry('s', 1));
    expect(lru.set('exact', entry('e', 50))).toBe(true);
    expect(lru.size).toBe(1);
    expect(lru.bytes).toBe(50);
    expect(lru.get('exact', 0)?.value).toBe('e');
    expect(lru.evictions).toBe(1);
  });

  it('refuses an entry bigger than maxBytes alone and holds nothing for it', () => {
    const lru = new LocalLru<string>({ maxEntries: 10, maxBytes: 50 });
    lru.set('other', entry('o', 20));
    expect(lru.set('huge', entry('h', 51))).toBe(false);
    expect(lru.get('huge', 0)).toBeUndefined();
    expect(lru.size).toBe(1);
    expect(lru.bytes).toBe(20);
    // Refusing it evicts nothing else.
    expect(lru.evictions).toBe(0);
    expect(lru.get('other', 0)?.value).toBe('o');
  });

  it('refusing a too-big replacement drops the old value of that key rather than keep it', () => {
    const lru = new LocalLru<string>({ maxEntries: 10, maxBytes: 50 });
    lru.set('k', entry('old', 10));
    expect(lru.set('k', entry('new', 60))).toBe(false);
    expect(lru.get('k', 0)).toBeUndefined();
    expect(lru.size).toBe(0);
    expect(lru.bytes).toBe(0);
  });

  it('replaces the entry of an existing key and keeps the byte count right', () => {
    const lru = new LocalLru<string>({ maxEntries: 10, maxBytes: 100 });
    lru.set('a', entry('A1', 30));
    lru.set('b', entry('B', 10));
    expect(lru.set('a', entry('A2', 50))).toBe(true);
    expect(lru.size).toBe(2);
    expect(lru.bytes).toBe(60);
    expect(lru.get('a', 0)?.value).toBe('A2');
    lru.set('a', entry('A3', 5));
    expect(lru.bytes).toBe(15);
    expect(lru.evictions).toBe(0);
  });

  it('makes a replaced key the most recently used', () => {
    const lru = new LocalLru<string>({ maxEntries: 2, maxBytes: 100 });
    lru.set('a', entry('A'));
    lru.set('b', entry('B'));
    lru.set('a', entry('A2')); // order now b, a
    lru.set('c', entry('C'));
    expect(lru.get('b', 0)).toBeUndefined();
    expect(lru.get('a', 0)?.value).toBe('A2');
  });

  it('delete removes one entry and its bytes; deleting a missing key changes nothing', () => {
    const lru = new LocalLru<string>(roomy);
    lru.set('a', entry('A', 11));
    lru.set('b', entry('B', 22));
    lru.delete('a');
    expect(lru.get('a', 0)).toBeUndefined();
    expect(lru.size).toBe(1);
    expect(lru.bytes).toBe(22);
    lru.delete('a');
    lru.delete('never');
    expect(lru.size).toBe(1);
    expect(lru.bytes).toBe(22);
    expect(lru.evictions).toBe(0);
  });

  it('clear empties the cache and resets bytes', () => {
    const lru = new LocalLru<string>(roomy);
    lru.set('a', entry('A', 11));
    lru.set('b', entry('B', 22));
    lru.clear();
    expect(lru.size).toBe(0);
    expect(lru.bytes).toBe(0);
    expect(lru.get('a', 0)).toBeUndefined();
    lru.set('c', entry('C', 5));
    expect(lru.bytes).toBe(5);
  });

  it('holds nothing with maxEntries 0', () => {
    const lru = new LocalLru<string>({ maxEntries: 0, maxBytes: 1000 });
    expect(lru.set('a', entry('A', 1))).toBe(false);
    expect(lru.get('a', 0)).toBeUndefined();
    expect(lru.size).toBe(0);
    expect(lru.bytes).toBe(0);
  });

  it('keeps its bounds and its byte count through any sequence of operations (property)', () => {
    type Op =
      | { kind: 'set'; key: string; bytes: number; expiresAt: number; staleUntil: number }
      | { kind: 'get'; key: string; now: number }
      | { kind: 'delete'; key: string }
      | { kind: 'clear' };
    const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h');
    const op: fc.Arbitrary<Op> = fc.oneof(
      {
        arbitrary: fc.record({
          kind: fc.constant('set' as const),
          key,
          bytes: fc.integer({ min: 0, max: 60 }),
          expiresAt: fc.integer({ min: 0, max: 100 }),
          staleUntil: fc.integer({ min: 0, max: 200 }),
        }),
        weight: 4,
      },
      {
        arbitrary: fc.record({
          kind: fc.constant('get' as const),
          key,
          now: fc.integer({ min: 0, max: 200 }),
        }),
        weight: 3,
      },
      { arbitrary: fc.record({ kind: fc.constant('delete' as const), key }), weight: 1 },
      { arbitrary: fc.constant({ kind: 'clear' as const }), weight: 1 },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 100 }),
        fc.array(op, { maxLength: 60 }),
        (maxEntries, maxBytes, ops) => {
          const lru = new LocalLru<number>({ maxEntries, maxBytes });
          // The model: keys from coldest to hottest, with their entries.
          let model: [string, LocalEntry<number>][] = [];
          let evictions = 0;
          ops.forEach((o, i) => {
            switch (o.kind) {
              case 'set': {
                const e = entry(i, o.bytes, o.expiresAt, o.staleUntil);
                model = model.filter(([k]) => k !== o.key);
                const fits = o.bytes <= maxBytes && maxEntries > 0;
                expect(lru.set(o.key, e)).toBe(fits);
                if (fits) {
                  model.push([o.key, e]);
                  const sum = (): number => model.reduce((s, [, m]) => s + m.bytes, 0);
                  while (model.length > maxEntries || sum() > maxBytes) {
                    model.shift();
                    evictions++;
                  }
                }
                break;
              }
              case 'get': {
                const at = model.findIndex(([k]) => k === o.key);
                const got = lru.get(o.key, o.now);
                if (at < 0) {
                  expect(got).toBeUndefined();
                  break;
                }
                const [, held] = model[at]!;
                model.splice(at, 1);
                if (o.now >= held.staleUntil) {
                  expect(got).toBeUndefined();
                } else {
                  model.push([o.key, held]);
                  expect(got).toEqual({ value: held.value, stale: o.now >= held.expiresAt });
                }
                break;
              }
              case 'delete':
                model = model.filter(([k]) => k !== o.key);
                lru.delete(o.key);
                break;
              case 'clear':
                model = [];
                lru.clear();
                break;
            }
            const modelBytes = model.reduce((s, [, m]) => s + m.bytes, 0);
            expect(lru.size).toBeLessThanOrEqual(maxEntries);
            expect(lru.bytes).toBeLessThanOrEqual(maxBytes);
            expect(lru.size).toBe(model.length);
            expect(lru.bytes).toBe(modelBytes);
            expect(lru.evictions).toBe(evictions);
          });
          // Every key the model holds is held, with its value.
          for (const [k, m] of model)
            expect(lru.get(k, -1)).toEqual({ value: m.value, stale: false });
        },
      ),
    );
  });
});
