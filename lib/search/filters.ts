/**
 * Search filters (電子帳簿保存法 検索要件) and paging options, validated with zod.
 * Forms and query strings arrive as strings: `parseSearchParams` accepts full-width digits,
 * thousands separators and 「円」 in amounts, and YYYY-MM-DD or YYYY/MM/DD dates.
 */
import { z } from 'zod';
import { AppError } from '../errors';

export const ENVELOPE_STATUSES = [
  'draft',
  'sent',
  'in_progress',
  'sealing',
  'completed',
  'declined',
  'voided',
  'expired',
] as const;
export type EnvelopeStatusValue = (typeof ENVELOPE_STATUSES)[number];

/** Fields that can be searched for being empty (DOMAIN.md: 「空欄の記録も検索できる」). */
export const EMPTY_FIELDS = ['counterparty', 'transactionDate', 'amount', 'contractNumber'] as const;
export type EmptyField = (typeof EMPTY_FIELDS)[number];

export const SORT_KEYS = ['transactionDate', 'amount', 'counterparty'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export type Direction = 'asc' | 'desc';

const MAX_AMOUNT = 9_000_000_000_000_000n;

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, '日付は YYYY-MM-DD の形式で入力してください。')
  .refine((s) => {
    const d = new Date(`${s}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
  }, '存在しない日付です。');

const yen = z
  .union([z.bigint(), z.number().int(), z.string().regex(/^\d+$/, '金額は半角数字（円）で入力してください。')])
  .transform((v) => BigInt(v))
  .refine((v) => v >= 0n && v <= MAX_AMOUNT, '金額が範囲外です。');

const text = z.string().trim().max(200, '200文字以内で入力してください。');

export const searchFiltersSchema = z
  .object({
    /** 取引先: partial match after normalizeForSearch. */
    counterparty: text.optional(),
    /** 案件名: partial match (NFKC, case- and space-insensitive). */
    title: text.optional(),
    /** 契約番号: partial match (NFKC, case- and space-insensitive). */
    contractNumber: text.optional(),
    /** 署名者・送付先 (名前・メール・会社名): partial match. */
    party: text.optional(),
    /** 取引年月日 from/to, inclusive; either side may be open. */
    dateFrom: isoDate.optional(),
    dateTo: isoDate.optional(),
    /** 取引金額 min/max in 円, inclusive. */
    amountMin: yen.optional(),
    amountMax: yen.optional(),
    status: z.array(z.enum(ENVELOPE_STATUSES)).max(ENVELOPE_STATUSES.length).optional(),
    /** true: 書面契約 only; false: 電子契約 only. */
    isPaper: z.boolean().optional(),
    /** Only records where each of these fields is empty. */
    empty: z.array(z.enum(EMPTY_FIELDS)).max(EMPTY_FIELDS.length).optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (f.dateFrom && f.dateTo && f.dateFrom > f.dateTo) {
      ctx.addIssue({ code: 'custom', path: ['dateTo'], message: '終了日は開始日以降にしてください。' });
    }
    if (f.amountMin !== undefined && f.amountMax !== undefined && f.amountMin > f.amountMax) {
      ctx.addIssue({ code: 'custom', path: ['amountMax'], message: '上限は下限以上にしてください。' });
    }
  });

export type SearchFilters = z.output<typeof searchFiltersSchema>;
export type SearchFiltersInput = z.input<typeof searchFiltersSchema>;

export const pageOptionsSchema = z
  .object({
    sort: z.enum(SORT_KEYS).default('transactionDate'),
    direction: z.enum(['asc', 'desc']).default('desc'),
    cursor: z.string().max(2000).optional(),
    limit: z.number().int().min(1).max(500).default(50),
  })
  .strict();
export type PageOptions = z.output<typeof pageOptionsSchema>;
export type PageOptionsInput = z.input<typeof pageOptionsSchema>;

/** Throw AppError('validation') with Japanese field messages. */
export function validationError(error: z.ZodError): AppError {
  const fieldErrors: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = issue.path.join('.') || '_';
    if (!fieldErrors[key]) fieldErrors[key] = issue.message;
  }
  return new AppError('validation', '検索条件を確認してください。', { fieldErrors });
}

export function parseFilters(input: unknown): SearchFilters {
  const r = searchFiltersSchema.safeParse(input);
  if (!r.success) throw validationError(r.error);
  return r.data;
}

export function parsePageOptions(input: unknown): PageOptions {
  const r = pageOptionsSchema.safeParse(input ?? {});
  if (!r.success) throw validationError(r.error);
  return r.data;
}

type Params = URLSearchParams | Record<string, string | string[] | undefined>;

function getAll(p: Params, k: string): string[] {
  if (p instanceof URLSearchParams) return p.getAll(k);
  const v = p[k];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}
function get(p: Params, k: string): string | undefined {
  const v = getAll(p, k)[0]?.trim();
  return v ? v : undefined;
}

/** 「１２，３４５円」 → "12345"; leaves anything else for zod to reject. */
function yenText(s: string | undefined): string | undefined {
  if (!s) return undefined;
  return s.normalize('NFKC').replace(/[,，\s]|円$/g, '');
}
function dateText(s: string | undefined): string | undefined {
  if (!s) return undefined;
  const m = s.normalize('NFKC').match(/^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$/);
  return m ? `${m[1]}-${m[2].padStart(2, '0')}-${m[3].padStart(2, '0')}` : s;
}

/**
 * Query string / form → { filters, page }. Keys: q (取引先), title, contractNumber, party,
 * dateFrom, dateTo, amountMin, amountMax, status (repeatable), kind=paper|electronic,
 * empty (repeatable), sort, dir, cursor, limit.
 */
export function parseSearchParams(p: Params): { filters: SearchFilters; page: PageOptions } {
  const kind = get(p, 'kind');
  const filters = parseFilters({
    counterparty: get(p, 'q'),
    title: get(p, 'title'),
    contractNumber: get(p, 'contractNumber'),
    party: get(p, 'party'),
    dateFrom: dateText(get(p, 'dateFrom')),
    dateTo: dateText(get(p, 'dateTo')),
    amountMin: yenText(get(p, 'amountMin')),
    amountMax: yenText(get(p, 'amountMax')),
    status: getAll(p, 'status').filter(Boolean).length ? getAll(p, 'status').filter(Boolean) : undefined,
    isPaper: kind === 'paper' ? true : kind === 'electronic' ? false : undefined,
    empty: getAll(p, 'empty').filter(Boolean).length ? getAll(p, 'empty').filter(Boolean) : undefined,
  });
  const limit = get(p, 'limit');
  const page = parsePageOptions({
    sort: get(p, 'sort'),
    direction: get(p, 'dir'),
    cursor: get(p, 'cursor'),
    limit: limit && /^\d+$/.test(limit) ? Number(limit) : undefined,
  });
  return { filters, page };
}

/** The inverse of parseSearchParams for links (filters only, plus optional sort). */
export function toSearchParams(f: SearchFilters, page?: Partial<PageOptions>): URLSearchParams {
  const u = new URLSearchParams();
  if (f.counterparty) u.set('q', f.counterparty);
  if (f.title) u.set('title', f.title);
  if (f.contractNumber) u.set('contractNumber', f.contractNumber);
  if (f.party) u.set('party', f.party);
  if (f.dateFrom) u.set('dateFrom', f.dateFrom);
  if (f.dateTo) u.set('dateTo', f.dateTo);
  if (f.amountMin !== undefined) u.set('amountMin', f.amountMin.toString());
  if (f.amountMax !== undefined) u.set('amountMax', f.amountMax.toString());
  for (const s of f.status ?? []) u.append('status', s);
  if (f.isPaper !== undefined) u.set('kind', f.isPaper ? 'paper' : 'electronic');
  for (const e of f.empty ?? []) u.append('empty', e);
  if (page?.sort) u.set('sort', page.sort);
  if (page?.direction) u.set('dir', page.direction);
  if (page?.cursor) u.set('cursor', page.cursor);
  return u;
}

/** Filters as plain JSON (bigint → string) for audit details. */
export function filtersForAudit(f: SearchFilters): Record<string, unknown> {
  return JSON.parse(JSON.stringify(f, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))) as Record<
    string,
    unknown
  >;
}
