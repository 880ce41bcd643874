import { describe, expect, it } from '@jest/globals';
import { Pool, fnv1a } from './balancers.js';
import type { ServiceInstance } from './interfaces/instance.interface.js';

const instance = (id: string, weight = 1, zone?: string): ServiceInstance => ({
  id,
  service: 's',
  address: { host: '127.0.0.1', port: 1 },
  version: '1.0.0',
  tags: [],
  metadata: {},
  weight,
  ...(zone ? { zone } : {}),
  checks: [],
  status: 'passing',
  registeredAt: 0,
  heartbeatAt: 0,
  updatedAt: 0,
  expiresAt: 0,
});

const count = (picks: ServiceInstance[]) => {
  const counts: Record<string, number> = {};
  for (const p of picks) counts[p.id] = (counts[p.id] ?? 0) + 1;
  return counts;
};

describe('Pool strategies', () => {
  it('round-robin is exact', () => {
    const pool = new Pool([instance('a'), instance('b'), instance('c')]);
    const picks = Array.from({ length: 9_999 }, () => pool.roundRobin());
    expect(count(picks)).toEqual({ a: 3_333, b: 3_333, c: 3_333 });
    expect(picks.slice(0, 4).map((p) => p.id)).toEqual(['a', 'b', 'c', 'a']);
  });

  it('defaults to weighted when weights differ, round-robin otherwise', () => {
    expect(new Pool([instance('a'), instance('b')]).defaultStrategy(undefined)).toBe('round-robin');
    expect(new Pool([instance('a', 1), instance('b', 3)]).defaultStrategy(undefined)).toBe(
      'weighted',
    );
    expect(new Pool([instance('a', 1), instance('b', 3)]).defaultStrategy('random')).toBe('random');
  });

  it('weighted follows the weights within tolerance over 10k picks', () => {
    const pool = new Pool([instance('a', 1), instance('b', 3), instance('c', 6)]);
    const counts = count(Array.from({ length: 10_000 }, () => pool.weighted()));
    // Expected 1 000 / 3 000 / 6 000; ±15 % is > 5 standard deviations for each.
    expect(counts.a).toBeGreaterThan(850);
    expect(counts.a).toBeLessThan(1_150);
    expect(counts.b).toBeGreaterThan(2_550);
    expect(counts.b).toBeLessThan(3_450);
    expect(counts.c).toBeGreaterThan(5_100);
    expect(counts.c).toBeLessThan(6_900);
  });

  it('weight 0 is never picked', () => {
    const pool = new Pool([instance('a', 0), instance('b', 2)]);
    expect(count(Array.from({ length: 2_000 }, () => pool.weighted())).a).toBeUndefined();
  });

  it('random covers every instance', () => {
    const pool = new Pool([instance('a'), instance('b'), instance('c'), instance('d')]);
    const counts = count(Array.from({ length: 10_000 }, () => pool.random()));
    for (const id of ['a', 'b', 'c', 'd']) expect(counts[id]).toBeGreaterThan(2_000);
  });

  it('least-outstanding picks the least busy, round-robin among ties', () => {
    const pool = new Pool([instance('a'), instance('b'), instance('c')]);
    const outstanding = new Map([
      ['a', 3],
      ['b', 1],
      ['c', 2],
    ]);
    expect(pool.leastOutstanding(outstanding).id).toBe('b');
    const idle = new Map<string, number>();
    expect(count(Array.from({ length: 300 }, () => pool.leastOutstanding(idle)))).toEqual({
      a: 100,
      b: 100,
      c: 100,
    });
  });

  it('consistent-hash is stable per key and moves few keys when an instance leaves', () => {
    const all = ['a', 'b', 'c', 'd', 'e'].map((id) => instance(id));
    const pool = new Pool(all);
    const keys = Array.from({ length: 2_000 }, (_, i) => `user-${i}`);
    const before = keys.map((k) => pool.consistentHash(k).id);
    expect(keys.map((k) => pool.consistentHash(k).id)).toEqual(before);
    const spread = count(keys.map((k) => pool.consistentHash(k)));
    for (const id of ['a', 'b', 'c', 'd', 'e']) expect(spread[id]).toBeGreaterThan(200);
    const smaller = new Pool(all.filter((i) => i.id !== 'c'));
    const after = keys.map((k) => smaller.consistentHash(k).id);
    const moved = keys.filter((_, i) => before[i] !== 'c' && before[i] !== after[i]).length;
    expect(moved).toBe(0);
  });

  it('inZone returns the zone view or undefined', () => {
    const pool = new Pool([instance('a', 1, 'z1'), instance('b', 1, 'z2'), instance('c', 1, 'z1')]);
    expect(pool.inZone('z1')!.instances.map((i) => i.id)).toEqual(['a', 'c']);
    expect(pool.inZone('z9')).toBeUndefined();
  });

  it('fnv1a spreads similar strings', () => {
    expect(fnv1a('a#1')).not.toBe(fnv1a('a#2'));
    expect(fnv1a('x')).toBe(fnv1a('x'));
  });
});
