import { once } from 'node:events';
import type { Writable } from 'node:stream';

/**
 * A campaign's report: one row per record, written as it is read (a page at a time), so 100,000 rows never
 * sit in memory. Only identifiers, states and Hero's statuses: never an NHS number, date of birth, phone
 * number or link.
 */

export const REPORT_COLUMNS = [
  'recordId',
  'workflowId',
  'state',
  'outcome',
  'bookedAt',
  'remindersSent',
  'deliveryStatus',
  'review',
  'duplicateOf',
] as const;
export type ReportColumn = (typeof REPORT_COLUMNS)[number];

/** One record's row; a field without a value is left out (an empty CSV cell, absent in JSON). */
export type ReportRow = Partial<Record<ReportColumn, string | number>> & { recordId: string };

export type ReportFormat = 'csv' | 'jsonl';
export const REPORT_FORMATS: readonly ReportFormat[] = ['csv', 'jsonl'];

/** A CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line break, quotes doubled. */
export function csvCell(value: string | number | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The header line of a CSV report. */
export const csvHeader = (): string => REPORT_COLUMNS.join(',') + '\r\n';

/** A row as one CSV line (CRLF, as RFC 4180 and spreadsheets expect). */
export const csvRow = (row: ReportRow): string => REPORT_COLUMNS.map((c) => csvCell(row[c])).join(',') + '\r\n';

/** A row as one JSON line, its fields in the columns' order. */
export function jsonlRow(row: ReportRow): string {
  const ordered: Record<string, string | number> = {};
  for (const c of REPORT_COLUMNS) if (row[c] !== undefined) ordered[c] = row[c];
  return JSON.stringify(ordered) + '\n';
}

/**
 * Writes `rows` to `out` as they come, waiting whenever `out` is backed up, so the rows in memory are
 * never more than the reader holds (a page). Returns the number of rows written; does not end `out`.
 */
export async function writeReport(
  rows: AsyncIterable<ReportRow>,
  out: Writable,
  format: ReportFormat,
): Promise<number> {
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  if (format === 'csv') await write(csvHeader());
  let n = 0;
  for await (const row of rows) {
    await write(format === 'csv' ? csvRow(row) : jsonlRow(row));
    n += 1;
  }
  return n;
}
