import { AuditError } from '../audit.errors.js';
import { csvCell } from '../export/csv.js';
import type { AuditReport, AuditReportRow, AuditReportTally } from './audit-report.js';

/** Formats a report renders to. @publicApi */
export type AuditReportFormat = 'json' | 'csv' | 'pdf';

/** The columns of a report's row table, with their headings. */
function rowColumns(report: AuditReport): readonly (readonly [keyof AuditReportRow, string])[] {
  const fourth: readonly [keyof AuditReportRow, string] =
    report.kind === 'subject' ? ['purpose', 'Purpose'] : ['category', 'Category'];
  return [
    ['occurredAt', 'Time (UTC)'],
    ['actor', report.pseudonymised ? 'Staff (pseudonym)' : 'Actor'],
    ['action', 'Action'],
    fourth,
    ['resource', 'Resource'],
    ['outcome', 'Outcome'],
    ['errorCode', 'Error code'],
  ];
}

/** The summary as `[label, value]` pairs, in the order every format prints them. */
export function summaryLines(report: AuditReport): [string, string][] {
  const s = report.summary;
  const top = (tallies: readonly AuditReportTally[]): string =>
    tallies
      .slice(0, 5)
      .map((t) => `${t.value === '' ? '(none)' : t.value} (${t.count})`)
      .join(', ');
  const lines: [string, string][] = [
    ['Events', String(s.events)],
    ['Distinct actors', String(s.distinctActors)],
    ['Distinct resources', String(s.distinctResources)],
    ['Success', String(s.success)],
    ['Failure', String(s.failure)],
    ['Denied', String(s.denied)],
    ['First event', s.firstEventAt ?? '-'],
    ['Last event', s.lastEventAt ?? '-'],
    ['Top actors', top(s.byActor)],
    ['Top actions', top(s.byAction)],
    ['Top resource types', top(s.byResourceType)],
  ];
  if (s.byPurpose !== undefined) lines.push(['Purposes', top(s.byPurpose)]);
  if (report.rowsOmitted > 0) lines.push(['Rows omitted (maxRows)', String(report.rowsOmitted)]);
  return lines;
}

/**
 * A report as CSV: a `metric,value` table of the header and summary, an empty line, then the
 * row table. Cells are escaped as in exports (RFC 4180, formula-injection rule).
 * @internal
 */
export function reportCsv(report: AuditReport): string {
  const line = (cells: readonly unknown[]): string => cells.map(csvCell).join(',') + '\r\n';
  let out = line(['metric', 'value']);
  out += line(['report', report.title]);
  out += line(['from', report.from]);
  out += line(['to', report.to]);
  out += line(['generatedAt', report.generatedAt]);
  if (report.tenant !== undefined) out += line(['tenant', report.tenant]);
  if (report.subject !== undefined) out += line(['subject', report.subject]);
  for (const [label, value] of summaryLines(report)) out += line([label, value]);
  out += '\r\n';
  const columns = rowColumns(report);
  out += line(columns.map(([key]) => key));
  for (const row of report.rows) out += line(columns.map(([key]) => row[key] ?? ''));
  return out;
}

/** The font size and column widths (points) of the PDF's row table, on A4 landscape. */
const PDF = {
  margin: 40,
  body: 8,
  widths: [118, 105, 125, 95, 135, 55, 110] as const,
};

/** pdfkit's document, typed by the methods used (pdfkit is an optional peer, loaded lazily). */
interface PdfDocument {
  readonly page: { readonly height: number; readonly width: number };
  y: number;
  on(event: 'data', listener: (chunk: Buffer) => void): this;
  on(event: 'end' | 'error', listener: (arg?: unknown) => void): this;
  font(name: string): this;
  fontSize(size: number): this;
  text(text: string, x?: number, y?: number, options?: Record<string, unknown>): this;
  moveDown(lines?: number): this;
  addPage(): this;
  end(): void;
}

type PdfConstructor = new (options: Record<string, unknown>) => PdfDocument;

/** Loads pdfkit, or explains how to install it. */
async function loadPdfKit(): Promise<PdfConstructor> {
  try {
    const loaded = (await import('pdfkit')) as unknown as { default: PdfConstructor };
    return loaded.default;
  } catch (cause) {
    throw new AuditError(
      'KEEL_AUDIT_UNSUPPORTED',
      'PDF reports need the optional peer dependency pdfkit: npm install pdfkit (JSON and CSV need nothing)',
      { cause },
    );
  }
}

/**
 * A report as a PDF (A4 landscape): title, scope, period, the summary, then the row table,
 * continued over as many pages as it needs with the heading repeated.
 * @internal
 */
export async function reportPdf(report: AuditReport): Promise<Buffer> {
  const PDFDocument = await loadPdfKit();
  const doc = new PDFDocument({
    size: 'A4',
    layout: 'landscape',
    margin: PDF.margin,
    info: { Title: report.title, Creator: '@keel/audit' },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', (err) => reject(err));
  });
  writeHeader(doc, report);
  writeRows(doc, report);
  doc.end();
  return done;
}

function writeHeader(doc: PdfDocument, report: AuditReport): void {
  doc.font('Helvetica-Bold').fontSize(16).text(report.title);
  doc.font('Helvetica').fontSize(10).text(report.scope);
  doc.text(`Period: ${report.from} to ${report.to} (end exclusive)`);
  if (report.tenant !== undefined) doc.text(`Tenant: ${report.tenant}`);
  if (report.subject !== undefined) doc.text(`Data subject: ${report.subject}`);
  doc.text(`Generated: ${report.generatedAt}`);
  if (report.pseudonymised) {
    doc.text('Staff identities are pseudonymised (CJEU C-579/21); the controller holds the key.');
  }
  doc.moveDown();
  doc.font('Helvetica-Bold').fontSize(12).text('Summary');
  doc.font('Helvetica').fontSize(10);
  for (const [label, value] of summaryLines(report)) doc.text(`${label}: ${value}`);
  doc.moveDown();
}

function writeRows(doc: PdfDocument, report: AuditReport): void {
  const columns = rowColumns(report);
  const lineHeight = PDF.body * 1.6;
  const bottom = doc.page.height - PDF.margin;
  const headings = columns.map(([, heading]) => heading);
  const writeLine = (cells: readonly string[], bold: boolean): void => {
    if (doc.y + lineHeight > bottom) {
      doc.addPage();
      if (!bold) writeLine(headings, true);
    }
    const y = doc.y;
    doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(PDF.body);
    let x = PDF.margin;
    cells.forEach((cell, i) => {
      const width = PDF.widths[i] ?? 80;
      doc.text(cell, x, y, { width: width - 4, lineBreak: false, ellipsis: true });
      x += width;
    });
    doc.y = y + lineHeight;
  };
  doc.font('Helvetica-Bold').fontSize(12).text(`Events (${report.rows.length})`, PDF.margin);
  writeLine(headings, true);
  for (const row of report.rows) {
    writeLine(
      columns.map(([key]) => row[key] ?? ''),
      false,
    );
  }
  if (report.rowsOmitted > 0) {
    writeLine([`… ${report.rowsOmitted} more events (raise maxRows, or export them)`], false);
  }
}
