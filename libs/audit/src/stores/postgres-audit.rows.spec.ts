import { describe, expect, it } from '@jest/globals';
import type { AuditRecord } from '../audit-event.js';
import {
  copyText,
  fromRow,
  toCopyLine,
  whereClause,
  type EventRow,
} from './postgres-audit.rows.js';
import { EVENT_COLUMNS } from './postgres-audit.sql.js';

const ID = '0190f000-0000-7000-8000-000000000001';

function record(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    id: ID,
    chain: 'shard-0',
    seq: 7,
    prevHash: 'a'.repeat(64),
    hash: 'b'.repeat(64),
    occurredAt: '2026-12-02T10:00:00.123Z',
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
    tags: ['phi', 'sox'],
    durationMs: 1.5,
    data: { amount: 10 },
    ...overrides,
  };
}

describe('fromRow', () => {
  it('maps a pg row (snake_case, bigint as text, timestamptz as Date) to a record', () => {
    const row: EventRow = {
      id: ID,
      chain: 'shard-0',
      seq: '7',
      occurred_at: new Date('2026-12-02T10:00:00.123Z'),
      service: 'orders',
      category: 'DATA_CHANGE',
      level: 'INFO',
      action: 'order.update',
      outcome: 'success',
      error_code: null,
      actor: 'alice',
      tenant: 'acme',
      ip: '10.0.0.1',
      user_agent: null,
      correlation_id: 'c-1',
      resource_type: 'order',
      resource_id: 'o-1',
      subject: null,
      tags: ['phi', 'sox'],
      duration_ms: 1.5,
      data: { amount: 10 },
      prev_hash: 'a'.repeat(64),
      hash: 'b'.repeat(64),
    };
    expect(fromRow(row)).toEqual(record());
  });
});

describe('toCopyLine', () => {
  it('writes one tab-separated line in EVENT_COLUMNS order, \\N for NULL', () => {
    const line = toCopyLine(record());
    expect(line.endsWith('\n')).toBe(true);
    const cells = line.slice(0, -1).split('\t');
    expect(cells).toHaveLength(EVENT_COLUMNS.length);
    const byColumn = Object.fromEntries(EVENT_COLUMNS.map((c, i) => [c, cells[i]]));
    expect(byColumn).toMatchObject({
      id: ID,
      seq: '7',
      occurred_at: '2026-12-02T10:00:00.123Z',
      error_code: '\\N',
      user_agent: '\\N',
      tags: '{"phi","sox"}',
      duration_ms: '1.5',
      data: '{"amount":10}',
      hash: 'b'.repeat(64),
    });
  });

  it('escapes backslash, tab, newline and CR, and quotes array elements', () => {
    const line = toCopyLine(
      record({
        actor: 'a\\b\tc\nd\re',
        tags: ['x"y', 'p\\q'],
        data: null,
        durationMs: null,
      }),
    );
    const cells = line.slice(0, -1).split('\t');
    const byColumn = Object.fromEntries(EVENT_COLUMNS.map((c, i) => [c, cells[i]]));
    expect(byColumn['actor']).toBe('a\\\\b\\tc\\nd\\re');
    expect(byColumn['tags']).toBe('{"x\\\\"y","p\\\\\\\\q"}');
    expect(byColumn['data']).toBe('\\N');
    expect(byColumn['duration_ms']).toBe('\\N');
    expect(toCopyLine(record({ tags: [] })).split('\t')[18]).toBe('{}');
  });
});

describe('copyText', () => {
  it('groups lines into chunks of at least 64 KiB, the rest in a last chunk', () => {
    const line = 'x'.repeat(1_000) + '\n';
    const chunks = [...copyText(Array.from({ length: 150 }, () => line))];
    expect(chunks).toHaveLength(3);
    expect(chunks[0]!.length).toBe(66 * 1_001);
    expect(chunks[1]!.length).toBe(66 * 1_001);
    expect(chunks[2]!.length).toBe(18 * 1_001);
    expect(chunks.join('')).toBe(line.repeat(150));
  });

  it('yields nothing for no lines', () => {
    expect([...copyText([])]).toEqual([]);
  });
});

describe('whereClause', () => {
  it('is empty for an empty filter', () => {
    expect(whereClause({}, undefined)).toEqual({ sql: '', values: [] });
  });

  it('numbers one parameter per value, column names from fixed tables', () => {
    const { sql, values } = whereClause(
      {
        from: new Date('2026-11-01T00:00:00.000Z'),
        to: new Date('2026-12-01T00:00:00.000Z'),
        actor: 'alice',
        resourceType: 'order',
        category: ['DATA_CHANGE', 'EXPORT'],
        outcome: 'failure',
        action: 'order.update',
        tag: 'sox',
      },
      { occurredAt: '2026-11-15T00:00:00.000Z', id: ID },
    );
    expect(sql).toBe(
      'WHERE occurred_at >= $1 AND occurred_at < $2 AND actor = $3 AND resource_type = $4' +
        ' AND category = ANY($5::text[]) AND outcome = ANY($6::text[]) AND action = $7' +
        ' AND $8 = ANY(tags) AND (occurred_at, id) > ($9::timestamptz, $10::uuid)',
    );
    expect(values).toEqual([
      '2026-11-01T00:00:00.000Z',
      '2026-12-01T00:00:00.000Z',
      'alice',
      'order',
      ['DATA_CHANGE', 'EXPORT'],
      ['failure'],
      'order.update',
      'sox',
      '2026-11-15T00:00:00.000Z',
      ID,
    ]);
  });

  it('turns * into LIKE %, escaping LIKE wildcards of the pattern', () => {
    expect(whereClause({ action: 'order_100%.*' }, undefined)).toEqual({
      sql: 'WHERE action LIKE $1',
      values: ['order\\_100\\%.%'],
    });
  });

  it('covers every equality field and level', () => {
    const { sql, values } = whereClause(
      {
        tenant: 't',
        resourceId: 'r',
        correlationId: 'c',
        subject: 's',
        chain: 'ch',
        level: 'CRITICAL',
      },
      undefined,
    );
    expect(sql).toBe(
      'WHERE tenant = $1 AND resource_id = $2 AND correlation_id = $3 AND subject = $4' +
        ' AND chain = $5 AND level = ANY($6::text[])',
    );
    expect(values).toEqual(['t', 'r', 'c', 's', 'ch', ['CRITICAL']]);
  });
});
