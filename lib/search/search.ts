/**
 * Contract search for 電子帳簿保存法 (取引先・取引年月日・取引金額, plus title, contract number,
 * status, paper/electronic, parties and 「空欄」 filters).
 *
 * Permission rule: admins search every envelope of their organisation; staff search the envelopes
 * they created (including paper contracts they registered) or take part in as a party (by user
 * account or e-mail). Nobody ever sees another organisation's rows (organization_id = actor's).
 */
import { Prisma, type Db, type Tx } from '../db';
import { normalizeForSearch } from './normalize';
import type { StaffActor } from '../auth/types';
import {
  parseFilters,
  parsePageOptions,
  type PageOptionsInput,
  type SearchFilters,
  type SearchFiltersInput,
  type SortKey,
  type Direction,
} from './filters';
import {
  COUNT_CAP,
  countSql,
  counterpartyEstimateSql,
  decodeCursor,
  estimateSql,
  GRAMS_MAX_ESTIMATE,
  GRAMS_MAX_ESTIMATE_COUNT,
  sortIsNullable,
  type CounterpartyMode,
  encodeCursor,
  pageSql,
  sortValueOf,
  whereFor,
  type CursorPosition,
  type RawRow,
  type SearchScope,
} from './query';

/** A result row: the columns of `RawRow` (see ROW_COLUMNS) without the internal normalised counterparty. */
export type SearchRow = Omit<RawRow, 'counterpartyNormalized'>;

