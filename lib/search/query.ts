/**
 * The SQL behind contract search. Built with Prisma.sql (every value is a bind parameter), so the
 * same statement can be run by searchEnvelopes, the CSV export and the benchmark.
 *
 * Index use (migration 20261126225931_search_and_records):
 * - 取引先: `counterparty_grams` holds every 1- and 2-character substring of the normalised name,
 *   tagged with the organisation (GIN). A 1–2 character query is one array element (exact, no
 *   recheck needed); a longer query must contain all of its bigrams, then LIKE '%q%' rechecks.
 * - 取引年月日 / 取引金額 / 取引先 order: btree (organization_id, <key>, id, <the other two fields>) — ranges and keyset
 *   pages walk these indexes; no OFFSET anywhere.
 * - Nullable sort keys (date, amount): rows with the key empty come after the others in either
 *   direction ('present' then 'null' page branches, each an ordered index walk).
 * - A common counterparty substring is better served by walking those keyset indexes (they carry
 *   counterparty_normalized, so LIKE is tested index-only) than by the grams: see CounterpartyMode.
 */
import { Prisma } from '../db';
import { normalizeForSearch } from './normalize';
import type { Direction, SearchFilters, SortKey } from './filters';
import { AppError } from '../errors';

/** The tenant tag search_grams() prefixes to each gram: the first 8 hex digits of the org id. */
export function orgTag(organizationId: string): string {
  return organizationId.toLowerCase().slice(0, 8);
}

/** Grams a normalised query must all be contained in (see search_grams in the migration). */
export function queryGrams(organizationId: string, normalized: string): string[] {
  const chars = Array.from(normalized);
  const tag = orgTag(organizationId);
  if (chars.length <= 2) return [`${tag}:${chars.join('')}`];
  const out = new Set<string>();
  for (let i = 0; i + 1 < chars.length; i++) out.add(`${tag}:${chars[i]}${chars[i + 1]}`);
  return [...out];
}

/** NFKC + lower case + no white space: for title, contract number and party names. */
export function normalizeLoose(s: string): string {
  return s.normalize('NFKC').toLowerCase().replace(/\s+/g, '');
}

