import { describe, expect, it } from '@jest/globals';
import { csvCell, csvHeader } from './csv.js';
import { decodeCursor, encodeCursor } from '../query/audit-cursor.js';

describe('CSV cells', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\r\nlines', '"two\r\nlines"'],
    ['=HYPERLINK("x")', `"'=HYPERLINK(""x"")"`],
    ['+1', "'+1"],
    ['-2', "'-2"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tcmd', "'\tcmd"],
    [null, ''],
    [12.5, '12.5'],
    [{ a: 1 }, '"{""a"":1}"'],
  ])('%j → %j (RFC 4180, formula cells neutralised)', (value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });

  it('has a CRLF-terminated header naming every field', () => {
    expect(csvHeader()).toMatch(/^id,occurredAt,chain,seq,.*,prevHash,hash\r\n$/);
  });
});

describe('query cursors', () => {
  const position = {
    occurredAt: '2026-12-02T10:00:00.123Z',
    id: '0193e0b2-7a3e-7c3e-8f00-1234567890ab',
  };

  it('round-trip a position', () => {
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
  });

  it.each([
    '',
    'garbage',
    Buffer.from('v2|x|y').toString('base64url'),
    encodeCursor(position).slice(0, -3),
  ])('reject a cursor this service did not issue (%j) with KEEL_AUDIT_INVALID_CURSOR', (cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(
      expect.objectContaining({ code: 'KEEL_AUDIT_INVALID_CURSOR', status: 400 }),
    );
  });
});
