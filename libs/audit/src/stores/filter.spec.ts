import { describe, expect, it } from '@jest/globals';
import type { AuditRecord } from '../audit-event.js';
import { compileFilter, comparePosition, monthBounds, monthOf, wildcardPattern } from './filter.js';

function record(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    id: '0190f000-0000-7000-8000-000000000001',
    chain: 'shard-0',
    seq: 1,
    prevHash: '0'.repeat(64),
    hash: 'f'.repeat(64),
    occurredAt: '2026-12-02T10:00:00.000Z',
    service: 'orders',
    category: 'DATA_CHANGE',
    level: 'INFO',
    action: 'order.update',
    outcome: 'success',
    errorCode: null,
    actor: 'alice',
    tenant: 'acme',
    ip: '10.0.0.1',
    userAgent: 'jest',
    correlationId: 'c-1',
    resourceType: 'order',
    resourceId: 'o-1',
    subject: 'customer-7',
    tags: ['phi', 'sox'],
    durationMs: 3,
    data: null,
    ...overrides,
  };
}

describe('wildcardPattern', () => {
  it('turns * into "any run of characters" and anchors the pattern', () => {
    const pattern = wildcardPattern('order.*');
    expect(pattern.test('order.update')).toBe(true);
    expect(pattern.test('order.')).toBe(true);
    expect(pattern.test('my.order.update')).toBe(false);
    expect(wildcardPattern('*.login').test('user.login')).toBe(true);
    expect(wildcardPattern('*.login').test('user.login.failed')).toBe(false);
  });

  it('treats every other RegExp character literally', () => {
    expect(wildcardPattern('order.update').test('orderXupdate')).toBe(false);
    expect(wildcardPattern('a+b').test('aab')).toBe(false);
    expect(wildcardPattern('a+b').test('a+b')).toBe(true);
    expect(wildcardPattern('(x)|[y]?').test('(x)|[y]?')).toBe(true);
    expect(wildcardPattern('(x)|[y]?').test('x')).toBe(false);
    expect(wildcardPattern('$^{1}\\').test('$^{1}\\')).toBe(true);
  });

  it('matches exactly when there is no wildcard', () => {
    expect(wildcardPattern('user.login').test('user.login')).toBe(true);
    expect(wildcardPattern('user.login').test('user.logins')).toBe(false);
  });
});

describe('compileFilter', () => {
  it('matches everything with an empty filter', () => {
    expect(compileFilter({})(record())).toBe(true);
  });

  it('keeps from inclusive and to exclusive', () => {
    const at = new Date('2026-12-02T10:00:00.000Z');
    expect(compileFilter({ from: at })(record())).toBe(true);
    expect(compileFilter({ to: at })(record())).toBe(false);
    expect(compileFilter({ to: new Date(at.getTime() + 1) })(record())).toBe(true);
    expect(compileFilter({ from: new Date(at.getTime() + 1) })(record())).toBe(false);
  });

  it('accepts one value or a list for category, outcome and level', () => {
    expect(compileFilter({ category: 'DATA_CHANGE' })(record())).toBe(true);
    expect(compileFilter({ category: 'EXPORT' })(record())).toBe(false);
    expect(compileFilter({ category: ['EXPORT', 'DATA_CHANGE'] })(record())).toBe(true);
    expect(compileFilter({ category: ['EXPORT', 'SECURITY'] })(record())).toBe(false);
    expect(compileFilter({ outcome: ['failure', 'denied'] })(record())).toBe(false);
    expect(compileFilter({ outcome: 'denied' })(record({ outcome: 'denied' }))).toBe(true);
    expect(compileFilter({ level: ['INFO'] })(record())).toBe(true);
    expect(compileFilter({ level: 'CRITICAL' })(record())).toBe(false);
  });

  it('matches actions by wildcard pattern', () => {
    expect(compileFilter({ action: 'order.*' })(record())).toBe(true);
    expect(compileFilter({ action: 'user.*' })(record())).toBe(false);
    expect(compileFilter({ action: 'order.update' })(record())).toBe(true);
  });

  it('compares every equality field, and null never equals a wanted value', () => {
    const cases: [Parameters<typeof compileFilter>[0], Partial<AuditRecord>][] = [
      [{ actor: 'alice' }, { actor: 'bob' }],
      [{ tenant: 'acme' }, { tenant: null }],
      [{ resourceType: 'order' }, { resourceType: 'user' }],
      [{ resourceId: 'o-1' }, { resourceId: 'o-2' }],
      [{ correlationId: 'c-1' }, { correlationId: null }],
      [{ subject: 'customer-7' }, { subject: 'customer-8' }],
      [{ chain: 'shard-0' }, { chain: 'shard-1' }],
    ];
    for (const [filter, other] of cases) {
      expect(compileFilter(filter)(record())).toBe(true);
      expect(compileFilter(filter)(record(other))).toBe(false);
    }
  });

  it('selects by tag membership', () => {
    expect(compileFilter({ tag: 'sox' })(record())).toBe(true);
    expect(compileFilter({ tag: 'pci' })(record())).toBe(false);
    expect(compileFilter({ tag: 'sox' })(record({ tags: [] }))).toBe(false);
  });

  it('needs every field to match (AND)', () => {
    const matches = compileFilter({ actor: 'alice', outcome: 'failure' });
    expect(matches(record())).toBe(false);
    expect(matches(record({ outcome: 'failure' }))).toBe(true);
    expect(matches(record({ outcome: 'failure', actor: 'bob' }))).toBe(false);
  });
});

describe('comparePosition', () => {
  it('orders by occurredAt, then by id', () => {
    const a = { occurredAt: '2026-12-01T00:00:00.000Z', id: 'b' };
    const b = { occurredAt: '2026-12-02T00:00:00.000Z', id: 'a' };
    expect(comparePosition(a, b)).toBe(-1);
    expect(comparePosition(b, a)).toBe(1);
    expect(comparePosition(a, { ...a, id: 'c' })).toBe(-1);
    expect(comparePosition({ ...a, id: 'c' }, a)).toBe(1);
    expect(comparePosition(a, { ...a })).toBe(0);
  });

  it('sorts a list into keyset order', () => {
    const list = [
      { occurredAt: '2026-12-02T00:00:00.000Z', id: '2' },
      { occurredAt: '2026-12-01T00:00:00.000Z', id: '9' },
      { occurredAt: '2026-12-02T00:00:00.000Z', id: '1' },
    ];
    expect([...list].sort(comparePosition).map((p) => p.id)).toEqual(['9', '1', '2']);
  });
});

describe('monthOf and monthBounds', () => {
  it('takes YYYY-MM of an ISO timestamp', () => {
    expect(monthOf('2026-12-02T10:00:00.000Z')).toBe('2026-12');
    expect(monthOf('2027-01-31T23:59:59.999Z')).toBe('2027-01');
  });

  it('gives the first instant of the month and of the next one, UTC', () => {
    expect(monthBounds('2026-11')).toEqual({
      from: new Date('2026-11-01T00:00:00.000Z'),
      to: new Date('2026-12-01T00:00:00.000Z'),
    });
  });

  it('rolls December over into January of the next year', () => {
    expect(monthBounds('2026-12')).toEqual({
      from: new Date('2026-12-01T00:00:00.000Z'),
      to: new Date('2027-01-01T00:00:00.000Z'),
    });
  });

  it('holds February of a leap year to 29 days', () => {
    const { from, to } = monthBounds('2028-02');
    expect((to.getTime() - from.getTime()) / 86_400_000).toBe(29);
  });
});
