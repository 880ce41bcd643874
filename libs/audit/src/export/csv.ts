import type { AuditRecord } from '../audit-event.js';

/** The CSV columns of an export, in order: every field of a record. @internal */
export const CSV_COLUMNS = [
  'id',
  'occurredAt',
  'chain',
  'seq',
  'service',
  'category',
  'level',
  'action',
  'outcome',
  'errorCode',
  'actor',
  'tenant',
  'ip',
  'userAgent',
  'correlationId',
  'resourceType',
  'resourceId',
  'subject',
  'tags',
  'durationMs',
  'data',
  'prevHash',
  'hash',
] as const satisfies readonly (keyof AuditRecord)[];

/** Cells a spreadsheet would run as a formula start with one of these (OWASP CSV injection). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV cell: RFC 4180 quoting (a cell holding a comma, quote, CR or LF is quoted, quotes
 * doubled), and a leading `'` before a cell that a spreadsheet would read as a formula.
 * @internal
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text =
    typeof value === 'string'
      ? value
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The header line, CRLF-terminated as RFC 4180 asks. @internal */
export function csvHeader(): string {
  return CSV_COLUMNS.join(',') + '\r\n';
}

/** One record as a CSV line (tags joined with `;`, data as JSON). @internal */
export function csvLine(record: AuditRecord): string {
  let line = '';
  for (let i = 0; i < CSV_COLUMNS.length; i++) {
    const column = CSV_COLUMNS[i]!;
    const value = column === 'tags' ? record.tags.join(';') : record[column];
    line += (i === 0 ? '' : ',') + csvCell(value);
  }
  return line + '\r\n';
}
