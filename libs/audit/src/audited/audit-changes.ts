import type { AuditChangeSet } from './audited.decorator.js';

/** `{ key: { before, after } }` for each changed key. @internal */
export type AuditChanges = Record<string, { readonly before: unknown; readonly after: unknown }>;

/** True when `value` looks like `{ before, after }`. @internal */
export function isChangeSet(value: unknown): value is AuditChangeSet {
  return (
    value !== null &&
    typeof value === 'object' &&
    'before' in value &&
    'after' in value &&
    Object.keys(value).length <= 3
  );
}

/**
 * The top-level keys whose values differ between `before` and `after` (compared as JSON, so a
 * Date equals its ISO string's Date). Two non-objects that differ give `{ value: { before,
 * after } }`; a key absent on one side is `null` there. `undefined` when nothing changed.
 * @internal
 */
export function diffChanges(change: AuditChangeSet): AuditChanges | undefined {
  const { before, after } = change;
  if (!isPlainRecord(before) || !isPlainRecord(after)) {
    return same(before, after)
      ? undefined
      : { value: { before: before ?? null, after: after ?? null } };
  }
  const changes: AuditChanges = {};
  let changed = false;
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (same(before[key], after[key])) continue;
    changes[key] = { before: before[key] ?? null, after: after[key] ?? null };
    changed = true;
  }
  return changed ? changes : undefined;
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  try {
    return JSON.stringify(a) === JSON.stringify(b);
  } catch {
    // Cycles or BigInts: only identity counts.
    return false;
  }
}
