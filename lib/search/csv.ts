/**
 * CSV export of exactly the filtered result (電子帳簿保存法「ダウンロードの求め」): every matching
 * row, never one page. UTF-8 with a BOM so Excel opens it, RFC 4180 quoting, CRLF line ends.
 * Rows are read in keyset batches with the same indexed query as the search page (no OFFSET and
 * no full buffering: memory stays at one batch), and streamed to the caller as they arrive.
 * When the stream ends (or the client goes away) an AuditEvent `search.exported` records who
 * exported which filters, the sort, the number of rows and whether the download completed.
 */
import type { Db } from '../db';
import type { StaffActor } from '../auth/types';
import { recordAuditNow, type RequestContext, staffAuditFields } from '../audit';
import { filtersForAudit, parseFilters, parsePageOptions, type PageOptionsInput, type SearchFiltersInput } from './filters';
import { fetchPage, scopeFor, searchWhere } from './search';
import type { CursorPosition, RawRow } from './query';
import { statusLabel } from './labels';

export const CSV_HEADERS = [
  '書類ID',
  '案件名',
  '取引先',
  '取引年月日',
  '取引金額',
  '税込/税抜',
  '契約番号',
  '状態',
  '書面/電子',
  '完了日時',
] as const;

const BATCH = 1000;

/**
 * One CSV field. Quoted when it contains a quote, comma, CR or LF or starts/ends with spaces.
 * A text cell starting with = + - @ (or tab/CR) gets a leading ' so spreadsheet software does not
 * run it as a formula (CSV injection); numbers and dates never start with those.
 */
export function csvField(v: string): string {
  let s = v;
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  if (/[",\r\n]|^\s|\s$/.test(s)) return `"${s.replace(/"/g, '""')}"`;
  return s;
}

export function csvLine(fields: readonly string[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}

const tokyo = new Intl.DateTimeFormat('sv-SE', {
  timeZone: 'Asia/Tokyo',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});

/** 2026-11-27 15:04:05 (Asia/Tokyo) */
export function tokyoDateTime(d: Date | null): string {
  return d ? tokyo.format(d) : '';
}

export function csvRow(r: RawRow): string {
  return csvLine([
    r.documentNumber,
    r.title,
    r.counterparty,
    r.transactionDate ?? '',
    r.amount === null ? '' : String(r.amount),
    r.amount === null ? '' : r.amountTaxIncluded ? '税込' : '税抜',
    r.contractNumber ?? '',
    statusLabel(r.status),
    r.isPaper ? '書面' : '電子',
    tokyoDateTime(r.completedAt),
  ]);
}

export function csvFileName(now = new Date()): string {
  return `contracts-${tokyoDateTime(now).replace(/[-: ]/g, '').replace(/^(\d{8})/, '$1-')}.csv`;
}

/**
 * The CSV as a stream of UTF-8 chunks (first chunk: BOM + header). Validates the filters before
 * the first byte, so a bad request fails with AppError('validation') instead of a broken file.
 */
export function exportSearchCsv(
  db: Db,
  actor: StaffActor,
  filters: SearchFiltersInput,
  options: Omit<PageOptionsInput, 'cursor' | 'limit'> = {},
  ctx: RequestContext = {},
): AsyncGenerator<Uint8Array> {
  const f = parseFilters(filters);
  const o = parsePageOptions({ sort: options.sort, direction: options.direction });
  const scope = scopeFor(actor);
  const enc = new TextEncoder();
  async function* gen(): AsyncGenerator<Uint8Array> {
    let rows = 0;
    let complete = false;
    try {
      yield enc.encode(`\uFEFF${csvLine(CSV_HEADERS)}`);
      const where = (await searchWhere(db, scope, f, o)).page;
      let cursor: CursorPosition | null = null;
      for (;;) {
        const page = await fetchPage(db, where, o.sort, o.direction, cursor, BATCH);
        if (page.rows.length) {
          const chunk = enc.encode(page.rows.map(csvRow).join(''));
          rows += page.rows.length;
          yield chunk;
        }
        if (!page.next) break;
        cursor = page.next;
      }
      complete = true;
    } finally {
      await recordAuditNow(db, {
        ...staffAuditFields(actor, { ip: ctx.ip, userAgent: ctx.userAgent }),
        action: 'search.exported',
        details: { filters: filtersForAudit(f), sort: o.sort, direction: o.direction, rows, complete },
      });
    }
  }
  return gen();
}

/** Wrap the generator as a web ReadableStream (pull-based: the DB is read as the client reads). */
export function csvReadableStream(chunks: AsyncGenerator<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await chunks.next();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (e) {
        controller.error(e);
      }
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
}
