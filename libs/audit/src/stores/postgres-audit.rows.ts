import type { AuditJson, AuditLevel, AuditOutcome, AuditRecord } from '../audit-event.js';
import type { AuditFilter, AuditPosition } from './audit.store.js';

/** A row of the events table as `pg` returns it. @internal */
export interface EventRow {
  readonly id: string;
  readonly chain: string;
  readonly seq: string;
  readonly occurred_at: Date;
  readonly service: string;
  readonly category: string;
  readonly level: string;
  readonly action: string;
  readonly outcome: string;
  readonly error_code: string | null;
  readonly actor: string | null;
  readonly tenant: string | null;
  readonly ip: string | null;
  readonly user_agent: string | null;
  readonly correlation_id: string | null;
  readonly resource_type: string | null;
  readonly resource_id: string | null;
  readonly subject: string | null;
  readonly tags: string[];
  readonly duration_ms: number | null;
  readonly data: { [key: string]: AuditJson } | null;
  readonly prev_hash: string;
  readonly hash: string;
}

/** @internal */
export function fromRow(row: EventRow): AuditRecord {
  return {
    id: row.id,
    chain: row.chain,
    seq: Number(row.seq),
    occurredAt: row.occurred_at.toISOString(),
    service: row.service,
    category: row.category,
    level: row.level as AuditLevel,
    action: row.action,
    outcome: row.outcome as AuditOutcome,
    errorCode: row.error_code,
    actor: row.actor,
    tenant: row.tenant,
    ip: row.ip,
    userAgent: row.user_agent,
    correlationId: row.correlation_id,
    resourceType: row.resource_type,
    resourceId: row.resource_id,
    subject: row.subject,
    tags: row.tags,
    durationMs: row.duration_ms,
    data: row.data,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/** COPY text format: backslash, tab, newline and CR escaped; `\N` is NULL. */
function copyValue(value: string | number | null): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  return value.replace(/[\\\t\n\r]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
  );
}

/** A PostgreSQL array literal of text: every element double-quoted. */
function textArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;
}

/** One line of COPY text for a record, in EVENT_COLUMNS order. @internal */
export function toCopyLine(r: AuditRecord): string {
  return (
    [
      r.id,
      r.chain,
      r.seq,
      r.occurredAt,
      r.service,
      r.category,
      r.level,
      r.action,
      r.outcome,
      r.errorCode,
      r.actor,
      r.tenant,
      r.ip,
      r.userAgent,
      r.correlationId,
      r.resourceType,
      r.resourceId,
      r.subject,
      textArray(r.tags),
      r.durationMs,
      r.data === null ? null : JSON.stringify(r.data),
      r.prevHash,
      r.hash,
    ]
      .map(copyValue)
      .join('\t') + '\n'
  );
}

/** Groups COPY lines into chunks of ~64 KiB, so the stream writes few large buffers. @internal */
export function* copyText(lines: readonly string[]): Generator<string> {
  let chunk = '';
  for (const line of lines) {
    chunk += line;
    if (chunk.length >= 65_536) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** `*` wildcards to a LIKE pattern, escaping LIKE's own `%`, `_` and `\`. */
function likePattern(pattern: string): string {
  return pattern.replace(/[\\%_]/g, '\\$&').replace(/\*/g, '%');
}

const EQUALS: readonly (readonly [keyof AuditFilter, string])[] = [
  ['actor', 'actor'],
  ['tenant', 'tenant'],
  ['resourceType', 'resource_type'],
  ['resourceId', 'resource_id'],
  ['correlationId', 'correlation_id'],
  ['subject', 'subject'],
  ['chain', 'chain'],
];

const ANY_OF: readonly (readonly ['category' | 'outcome' | 'level', string])[] = [
  ['category', 'category'],
  ['outcome', 'outcome'],
  ['level', 'level'],
];

/**
 * The WHERE clause of a filter (and a keyset position), with numbered parameters. Every value
 * is a parameter; column names come from the fixed tables above.
 * @internal
 */
export function whereClause(
  filter: AuditFilter,
  after: AuditPosition | undefined,
): { sql: string; values: unknown[] } {
  const conditions: string[] = [];
  const values: unknown[] = [];
  const param = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  if (filter.from !== undefined)
    conditions.push(`occurred_at >= ${param(filter.from.toISOString())}`);
  if (filter.to !== undefined) conditions.push(`occurred_at < ${param(filter.to.toISOString())}`);
  for (const [key, column] of EQUALS) {
    const value = filter[key];
    if (value !== undefined) conditions.push(`${column} = ${param(value)}`);
  }
  for (const [key, column] of ANY_OF) {
    const value = filter[key];
    if (value !== undefined)
      conditions.push(`${column} = ANY(${param(Array.isArray(value) ? value : [value])}::text[])`);
  }
  if (filter.action !== undefined) {
    conditions.push(
      filter.action.includes('*')
        ? `action LIKE ${param(likePattern(filter.action))}`
        : `action = ${param(filter.action)}`,
    );
  }
  if (filter.tag !== undefined) conditions.push(`${param(filter.tag)} = ANY(tags)`);
  if (after !== undefined) {
    conditions.push(
      `(occurred_at, id) > (${param(after.occurredAt)}::timestamptz, ${param(after.id)}::uuid)`,
    );
  }
  return { sql: conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`, values };
}