export interface SearchResult {
  rows: SearchRow[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
  total: SearchTotal;
  sort: SortKey;
  direction: Direction;
}

export function scopeFor(actor: StaffActor): SearchScope {
  return actor.role === 'admin'
    ? { organizationId: actor.organizationId }
    : { organizationId: actor.organizationId, restrictToUser: { userId: actor.userId, email: actor.email } };
}

export function toSearchRow(r: RawRow): SearchRow {
  return {
    id: r.id,
    documentNumber: r.documentNumber,
    title: r.title,
    counterparty: r.counterparty,
    transactionDate: r.transactionDate,
    amount: r.amount === null ? null : BigInt(r.amount),
    amountTaxIncluded: r.amountTaxIncluded,
    taxAmount: r.taxAmount === null ? null : BigInt(r.taxAmount),
    contractNumber: r.contractNumber,
    status: r.status,
    isPaper: r.isPaper,
    completedAt: r.completedAt,
  };
}

/** The planner's estimate of this organisation's rows matching the 取引先 query (EXPLAIN only). */
async function estimateCounterparty(db: Db | Tx, scope: SearchScope, filters: SearchFilters): Promise<number | null> {
  const sql = filters.counterparty ? counterpartyEstimateSql(scope.organizationId, filters.counterparty) : null;
  if (!sql) return null;
  const plan = await db.$queryRaw<{ 'QUERY PLAN': { Plan: { 'Plan Rows': number } }[] }[]>(sql);
  return plan[0]?.['QUERY PLAN']?.[0]?.Plan?.['Plan Rows'] ?? 0;
}

/** Pick the 取引先 access path for a page from the planner's estimate. */
export async function chooseCounterpartyMode(db: Db | Tx, scope: SearchScope, filters: SearchFilters): Promise<CounterpartyMode> {
  const est = await estimateCounterparty(db, scope, filters);
  return est !== null && est > GRAMS_MAX_ESTIMATE ? 'scan' : 'grams';
}

export interface SearchWhere {
  /** WHERE for pages (and the CSV) */
  page: Prisma.Sql;
  /** WHERE for the capped count (same rows; possibly another access path) */
  count: Prisma.Sql;
  modes: { page: CounterpartyMode; count: CounterpartyMode };
}

async function planCost(db: Db | Tx, sql: Prisma.Sql): Promise<number> {
  const plan = await db.$queryRaw<{ 'QUERY PLAN': { Plan: { 'Total Cost': number } }[] }[]>(Prisma.sql`EXPLAIN (FORMAT JSON) ${sql}`);
  return plan[0]?.['QUERY PLAN']?.[0]?.Plan?.['Total Cost'] ?? Number.POSITIVE_INFINITY;
}

/**
 * The WHERE clauses searchEnvelopes and the CSV export use. With a 取引先 query, the page's access
 * path is the one the planner prices lower for the whole filter set and sort (both are planned,
 * nothing is executed); the count uses the grams unless the 取引先 alone is estimated to match
 * so many rows that walking is cheaper (see GRAMS_MAX_ESTIMATE_COUNT).
 */
export async function searchWhere(
  db: Db | Tx,
  scope: SearchScope,
  filters: SearchFilters,
  order: { sort: SortKey; direction: Direction } = { sort: 'transactionDate', direction: 'desc' },
): Promise<SearchWhere> {
  const grams = whereFor(scope, filters, 'grams');
  if (!filters.counterparty || !normalizeForSearch(filters.counterparty)) {
    return { page: grams, count: grams, modes: { page: 'grams', count: 'grams' } };
  }
  const scan = whereFor(scope, filters, 'scan');
  const [costGrams, costScan, est] = await Promise.all([
    planCost(db, pageSql(grams, order.sort, order.direction, null, 51)),
    planCost(db, pageSql(scan, order.sort, order.direction, null, 51)),
    estimateCounterparty(db, scope, filters),
  ]);
  const page: CounterpartyMode = costScan < costGrams ? 'scan' : 'grams';
  const count: CounterpartyMode = est !== null && est > GRAMS_MAX_ESTIMATE_COUNT ? 'scan' : 'grams';
  return { page: page === 'scan' ? scan : grams, count: count === 'scan' ? scan : grams, modes: { page, count } };
}

/** One page of raw rows after `cursor` (used by searchEnvelopes, the CSV export and the bench). */
export async function fetchPage(
  db: Db | Tx,
  where: Prisma.Sql,
  sort: SortKey,
  direction: Direction,
  cursor: CursorPosition | null,
  limit: number,
): Promise<{ rows: RawRow[]; next: CursorPosition | null }> {
  const fetch = limit + 1;
  const nullable = sortIsNullable(sort);
  const inNullPhase = nullable && cursor !== null && cursor.value === null;
  let rows: RawRow[] = inNullPhase ? [] : await db.$queryRaw<RawRow[]>(pageSql(where, sort, direction, cursor, fetch, 'present'));
  if (nullable && rows.length < fetch) {
    const more = await db.$queryRaw<RawRow[]>(pageSql(where, sort, direction, inNullPhase ? cursor : null, fetch - rows.length, 'null'));
    rows = rows.concat(more);
  }
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const next = rows.length > limit && last ? { sort, direction, value: sortValueOf(last, sort), id: last.id } : null;
  return { rows: page, next };
}

export interface SearchTotal {
  /** Exact count when `capped` is false; otherwise the cap (表示: 「1,000件以上」). */
  count: number;
  capped: boolean;
  /** When capped: the planner's estimate of the total (表示: 「約 N 件」), never below the cap. */
  estimate?: number;
}

export async function countMatches(db: Db | Tx, where: Prisma.Sql, cap = COUNT_CAP): Promise<SearchTotal> {
  // The estimate is planning only; asking for it alongside saves a round trip when the cap is hit.
  const [[{ n }], plan] = await Promise.all([
    db.$queryRaw<{ n: number }[]>(countSql(where, cap)),
    db.$queryRaw<{ 'QUERY PLAN': { Plan: { 'Plan Rows': number } }[] }[]>(estimateSql(where)),
  ]);
  if (n <= cap) return { count: n, capped: false };
  const est = Math.round(plan[0]?.['QUERY PLAN']?.[0]?.Plan?.['Plan Rows'] ?? 0);
  return { count: cap, capped: true, estimate: Math.max(est, cap + 1) };
}

export async function searchEnvelopes(
  db: Db,
  actor: StaffActor,
  filters: SearchFiltersInput,
  options: PageOptionsInput = {},
): Promise<SearchResult> {
  const f = parseFilters(filters);
  const o = parsePageOptions(options);
  const scope = scopeFor(actor);
  const cursor = o.cursor ? decodeCursor(o.cursor, o.sort, o.direction) : null;
  const where = await searchWhere(db, scope, f, o);
  const [page, total] = await Promise.all([
    fetchPage(db, where.page, o.sort, o.direction, cursor, o.limit),
    countMatches(db, where.count),
  ]);
  return {
    rows: page.rows.map(toSearchRow),
    nextCursor: page.next ? encodeCursor(page.next) : null,
    total,
    sort: o.sort,
    direction: o.direction,
  };
}
