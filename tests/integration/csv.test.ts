/**
 * CSV export (電子帳簿保存法「ダウンロードの求め」): exactly the filtered result — every row across
 * several internal batches, not one page — UTF-8 with BOM, RFC 4180 quoting, and an audit event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StaffActor } from '../../lib/auth/types';
import type { Db } from '../../lib/db';
import { AppError } from '../../lib/errors';
import { CSV_HEADERS, exportSearchCsv, normalizeForSearch, searchEnvelopes, type SearchFiltersInput, type SearchRow } from '../../lib/search';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

let t: TestDatabase;
let db: Db;
let admin: StaffActor;
let other: StaffActor;

/** RFC 4180 parser (quoted fields, doubled quotes, CRLF inside quotes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (ch === '"') {
        quoted = false;
        i++;
        continue;
      }
      field += ch;
      i++;
      continue;
    }
    if (ch === '"' && field === '') {
      quoted = true;
      i++;
    } else if (ch === ',') {
      row.push(field);
      field = '';
      i++;
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 2;
    } else {
      field += ch;
      i++;
    }
  }
  if (field !== '' || row.length) throw new Error('CSV does not end with CRLF');
  return rows;
}

async function collect(gen: AsyncGenerator<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of gen) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

async function allRows(filters: SearchFiltersInput, opts: { sort?: 'transactionDate' | 'amount' | 'counterparty'; direction?: 'asc' | 'desc' } = {}) {
  const out: SearchRow[] = [];
  let cursor: string | undefined;
  do {
    const r = await searchEnvelopes(db, admin, filters, { ...opts, limit: 500, cursor });
    out.push(...r.rows);
    cursor = r.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

const TRICKY = [
  { title: '工事, 第1期', counterparty: '株式会社"川口"建設' },
  { title: '複数行\r\nの案件名', counterparty: '川口 商事' },
  { title: '=HYPERLINK("http://example.com")', counterparty: '-川口工業' },
];

beforeAll(async () => {
  t = await createTestDatabase();
  db = t.prisma;
  const org = await db.organization.create({ data: { name: '川口市', slug: 'kawaguchi' } });
  const org2 = await db.organization.create({ data: { name: '蕨市', slug: 'warabi' } });
  const u = await db.user.create({ data: { organizationId: org.id, email: 'admin@city.example.jp', name: '管理者', role: 'admin', passwordHash: 'x' } });
  const u2 = await db.user.create({ data: { organizationId: org2.id, email: 'admin@warabi.example.jp', name: '蕨管理者', role: 'admin', passwordHash: 'x' } });
  admin = { userId: u.id, organizationId: org.id, organizationName: org.name, name: u.name, email: u.email, role: 'admin' };
  other = { userId: u2.id, organizationId: org2.id, organizationName: org2.name, name: u2.name, email: u2.email, role: 'admin' };
  // 2,300 envelopes: 川口 matches ~2/3 (two internal batches of 1,000), some fields empty.
  const names = ['㈱川口工業', '川口設備株式会社', '株式会社山田建設'];
  const data = Array.from({ length: 2300 }, (_, i) => {
    const counterparty = names[i % 3];
    return {
      organizationId: org.id,
      documentNumber: `TS-CSV-${String(i).padStart(5, '0')}`,
      title: `案件${i}`,
      counterparty,
      counterpartyNormalized: normalizeForSearch(counterparty),
      transactionDate: i % 17 === 0 ? null : new Date(Date.UTC(2025, 0, 1 + (i % 400))),
      amount: i % 19 === 0 ? null : BigInt(1000 * ((i * 7919) % 5000)),
      amountTaxIncluded: i % 2 === 0,
      contractNumber: i % 5 === 0 ? null : `第${i}号`,
      status: i % 4 === 0 ? ('sent' as const) : ('completed' as const),
      isPaper: i % 10 === 0,
      completedAt: i % 4 === 0 ? null : new Date(Date.UTC(2025, 5, 1, 3, 4, 5)),
    };
  });
  await db.envelope.createMany({ data });
  for (const [i, x] of TRICKY.entries()) {
    await db.envelope.create({
      data: {
        organizationId: org.id,
        documentNumber: `TS-TRICKY-${i}`,
        title: x.title,
        counterparty: x.counterparty,
        counterpartyNormalized: normalizeForSearch(x.counterparty),
        transactionDate: new Date(Date.UTC(2026, 3, 1)),
        amount: 12_345_000n,
        status: 'completed',
        completedAt: new Date(Date.UTC(2026, 3, 1, 15, 0, 0)),
      },
    });
  }
  await db.envelope.create({
    data: { organizationId: org2.id, documentNumber: 'TS-OTHER-1', title: '他市', counterparty: '㈱川口工業', counterpartyNormalized: normalizeForSearch('㈱川口工業'), status: 'completed' },
  });
});
afterAll(async () => {
  await t?.drop();
});

describe('CSV export', () => {
  it('starts with a UTF-8 BOM and the Japanese header', async () => {
    const buf = await collect(exportSearchCsv(db, admin, { counterparty: '該当なし' }));
    expect([...buf.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const rows = parseCsv(buf.subarray(3).toString('utf8'));
    expect(rows).toEqual([[...CSV_HEADERS]]);
    expect(CSV_HEADERS).toEqual(['書類ID', '案件名', '取引先', '取引年月日', '取引金額', '税込/税抜', '契約番号', '状態', '書面/電子', '完了日時']);
  });

  for (const [label, filters, opts] of [
    ['取引先 「川口」 (several batches)', { counterparty: '川口' }, {}],
    ['date + amount range, amount order', { dateFrom: '2025-03-01', dateTo: '2025-09-30', amountMin: 100_000, amountMax: 3_000_000 }, { sort: 'amount', direction: 'asc' }],
    ['paper only, empty contract number', { isPaper: true, empty: ['contractNumber'] }, { sort: 'counterparty', direction: 'desc' }],
    ['everything', {}, {}],
  ] as const) {
    it(`contains exactly the filtered set: ${label}`, async () => {
      const expected = await allRows(filters as SearchFiltersInput, opts);
      const buf = await collect(exportSearchCsv(db, admin, filters as SearchFiltersInput, opts));
      const rows = parseCsv(buf.subarray(3).toString('utf8'));
      expect(rows[0]).toEqual([...CSV_HEADERS]);
      const body = rows.slice(1);
      expect(body.length).toBe(expected.length);
      expect(body.map((r) => r[0])).toEqual(expected.map((r) => r.documentNumber)); // same rows, same order
      const byNumber = new Map(expected.map((r) => [r.documentNumber, r]));
      for (const r of body) {
        const e = byNumber.get(r[0])!;
        expect(r[2]).toBe(/^[=+\-@]/.test(e.counterparty) ? `'${e.counterparty}` : e.counterparty);
        expect(r[3]).toBe(e.transactionDate ?? '');
        expect(r[4]).toBe(e.amount === null ? '' : e.amount.toString());
        expect(r[5]).toBe(e.amount === null ? '' : e.amountTaxIncluded ? '税込' : '税抜');
        expect(r[6]).toBe(e.contractNumber ?? '');
        expect(r[7]).toBe(e.status === 'completed' ? '締結完了' : '送信済み');
        expect(r[8]).toBe(e.isPaper ? '書面' : '電子');
        expect(r[9]).toBe(!e.completedAt ? '' : r[0].startsWith('TS-TRICKY') ? '2026-04-02 00:00:00' : '2025-06-01 12:04:05');
      }
      if (label.startsWith('取引先')) expect(body.length).toBeGreaterThan(1500); // two internal batches
    });
  }

  it('quotes commas, quotes and line breaks, and defuses formula-like cells', async () => {
    const buf = await collect(exportSearchCsv(db, admin, { amountMin: 12_345_000, amountMax: 12_345_000 }));
    const text = buf.subarray(3).toString('utf8');
    const rows = parseCsv(text).slice(1);
    const byNumber = new Map(rows.map((r) => [r[0], r]));
    expect(byNumber.get('TS-TRICKY-0')!.slice(1, 3)).toEqual(['工事, 第1期', '株式会社"川口"建設']);
    expect(byNumber.get('TS-TRICKY-1')![1]).toBe('複数行\r\nの案件名');
    expect(byNumber.get('TS-TRICKY-2')!.slice(1, 3)).toEqual([`'=HYPERLINK("http://example.com")`, `'-川口工業`]);
    expect(byNumber.get('TS-TRICKY-2')![9]).toBe('2026-04-02 00:00:00'); // Asia/Tokyo
    expect(text).toContain('"工事, 第1期","株式会社""川口""建設"');
  });

  it('never includes another organisation’s rows', async () => {
    const rows = parseCsv((await collect(exportSearchCsv(db, other, {}))).subarray(3).toString('utf8'));
    expect(rows.slice(1).map((r) => r[0])).toEqual(['TS-OTHER-1']);
  });

  it('records who exported which filters and how many rows (search.exported)', async () => {
    const before = await db.auditEvent.count({ where: { organizationId: admin.organizationId, action: 'search.exported' } });
    await collect(exportSearchCsv(db, admin, { counterparty: '山田', dateFrom: '2025-01-01' }, { sort: 'amount' }, { ip: '203.0.113.5', userAgent: 'vitest' }));
    const events = await db.auditEvent.findMany({ where: { organizationId: admin.organizationId, action: 'search.exported' }, orderBy: { id: 'asc' } });
    expect(events.length).toBe(before + 1);
    const ev = events[events.length - 1];
    const expectedRows = (await allRows({ counterparty: '山田', dateFrom: '2025-01-01' })).length;
    expect(ev).toMatchObject({ actorType: 'user', actorId: admin.userId, ip: '203.0.113.5', actorLabel: '管理者 <admin@city.example.jp>' });
    expect(ev.details).toEqual({
      filters: { counterparty: '山田', dateFrom: '2025-01-01' },
      sort: 'amount',
      direction: 'desc',
      rows: expectedRows,
      complete: true,
    });
  });

  it('records an export the client abandoned as incomplete', async () => {
    const gen = exportSearchCsv(db, admin, {});
    await gen.next(); // header
    await gen.next(); // first batch
    await gen.return(undefined);
    const ev = await db.auditEvent.findFirst({ where: { organizationId: admin.organizationId, action: 'search.exported' }, orderBy: { id: 'desc' } });
    expect(ev?.details).toMatchObject({ rows: 1000, complete: false });
  });

  it('refuses invalid filters before writing anything', () => {
    expect(() => exportSearchCsv(db, admin, { dateFrom: '2025-13-01' })).toThrow(AppError);
  });
});
