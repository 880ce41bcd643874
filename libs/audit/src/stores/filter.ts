import type { AuditRecord } from '../audit-event.js';
import type { AuditFilter, AuditPosition } from './audit.store.js';

/** A `*` wildcard pattern as a RegExp (`order.*` matches `order.update`). @internal */
export function wildcardPattern(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}

function oneOf<T>(wanted: T | readonly T[] | undefined, value: T): boolean {
  if (wanted === undefined) return true;
  return Array.isArray(wanted) ? (wanted as readonly T[]).includes(value) : wanted === value;
}

/**
 * The in-memory form of an {@link AuditFilter}, as the file store applies it; the PostgreSQL
 * store translates the same filter to SQL, and the contract suite holds both to the same result.
 * @internal
 */
export function compileFilter(filter: AuditFilter): (record: AuditRecord) => boolean {
  const from = filter.from?.toISOString();
  const to = filter.to?.toISOString();
  const action = filter.action === undefined ? undefined : wildcardPattern(filter.action);
  return (r) =>
    (from === undefined || r.occurredAt >= from) &&
    (to === undefined || r.occurredAt < to) &&
    oneOf(filter.category, r.category as never) &&
    oneOf(filter.outcome, r.outcome) &&
    oneOf(filter.level, r.level) &&
    (action === undefined || action.test(r.action)) &&
    (filter.actor === undefined || r.actor === filter.actor) &&
    (filter.tenant === undefined || r.tenant === filter.tenant) &&
    (filter.resourceType === undefined || r.resourceType === filter.resourceType) &&
    (filter.resourceId === undefined || r.resourceId === filter.resourceId) &&
    (filter.correlationId === undefined || r.correlationId === filter.correlationId) &&
    (filter.subject === undefined || r.subject === filter.subject) &&
    (filter.chain === undefined || r.chain === filter.chain) &&
    (filter.tag === undefined || r.tags.includes(filter.tag));
}

/** Orders records by `(occurredAt, id)`, the keyset order of every query. @internal */
export function comparePosition(a: AuditPosition, b: AuditPosition): number {
  if (a.occurredAt !== b.occurredAt) return a.occurredAt < b.occurredAt ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** `YYYY-MM` of an ISO timestamp: the month (partition) an event belongs to. @internal */
export function monthOf(occurredAt: string): string {
  return occurredAt.slice(0, 7);
}

/** The first instant of a `YYYY-MM` month and of the next one, UTC. @internal */
export function monthBounds(month: string): { from: Date; to: Date } {
  const [year, mon] = month.split('-').map(Number) as [number, number];
  return { from: new Date(Date.UTC(year, mon - 1, 1)), to: new Date(Date.UTC(year, mon, 1)) };
}
