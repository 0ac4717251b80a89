/**
 * Contract search (issue 5) against real PostgreSQL: every filter alone and combined, Japanese
 * normalisation, inclusive range edges, empty results and empty fields, sorting with keyset pages,
 * organisation isolation and the staff permission rule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StaffActor } from '../../lib/auth/types';
import type { Db } from '../../lib/db';
import { AppError } from '../../lib/errors';
import {
  fetchPage,
  normalizeForSearch,
  parseFilters,
  parseSearchParams,
  scopeFor,
  whereFor,
  searchEnvelopes,
  type PageOptionsInput,
  type SearchFiltersInput,
  type SearchRow,
} from '../../lib/search';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

let t: TestDatabase;
let db: Db;
let adminA: StaffActor;
let staffA: StaffActor;
let adminB: StaffActor;

interface Seed {
  key: string;
  counterparty: string;
  date?: string | null;
  amount?: number | null;
  title?: string;
  contractNumber?: string | null;
  status?: 'draft' | 'sent' | 'completed' | 'voided';
  isPaper?: boolean;
  createdBy?: 'admin' | 'staff';
  party?: { name: string; email: string; company?: string };
}

const SEEDS_A: Seed[] = [
  { key: 'yamada', counterparty: '株式会社山田建設', date: '2026-04-01', amount: 1_000_000, title: '道路補修工事', contractNumber: '川契第1号', status: 'completed', party: { name: '山田 太郎', email: 'taro@yamada-kensetsu.example.jp', company: '株式会社山田建設' } },
  { key: 'kawaguchiKogyo', counterparty: '㈱川口工業', date: '2026-04-15', amount: 5_000_000, title: '水道管更新工事', contractNumber: '川契第2号', status: 'completed' },
  { key: 'kawaguchiSetsubi', counterparty: '（株）川口設備', date: '2026-05-01', amount: 12_345_000, title: '空調設備保守業務委託', contractNumber: 'ｶﾜｹｲ-003', status: 'sent', createdBy: 'staff' },
  { key: 'kana', counterparty: 'ｶﾜｸﾞﾁ ｼｽﾃﾑ', date: '2026-03-31', amount: 999_999, title: 'システム保守', contractNumber: null, status: 'completed' },
  { key: 'abc', counterparty: 'ＡＢＣ商事株式会社', date: null, amount: null, title: '物品購入', contractNumber: null, status: 'draft' },
  { key: 'sato', counterparty: '有限会社佐藤電気', date: '2025-12-31', amount: 1_000_001, title: '照明LED化工事', contractNumber: '川契第6号', status: 'completed', isPaper: true },
  { key: 'ogawa', counterparty: '小川商店', date: '2026-04-10', amount: 30_000, title: '消耗品', contractNumber: '川契第7号', status: 'voided', party: { name: '鈴木 花子', email: 'hanako.suzuki@city.kawaguchi.example.jp' } },
  { key: 'blank', counterparty: '', date: null, amount: 500, title: '取引先未記入の書面', contractNumber: '', status: 'completed', isPaper: true },
];
const SEEDS_B: Seed[] = [
  { key: 'b1', counterparty: '株式会社川口工業', date: '2026-04-15', amount: 5_000_000, title: '他市の契約', status: 'completed' },
];

const ids = new Map<string, string>();
const keyOf = new Map<string, string>();

async function seedOrg(slug: string, seeds: Seed[]) {
  const org = await db.organization.create({ data: { name: slug, slug } });
  const admin = await db.user.create({ data: { organizationId: org.id, email: `admin@${slug}.example.jp`, name: `${slug}管理者`, role: 'admin', passwordHash: 'x' } });
  const staff = await db.user.create({ data: { organizationId: org.id, email: `staff@${slug}.example.jp`, name: `${slug}職員`, role: 'staff', passwordHash: 'x' } });
  let n = 0;
  for (const s of seeds) {
    const e = await db.envelope.create({
      data: {
        organizationId: org.id,
        createdById: s.createdBy === 'staff' ? staff.id : admin.id,
        documentNumber: `TS-${slug}-${++n}`,
        title: s.title ?? '契約',
        counterparty: s.counterparty,
        counterpartyNormalized: normalizeForSearch(s.counterparty),
        transactionDate: s.date ? new Date(`${s.date}T00:00:00Z`) : null,
        amount: s.amount === null || s.amount === undefined ? null : BigInt(s.amount),
        contractNumber: s.contractNumber ?? null,
        status: s.status ?? 'completed',
        isPaper: s.isPaper ?? false,
      },
    });
    ids.set(s.key, e.id);
    keyOf.set(e.id, s.key);
    if (s.party) await db.recipient.create({ data: { envelopeId: e.id, name: s.party.name, email: s.party.email, company: s.party.company } });
  }
  const actor = (u: typeof admin): StaffActor => ({ userId: u.id, organizationId: org.id, organizationName: org.name, name: u.name, email: u.email, role: u.role });
  return { admin: actor(admin), staff: actor(staff) };
}

beforeAll(async () => {
  t = await createTestDatabase();
  db = t.prisma;
  const a = await seedOrg('kawaguchi', SEEDS_A);
  adminA = a.admin;
  staffA = a.staff;
  adminB = (await seedOrg('warabi', SEEDS_B)).admin;
  // staff of A takes part in 'ogawa' as a municipal party (by e-mail)
  await db.recipient.create({ data: { envelopeId: ids.get('ogawa')!, name: '職員', email: staffA.email.toUpperCase(), partyType: 'municipal' } });
});
afterAll(async () => {
  await t?.drop();
});

async function keys(filters: SearchFiltersInput, actor = adminA, options: PageOptionsInput = {}): Promise<string[]> {
  const all = await allRows(filters, actor, options);
  return all.map((r) => keyOf.get(r.id)!).sort();
}

async function allRows(filters: SearchFiltersInput, actor = adminA, options: PageOptionsInput = {}): Promise<SearchRow[]> {
  const out: SearchRow[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 100; i++) {
    const r = await searchEnvelopes(db, actor, filters, { limit: 500, ...options, cursor });
    out.push(...r.rows);
    if (!r.nextCursor) return out;
    cursor = r.nextCursor;
  }
  throw new Error('too many pages');
}

describe('取引先 (counterparty) partial match with Japanese normalisation', () => {
  it('finds 1- and 2-character queries such as 「川口」 and 「川」', async () => {
    expect(await keys({ counterparty: '川口' })).toEqual(['kawaguchiKogyo', 'kawaguchiSetsubi']);
    expect(await keys({ counterparty: '川' })).toEqual(['kawaguchiKogyo', 'kawaguchiSetsubi', 'ogawa']);
    expect(await keys({ counterparty: '電' })).toEqual(['sato']);
  });

  it('treats ㈱ / （株） / (株) / 株式会社 alike, on both the query and the stored name', async () => {
    const expected = ['kawaguchiKogyo', 'kawaguchiSetsubi'];
    expect(await keys({ counterparty: '株式会社川口' })).toEqual(expected);
    expect(await keys({ counterparty: '㈱川口' })).toEqual(expected);
    expect(await keys({ counterparty: '（株）川口' })).toEqual(expected);
    expect(await keys({ counterparty: '(株)川口工業' })).toEqual(['kawaguchiKogyo']);
    expect(await keys({ counterparty: '㈱山田建設' })).toEqual(['yamada']);
    expect(await keys({ counterparty: '(有)佐藤' })).toEqual(['sato']);
  });

  it('folds full-width/half-width letters, case, half-width katakana and spaces', async () => {
    expect(await keys({ counterparty: 'abc' })).toEqual(['abc']);
    expect(await keys({ counterparty: 'ＡＢＣ' })).toEqual(['abc']);
    expect(await keys({ counterparty: 'Abc商事' })).toEqual(['abc']);
    expect(await keys({ counterparty: 'カワグチシステム' })).toEqual(['kana']);
    expect(await keys({ counterparty: 'ｶﾜｸﾞﾁ' })).toEqual(['kana']);
    expect(await keys({ counterparty: 'グチ シス' })).toEqual(['kana']);
  });

  it('matches a substring in the middle and longer queries exactly (no false positives from grams)', async () => {
    expect(await keys({ counterparty: '山田建設' })).toEqual(['yamada']);
    expect(await keys({ counterparty: '建設株式会社' })).toEqual([]); // both grams exist, the string does not
    expect(await keys({ counterparty: '商店' })).toEqual(['ogawa']);
  });

  it('returns nothing (and a zero count) when nothing matches; LIKE wildcards are literal', async () => {
    const r = await searchEnvelopes(db, adminA, { counterparty: '該当なし' });
    expect(r.rows).toEqual([]);
    expect(r.total).toEqual({ count: 0, capped: false });
    expect(r.nextCursor).toBeNull();
    expect(await keys({ counterparty: '%' })).toEqual([]);
    expect(await keys({ counterparty: '川_工' })).toEqual([]);
  });
});

describe('取引年月日 and 取引金額 ranges (inclusive, either side open)', () => {
  it('date range includes both edges', async () => {
    expect(await keys({ dateFrom: '2026-04-01', dateTo: '2026-04-15' })).toEqual(['kawaguchiKogyo', 'ogawa', 'yamada']);
    expect(await keys({ dateFrom: '2026-04-02', dateTo: '2026-04-14' })).toEqual(['ogawa']);
    expect(await keys({ dateFrom: '2026-04-15', dateTo: '2026-04-15' })).toEqual(['kawaguchiKogyo']);
  });
  it('open-ended date ranges', async () => {
    expect(await keys({ dateFrom: '2026-05-01' })).toEqual(['kawaguchiSetsubi']);
    expect(await keys({ dateTo: '2026-03-31' })).toEqual(['kana', 'sato']);
  });
  it('amount range includes both edges; open ends work', async () => {
    expect(await keys({ amountMin: 1_000_000, amountMax: 5_000_000 })).toEqual(['kawaguchiKogyo', 'sato', 'yamada']);
    expect(await keys({ amountMin: 1_000_001, amountMax: 4_999_999 })).toEqual(['sato']);
    expect(await keys({ amountMin: 12_345_000 })).toEqual(['kawaguchiSetsubi']);
    expect(await keys({ amountMax: 999_999 })).toEqual(['blank', 'kana', 'ogawa']);
    expect(await keys({ amountMin: '30000', amountMax: 30_000n })).toEqual(['ogawa']);
  });
  it('rejects a reversed range with a Japanese field message', async () => {
    const e = await searchEnvelopes(db, adminA, { dateFrom: '2026-05-01', dateTo: '2026-04-01' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe('validation');
    expect((e as AppError).fieldErrors?.dateTo).toContain('終了日');
    await expect(searchEnvelopes(db, adminA, { dateFrom: '2026-02-30' })).rejects.toThrow(AppError);
    await expect(searchEnvelopes(db, adminA, { amountMin: 10, amountMax: 9 })).rejects.toThrow(AppError);
  });
});

describe('other filters', () => {
  it('title, contract number (NFKC), status, paper/electronic, parties', async () => {
    expect(await keys({ title: '工事' })).toEqual(['kawaguchiKogyo', 'sato', 'yamada']);
    expect(await keys({ title: 'led' })).toEqual(['sato']);
    expect(await keys({ contractNumber: '川契第' })).toEqual(['kawaguchiKogyo', 'ogawa', 'sato', 'yamada']);
    expect(await keys({ contractNumber: 'カワケイ-003' })).toEqual(['kawaguchiSetsubi']);
    expect(await keys({ status: ['sent', 'draft'] })).toEqual(['abc', 'kawaguchiSetsubi']);
    expect(await keys({ isPaper: true })).toEqual(['blank', 'sato']);
    expect((await keys({ isPaper: false })).length).toBe(6);
    expect(await keys({ party: '山田太郎' })).toEqual(['yamada']);
    expect(await keys({ party: 'YAMADA-KENSETSU' })).toEqual(['yamada']);
    expect(await keys({ party: '鈴木' })).toEqual(['ogawa']);
  });

  it('「空欄」 filters find records where a field is empty', async () => {
    expect(await keys({ empty: ['transactionDate'] })).toEqual(['abc', 'blank']);
    expect(await keys({ empty: ['amount'] })).toEqual(['abc']);
    expect(await keys({ empty: ['contractNumber'] })).toEqual(['abc', 'blank', 'kana']);
    expect(await keys({ empty: ['counterparty'] })).toEqual(['blank']);
    expect(await keys({ empty: ['transactionDate', 'amount'] })).toEqual(['abc']);
  });

  it('any combination is an AND', async () => {
    expect(await keys({ counterparty: '川口', dateFrom: '2026-04-02', amountMax: 6_000_000 })).toEqual(['kawaguchiKogyo']);
    expect(await keys({ counterparty: '川口', dateFrom: '2026-04-01', dateTo: '2026-05-01', amountMin: 5_000_000 })).toEqual([
      'kawaguchiKogyo',
      'kawaguchiSetsubi',
    ]);
    expect(await keys({ counterparty: '川', status: ['completed'] })).toEqual(['kawaguchiKogyo']);
    expect(await keys({ isPaper: true, amountMin: 1_000_000, title: '照明' })).toEqual(['sato']);
    expect(await keys({ counterparty: '山田', dateFrom: '2026-04-02' })).toEqual([]);
  });
});

describe('sorting, keyset pages and counts', () => {
  const all = SEEDS_A.map((s) => s.key);
  function expectedOrder(sort: 'transactionDate' | 'amount' | 'counterparty', dir: 'asc' | 'desc'): string[] {
    const val = (s: Seed): string | number | null =>
      sort === 'transactionDate' ? (s.date ?? null) : sort === 'amount' ? (s.amount ?? null) : normalizeForSearch(s.counterparty);
    const sorted = [...SEEDS_A].sort((a, b) => {
      const va = val(a);
      const vb = val(b);
      if (va === null && vb === null) return 0;
      if (va === null) return 1; // empty keys last in both directions
      if (vb === null) return -1;
      const c = va < vb ? -1 : va > vb ? 1 : 0;
      return dir === 'asc' ? c : -c;
    });
    return sorted.map((s) => s.key);
  }

  for (const sort of ['transactionDate', 'amount', 'counterparty'] as const) {
    for (const direction of ['asc', 'desc'] as const) {
      it(`${sort} ${direction}: pages of 2 walk every row once, empty keys last`, async () => {
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const r = await searchEnvelopes(db, adminA, {}, { sort, direction, limit: 2, cursor });
          expect(r.total).toEqual({ count: all.length, capped: false });
          expect(r.rows.length).toBeLessThanOrEqual(2);
          seen.push(...r.rows.map((x) => keyOf.get(x.id)!));
          cursor = r.nextCursor ?? undefined;
          pages++;
        } while (cursor && pages < 20);
        expect(seen).toHaveLength(all.length);
        expect(new Set(seen).size).toBe(all.length);
        const exp = expectedOrder(sort, direction);
        // rows with equal/empty keys are ordered by id; compare the key sequence
        const keyVal = (k: string) => {
          const s = SEEDS_A.find((x) => x.key === k)!;
          return sort === 'transactionDate' ? s.date ?? null : sort === 'amount' ? s.amount ?? null : normalizeForSearch(s.counterparty);
        };
        expect(seen.map(keyVal)).toEqual(exp.map(keyVal));
      });
    }
  }

  it('rows carry the display fields; amounts are bigint, dates YYYY-MM-DD', async () => {
    const r = await searchEnvelopes(db, adminA, { counterparty: '山田建設' });
    expect(r.rows[0]).toMatchObject({
      counterparty: '株式会社山田建設',
      transactionDate: '2026-04-01',
      amount: 1_000_000n,
      contractNumber: '川契第1号',
      status: 'completed',
      isPaper: false,
    });
  });

  it('refuses a cursor from another sort or a forged one', async () => {
    const r = await searchEnvelopes(db, adminA, {}, { sort: 'amount', limit: 2 });
    await expect(searchEnvelopes(db, adminA, {}, { sort: 'transactionDate', limit: 2, cursor: r.nextCursor! })).rejects.toThrow(AppError);
    await expect(searchEnvelopes(db, adminA, {}, { cursor: 'not-a-cursor' })).rejects.toThrow(AppError);
    const forged = Buffer.from(JSON.stringify(['amount', 'desc', "1'; DROP TABLE envelopes; --", '00000000-0000-4000-8000-000000000000'])).toString('base64url');
    await expect(searchEnvelopes(db, adminA, {}, { sort: 'amount', cursor: forged })).rejects.toThrow(AppError);
  });
});

describe('both 取引先 access paths return the same rows', () => {
  it("'grams' (GIN) and 'scan' (index walk with LIKE) agree for 1-, 2- and longer queries", async () => {
    const scope = scopeFor(adminA);
    for (const q of ['川', '川口', '株式', '株式会社川口', 'ｶﾜｸﾞﾁ', '建設株式会社', 'abc', '店']) {
      const f = parseFilters({ counterparty: q });
      const viaGrams = await fetchPage(db, whereFor(scope, f, 'grams'), 'transactionDate', 'desc', null, 100);
      const viaScan = await fetchPage(db, whereFor(scope, f, 'scan'), 'transactionDate', 'desc', null, 100);
      expect(viaScan.rows.map((r) => r.id), q).toEqual(viaGrams.rows.map((r) => r.id));
    }
  });
});

describe('organisation isolation and permissions', () => {
  it('never returns another organisation’s envelopes', async () => {
    expect(await keys({ counterparty: '川口' }, adminB)).toEqual(['b1']);
    expect(await keys({}, adminB)).toEqual(['b1']);
    expect((await keys({ counterparty: '川口工業' }, adminA))).toEqual(['kawaguchiKogyo']);
  });
  it('staff see the envelopes they created or take part in; admins see all', async () => {
    expect(await keys({}, staffA)).toEqual(['kawaguchiSetsubi', 'ogawa']);
    expect(await keys({ counterparty: '川口' }, staffA)).toEqual(['kawaguchiSetsubi']);
    expect((await keys({}, adminA)).length).toBe(SEEDS_A.length);
  });
});

describe('parseSearchParams (the search form / query string)', () => {
  it('accepts full-width digits, commas and 円, slashes in dates, repeatable status and empty', () => {
    const { filters, page } = parseSearchParams(
      new URLSearchParams('q=㈱川口&dateFrom=２０２６/４/１&dateTo=&amountMin=１,０００,０００円&status=completed&status=sent&kind=paper&empty=amount&sort=amount&dir=asc'),
    );
    expect(filters).toEqual({
      counterparty: '㈱川口',
      dateFrom: '2026-04-01',
      amountMin: 1_000_000n,
      status: ['completed', 'sent'],
      isPaper: true,
      empty: ['amount'],
    });
    expect(page).toMatchObject({ sort: 'amount', direction: 'asc', limit: 50 });
  });
  it('reports bad input as AppError(validation)', () => {
    expect(() => parseSearchParams({ amountMin: 'abc' })).toThrow(AppError);
    expect(() => parseSearchParams({ status: 'nope' })).toThrow(AppError);
  });
});
