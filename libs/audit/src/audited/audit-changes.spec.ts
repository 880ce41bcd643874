import { describe, expect, it } from '@jest/globals';
import { diffChanges, isChangeSet } from './audit-changes.js';

describe('isChangeSet', () => {
  it('accepts an object with before and after (and at most one more key)', () => {
    expect(isChangeSet({ before: 1, after: 2 })).toBe(true);
    expect(isChangeSet({ before: undefined, after: undefined })).toBe(true);
    expect(isChangeSet({ before: {}, after: {}, id: 'o-1' })).toBe(true);
  });

  it('refuses everything else', () => {
    expect(isChangeSet(null)).toBe(false);
    expect(isChangeSet(undefined)).toBe(false);
    expect(isChangeSet('before after')).toBe(false);
    expect(isChangeSet({ before: 1 })).toBe(false);
    expect(isChangeSet({ after: 1 })).toBe(false);
    expect(isChangeSet({ before: 1, after: 2, a: 3, b: 4 })).toBe(false);
  });
});

describe('diffChanges', () => {
  it('lists the top-level keys that differ, with before and after', () => {
    expect(
      diffChanges({
        before: { status: 'open', total: 10, owner: 'alice' },
        after: { status: 'paid', total: 10, owner: 'alice' },
      }),
    ).toEqual({ status: { before: 'open', after: 'paid' } });
  });

  it('writes a key missing on one side as null there', () => {
    expect(diffChanges({ before: { a: 1 }, after: { b: 2 } })).toEqual({
      a: { before: 1, after: null },
      b: { before: null, after: 2 },
    });
  });

  it('compares nested values as JSON (a Date equals another Date of the same instant)', () => {
    const at = '2026-12-02T10:00:00.000Z';
    expect(
      diffChanges({
        before: { at: new Date(at), items: [{ sku: 'x', qty: 1 }] },
        after: { at: new Date(at), items: [{ sku: 'x', qty: 1 }] },
      }),
    ).toBeUndefined();
    expect(
      diffChanges({ before: { items: [{ qty: 1 }] }, after: { items: [{ qty: 2 }] } }),
    ).toEqual({ items: { before: [{ qty: 1 }], after: [{ qty: 2 }] } });
  });

  it('is undefined when nothing changed', () => {
    expect(diffChanges({ before: { a: 1 }, after: { a: 1 } })).toBeUndefined();
    expect(diffChanges({ before: {}, after: {} })).toBeUndefined();
    expect(diffChanges({ before: 5, after: 5 })).toBeUndefined();
  });

  it('gives { value } for two non-objects (or arrays) that differ', () => {
    expect(diffChanges({ before: 1, after: 2 })).toEqual({ value: { before: 1, after: 2 } });
    expect(diffChanges({ before: [1], after: [1, 2] })).toEqual({
      value: { before: [1], after: [1, 2] },
    });
    expect(diffChanges({ before: undefined, after: { a: 1 } })).toEqual({
      value: { before: null, after: { a: 1 } },
    });
    expect(diffChanges({ before: { a: 1 }, after: null })).toEqual({
      value: { before: { a: 1 }, after: null },
    });
  });

  it('treats values JSON cannot hold as different unless identical', () => {
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    expect(diffChanges({ before: { x: cycle }, after: { x: cycle } })).toBeUndefined();
    const other: Record<string, unknown> = {};
    other['self'] = other;
    expect(diffChanges({ before: { x: cycle }, after: { x: other } })).toEqual({
      x: { before: cycle, after: other },
    });
    expect(diffChanges({ before: { n: 1n }, after: { n: 1n } })).toBeUndefined();
    expect(diffChanges({ before: { n: 1n }, after: { n: 2n } })).toEqual({
      n: { before: 1n, after: 2n },
    });
  });
});