function likeContains(s: string): string {
  return `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The same folding in SQL (normalize() needs a UTF8 database, which Prisma's PostgreSQL setup is). */
function looseSql(col: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`regexp_replace(lower(normalize(${col}, NFKC)), '\\s+', '', 'g')`;
}

/** Who is searching: admins see the whole organisation, staff what they created or take part in. */
export interface SearchScope {
  organizationId: string;
  /** When set (role staff), restrict to envelopes this user created or is a party of. */
  restrictToUser?: { userId: string; email: string };
}

/**
 * How the 取引先 condition is written:
 * - 'grams': `counterparty_grams @> …` (GIN; best when few rows match: they are fetched directly);
 * - 'scan': only `counterparty_normalized LIKE '%q%'`, tested on the tuples of the per-org keyset
 *   indexes (which carry counterparty_normalized) while walking them in order — best when many
 *   rows match, since a page then needs only a short walk and no heap fetch per match.
 * Both return exactly the same rows; `chooseCounterpartyMode` picks one from the planner's estimate.
 */
export type CounterpartyMode = 'grams' | 'scan';

/**
 * Above this many estimated matches in the organisation, a page walks the keyset index instead of
 * fetching every match through the grams (a page needs ~51/selectivity index tuples).
 */
export const GRAMS_MAX_ESTIMATE = 800;
/**
 * The count stops at COUNT_CAP + 1 matches: through the grams that is ≤ 1,001 row fetches after a
 * bitmap of all matches; by walking, 1,001/selectivity index tuples. Grams win until matches are dense.
 */
export const GRAMS_MAX_ESTIMATE_COUNT = 8000;

/** EXPLAIN (planning only) of the counterparty condition alone, for chooseCounterpartyMode. */
export function counterpartyEstimateSql(organizationId: string, counterparty: string): Prisma.Sql | null {
  const q = normalizeForSearch(counterparty);
  if (!q) return null;
  return Prisma.sql`EXPLAIN (FORMAT JSON) SELECT 1 FROM envelopes e
    WHERE e.organization_id = ${organizationId}::uuid AND e.counterparty_normalized LIKE ${likeContains(q)}`;
}

/** WHERE conditions (AND) for the filters; `e` is the envelopes alias. */
export function whereFor(scope: SearchScope, f: SearchFilters, mode: CounterpartyMode = 'grams'): Prisma.Sql {
  const grams = mode === 'grams' && !!f.counterparty && normalizeForSearch(f.counterparty) !== '';
  // The grams are tagged with the organisation, so on the grams path the GIN index alone already
  // narrows to this organisation; written `IS TRUE`, the (still enforced) organisation condition
  // stops the planner from AND-ing in a bitmap of every row of the organisation (measured: it
  // cost more than the rest of the query).
  const c: Prisma.Sql[] = [
    grams
      ? Prisma.sql`(e.organization_id = ${scope.organizationId}::uuid) IS TRUE`
      : Prisma.sql`e.organization_id = ${scope.organizationId}::uuid`,
  ];
  if (scope.restrictToUser) {
    const u = scope.restrictToUser;
    c.push(Prisma.sql`(e.created_by_id = ${u.userId}::uuid OR EXISTS (
      SELECT 1 FROM recipients pr WHERE pr.envelope_id = e.id AND (pr.user_id = ${u.userId}::uuid OR lower(pr.email) = ${u.email.toLowerCase()})))`);
  }
  if (f.counterparty) {
    const q = normalizeForSearch(f.counterparty);
    if (q && mode === 'grams') {
      c.push(Prisma.sql`e.counterparty_grams @> ${queryGrams(scope.organizationId, q)}::text[]`);
      if (Array.from(q).length > 2) c.push(Prisma.sql`e.counterparty_normalized LIKE ${likeContains(q)}`);
    } else if (q) {
      c.push(Prisma.sql`e.counterparty_normalized LIKE ${likeContains(q)}`);
    }
  }
  if (f.title) {
    const q = normalizeLoose(f.title);
    if (q) c.push(Prisma.sql`${looseSql(Prisma.sql`e.title`)} LIKE ${likeContains(q)}`);
  }
  if (f.contractNumber) {
    const q = normalizeLoose(f.contractNumber);
    if (q) c.push(Prisma.sql`${looseSql(Prisma.sql`coalesce(e.contract_number, '')`)} LIKE ${likeContains(q)}`);
  }
  if (f.party) {
    const q = normalizeLoose(f.party);
    if (q) {
      const p = likeContains(q);
      c.push(Prisma.sql`EXISTS (SELECT 1 FROM recipients r WHERE r.envelope_id = e.id AND (
        ${looseSql(Prisma.sql`r.name`)} LIKE ${p} OR lower(r.email) LIKE ${p}
        OR ${looseSql(Prisma.sql`coalesce(r.company, '')`)} LIKE ${p}))`);
    }
  }
  if (f.dateFrom) c.push(Prisma.sql`e.transaction_date >= ${f.dateFrom}::date`);
  if (f.dateTo) c.push(Prisma.sql`e.transaction_date <= ${f.dateTo}::date`);
  if (f.amountMin !== undefined) c.push(Prisma.sql`e.amount >= ${f.amountMin.toString()}::bigint`);
  if (f.amountMax !== undefined) c.push(Prisma.sql`e.amount <= ${f.amountMax.toString()}::bigint`);
  if (f.status?.length) c.push(Prisma.sql`e.status::text = ANY(${[...f.status]}::text[])`);
  if (f.isPaper !== undefined) c.push(Prisma.sql`e.is_paper = ${f.isPaper}`);
  for (const k of f.empty ?? []) {
    if (k === 'counterparty') c.push(Prisma.sql`e.counterparty_normalized = ''`);
    if (k === 'transactionDate') c.push(Prisma.sql`e.transaction_date IS NULL`);
    if (k === 'amount') c.push(Prisma.sql`e.amount IS NULL`);
    if (k === 'contractNumber') c.push(Prisma.sql`coalesce(e.contract_number, '') = ''`);
  }
  return Prisma.join(c, ' AND ');
}

const SORT: Record<SortKey, { col: string; cast: string; nullable: boolean }> = {
  transactionDate: { col: 'e.transaction_date', cast: 'date', nullable: true },
  amount: { col: 'e.amount', cast: 'bigint', nullable: true },
  counterparty: { col: 'e.counterparty_normalized', cast: 'text', nullable: false },
};

/** Keyset position: the sort key of the last row shown (null when that row's key is empty) and its id. */
export interface CursorPosition {
  sort: SortKey;
  direction: Direction;
  value: string | null;
  id: string;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function encodeCursor(c: CursorPosition): string {
  return Buffer.from(JSON.stringify([c.sort, c.direction, c.value, c.id]), 'utf8').toString('base64url');
}

export function decodeCursor(s: string, sort: SortKey, direction: Direction): CursorPosition {
  const bad = () => new AppError('validation', '検索結果のページ位置が不正です。最初のページから検索し直してください。');
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(v) || v.length !== 4) throw bad();
  const [cs, cd, value, id] = v as unknown[];
  if (cs !== sort || cd !== direction || typeof id !== 'string' || !UUID_RE.test(id)) throw bad();
  if (value !== null && typeof value !== 'string') throw bad();
  if (value !== null && sort === 'transactionDate' && !/^\d{4}-\d{2}-\d{2}$/.test(value)) throw bad();
  if (value !== null && sort === 'amount' && !/^-?\d{1,19}$/.test(value)) throw bad();
  return { sort, direction, value, id };
}

/** Columns returned for each row (the CSV and the result table use the same ones). */
export const ROW_COLUMNS = Prisma.raw(`e.id, e.document_number AS "documentNumber", e.title, e.counterparty,
  e.counterparty_normalized AS "counterpartyNormalized",
  to_char(e.transaction_date, 'YYYY-MM-DD') AS "transactionDate", e.amount,
  e.amount_tax_included AS "amountTaxIncluded", e.tax_amount AS "taxAmount",
  e.contract_number AS "contractNumber", e.status::text AS status, e.is_paper AS "isPaper",
  e.completed_at AS "completedAt"`);

export interface RawRow {
  id: string;
  /** 書類ID */
  documentNumber: string;
  title: string;
  counterparty: string;
  counterpartyNormalized: string;
  /** YYYY-MM-DD or null */
  transactionDate: string | null;
  amount: bigint | null;
  amountTaxIncluded: boolean;
  taxAmount: bigint | null;
  contractNumber: string | null;
  status: string;
  isPaper: boolean;
  completedAt: Date | null;
}

/** The sort key of a row in cursor form. */
export function sortValueOf(row: RawRow, sort: SortKey): string | null {
  if (sort === 'transactionDate') return row.transactionDate;
  if (sort === 'amount') return row.amount === null ? null : String(row.amount);
  return row.counterpartyNormalized;
}

/**
 * One branch of a page: rows after `cursor` ordered by the sort key then id (`fetch` = limit + 1
 * to learn whether more follow). Rows whose sort key is empty come after all others in either
 * direction: branch 'present' pages through rows with a key, then branch 'null' through the rest
 * (by id). Each is a single ordered walk of the (organization_id, key, id, …) index; fetchPage
 * runs the 'null' branch only when the 'present' one is exhausted.
 */
export type PageBranch = 'present' | 'null';

export function pageSql(
  where: Prisma.Sql,
  sort: SortKey,
  direction: Direction,
  cursor: CursorPosition | null,
  fetch: number,
  branch: PageBranch = 'present',
): Prisma.Sql {
  const s = SORT[sort];
  const col = Prisma.raw(s.col);
  const dir = Prisma.raw(direction === 'asc' ? 'ASC' : 'DESC');
  const cmp = Prisma.raw(direction === 'asc' ? '>' : '<');
  const cast = Prisma.raw(s.cast);
  // ORDER BY key, id in the index's own NULLS placement (ASC → NULLS LAST, DESC → NULLS FIRST):
  // within a branch the key is all-present or all-NULL, so this only lets the planner walk the index.
  if (branch === 'null') {
    if (!s.nullable) throw new Error(`${sort} is never empty`);
    const after = cursor && cursor.value === null ? Prisma.sql` AND e.id ${cmp} ${cursor.id}::uuid` : Prisma.empty;
    return rowsById(
      Prisma.sql`SELECT e.id FROM envelopes e WHERE ${where} AND ${col} IS NULL${after} ORDER BY ${col} ${dir}, e.id ${dir} LIMIT ${fetch}`,
      Prisma.sql`ORDER BY e.id ${dir}`,
    );
  }
  const after =
    cursor && cursor.value !== null
      ? Prisma.sql` AND (${col}, e.id) ${cmp} (${cursor.value}::${cast}, ${cursor.id}::uuid)`
      : Prisma.empty;
  const notNull = s.nullable ? Prisma.sql` AND ${col} IS NOT NULL` : Prisma.empty;
  return rowsById(
    Prisma.sql`SELECT e.id FROM envelopes e WHERE ${where}${notNull}${after} ORDER BY ${col} ${dir}, e.id ${dir} LIMIT ${fetch}`,
    Prisma.sql`ORDER BY ${col} ${dir}, e.id ${dir}`,
  );
}

/**
 * Find the page's ids first (a walk that can stay inside the index when the filters only use the
 * search fields), then read just those rows through the primary key.
 */
function rowsById(ids: Prisma.Sql, order: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`SELECT ${ROW_COLUMNS} FROM envelopes e WHERE e.id = ANY(ARRAY(${ids})) ${order}`;
}

/** Is the sort key nullable (then fetchPage may need the 'null' branch)? */
export function sortIsNullable(sort: SortKey): boolean {
  return SORT[sort].nullable;
}

/**
 * How many rows are counted exactly. Beyond it the result says 「1,000件以上」 plus the planner's
 * estimate (「約 N 件」): counting tens of thousands of rows exactly on every page costs more than
 * the page itself. The CSV export always returns every row.
 */
export const COUNT_CAP = 1_000;

/** Count matching rows, stopping at cap + 1. */
export function countSql(where: Prisma.Sql, cap = COUNT_CAP): Prisma.Sql {
  return Prisma.sql`SELECT count(*)::int AS n FROM (SELECT 1 FROM envelopes e WHERE ${where} LIMIT ${cap + 1}) c`;
}

/** The planner's row estimate for the filters (EXPLAIN only, nothing is read). */
export function estimateSql(where: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`EXPLAIN (FORMAT JSON) SELECT 1 FROM envelopes e WHERE ${where}`;
}
