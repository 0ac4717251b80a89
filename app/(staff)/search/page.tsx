import Link from 'next/link';
import { isAppError } from '@/lib/errors';
import { formatDateTimeWithWareki, formatDateWithWareki, formatYen } from '@/lib/format';
import {
  EMPTY_FIELD_LABELS,
  EMPTY_FIELDS,
  ENVELOPE_STATUSES,
  SORT_LABELS,
  STATUS_LABELS,
  parseSearchParams,
  searchEnvelopes,
  toSearchParams,
  type PageOptions,
  type SearchFilters,
  type SearchResult,
  type SortKey,
} from '@/lib/search';
import { EnvelopeStatusBadge } from '../../_components/StatusBadge';
import { getDb, getLocale, getTranslator, requireStaff } from '../../_lib/server';

export const metadata = { title: '契約検索' };

type SP = Record<string, string | string[] | undefined>;

/**
 * 契約検索 (電子帳簿保存法の検索要件): 取引先・取引年月日・取引金額 alone or combined, plus 案件名,
 * 契約番号, 状態, 書面/電子, 署名者, and 「空欄」. GET form, so every search is a shareable URL;
 * keyset pages (「次の50件」); the CSV link exports the whole filtered result.
 * Admins search the whole organisation; staff the envelopes they created or take part in.
 */
export default async function SearchPage({ searchParams }: { searchParams: Promise<SP> }) {
  const actor = await requireStaff();
  const tr = await getTranslator();
  const locale = await getLocale();
  const sp = await searchParams;
  const db = getDb();
  const org = await db.organization.findUnique({ where: { id: actor.organizationId }, select: { showWareki: true } });
  const wareki = sp.wareki === '1' ? true : sp.wareki === '0' ? false : (org?.showWareki ?? false);
  const submitted = Object.keys(sp).some((k) => !['wareki'].includes(k));

  let filters: SearchFilters = {};
  let page: PageOptions = { sort: 'transactionDate', direction: 'desc', limit: 50 };
  let result: SearchResult | null = null;
  let error: { message: string; fieldErrors: Record<string, string> } | null = null;
  try {
    ({ filters, page } = parseSearchParams(sp));
    if (submitted) result = await searchEnvelopes(db, actor, filters, page);
  } catch (e) {
    if (!isAppError(e)) throw e;
    error = { message: e.message, fieldErrors: e.fieldErrors ?? {} };
  }
  const raw = (k: string) => {
    const v = sp[k];
    return (Array.isArray(v) ? v[0] : v) ?? '';
  };
  const rawAll = (k: string) => {
    const v = sp[k];
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
  };
  const fe = error?.fieldErrors ?? {};
  const base = toSearchParams(filters);
  const withParams = (extra: Record<string, string | undefined>) => {
    const u = new URLSearchParams(base);
    for (const [k, v] of Object.entries(extra)) if (v !== undefined) u.set(k, v);
    if (sp.wareki === '1' || sp.wareki === '0') u.set('wareki', String(sp.wareki));
    return `/search?${u.toString()}`;
  };
  const sortLink = (key: SortKey) => {
    const dir = page.sort === key && page.direction === 'desc' ? 'asc' : 'desc';
    return withParams({ sort: key, dir });
  };
  const sortMark = (key: SortKey) => (page.sort === key ? (page.direction === 'asc' ? ' ▲' : ' ▼') : '');
  const ariaSort = (key: SortKey) => (page.sort === key ? (page.direction === 'asc' ? 'ascending' : 'descending') : 'none');
  const csvHref = `/api/search/export?${(() => {
    const u = new URLSearchParams(base);
    u.set('sort', page.sort);
    u.set('dir', page.direction);
    return u.toString();
  })()}`;

  const input = (name: string, label: string, opts: { type?: string; placeholder?: string; inputMode?: 'numeric'; hint?: string } = {}) => (
    <div>
      <label htmlFor={`s-${name}`} className="field-label">
        {label}
      </label>
      <input
        id={`s-${name}`}
        name={name}
        type={opts.type ?? 'text'}
        defaultValue={raw(name)}
        placeholder={opts.placeholder}
        inputMode={opts.inputMode}
        className="input"
        aria-invalid={fe[name] ? true : undefined}
        aria-describedby={fe[name] ? `s-${name}-error` : opts.hint ? `s-${name}-hint` : undefined}
      />
      {opts.hint && !fe[name] ? (
        <p id={`s-${name}-hint`} className="text-xs text-solid-gray-700">
          {opts.hint}
        </p>
      ) : null}
      {fe[name] ? (
        <p id={`s-${name}-error`} className="field-error">
          {fe[name]}
        </p>
      ) : null}
    </div>
  );

  return (
    <>
      <h1 className="mb-3 text-2xl font-bold">契約検索</h1>
      <form method="get" action="/search" role="search" aria-label="契約の検索条件" className="mb-4 rounded-lg border border-solid-gray-200 bg-white p-4">
        <div className="grid gap-4 md:grid-cols-3">
          {input('q', '取引先', { placeholder: '例: 川口、㈱山田建設', hint: '一部だけでも検索できます（全角・半角、㈱・（株）・株式会社の違いは区別しません）' })}
          <fieldset>
            <legend className="field-label">取引年月日</legend>
            <div className="flex items-center gap-2">
              <label htmlFor="s-dateFrom" className="sr-only">
                取引年月日（から）
              </label>
              <input id="s-dateFrom" name="dateFrom" type="date" defaultValue={raw('dateFrom')} className="input" aria-invalid={fe.dateFrom ? true : undefined} />
              <span aria-hidden="true">〜</span>
              <label htmlFor="s-dateTo" className="sr-only">
                取引年月日（まで）
              </label>
              <input id="s-dateTo" name="dateTo" type="date" defaultValue={raw('dateTo')} className="input" aria-invalid={fe.dateTo ? true : undefined} />
            </div>
            {fe.dateFrom || fe.dateTo ? <p className="field-error">{fe.dateFrom ?? fe.dateTo}</p> : null}
          </fieldset>
          <fieldset>
            <legend className="field-label">取引金額（円）</legend>
            <div className="flex items-center gap-2">
              <label htmlFor="s-amountMin" className="sr-only">
                取引金額（以上）
              </label>
              <input id="s-amountMin" name="amountMin" inputMode="numeric" defaultValue={raw('amountMin')} placeholder="下限" className="input" aria-invalid={fe.amountMin ? true : undefined} />
              <span aria-hidden="true">〜</span>
              <label htmlFor="s-amountMax" className="sr-only">
                取引金額（以下）
              </label>
              <input id="s-amountMax" name="amountMax" inputMode="numeric" defaultValue={raw('amountMax')} placeholder="上限" className="input" aria-invalid={fe.amountMax ? true : undefined} />
            </div>
            {fe.amountMin || fe.amountMax ? <p className="field-error">{fe.amountMin ?? fe.amountMax}</p> : null}
          </fieldset>
          {input('title', '案件名')}
          {input('contractNumber', '契約番号')}
          {input('party', '署名者・送付先（氏名・メール・会社名）')}
          <fieldset>
            <legend className="field-label">状態</legend>
            <div className="flex flex-wrap gap-x-3 gap-y-1">
              {ENVELOPE_STATUSES.map((s) => (
                <label key={s} className="whitespace-nowrap">
                  <input type="checkbox" name="status" value={s} defaultChecked={rawAll('status').includes(s)} /> {STATUS_LABELS[s]}
                </label>
              ))}
            </div>
          </fieldset>
          <div>
            <label htmlFor="s-kind" className="field-label">
              書面／電子
            </label>
            <select id="s-kind" name="kind" defaultValue={raw('kind')} className="input">
              <option value="">すべて</option>
              <option value="electronic">電子契約</option>
              <option value="paper">書面契約</option>
            </select>
          </div>
          <fieldset>
            <legend className="field-label">空欄の項目で探す</legend>
            <div className="flex flex-wrap gap-x-3 gap-y-1">
              {EMPTY_FIELDS.map((f) => (
                <label key={f} className="whitespace-nowrap">
                  <input type="checkbox" name="empty" value={f} defaultChecked={rawAll('empty').includes(f)} /> {EMPTY_FIELD_LABELS[f]}が空欄
                </label>
              ))}
            </div>
          </fieldset>
        </div>
        <input type="hidden" name="sort" value={page.sort} />
        <input type="hidden" name="dir" value={page.direction} />
        <div className="mt-4 flex flex-wrap items-center gap-3">
          <button type="submit" className="btn btn-primary">
            検索する
          </button>
          <Link href="/search" className="btn btn-secondary">
            条件をクリア
          </Link>
          <label className="ml-auto whitespace-nowrap">
            <input type="checkbox" name="wareki" value="1" defaultChecked={wareki} /> 和暦を併記する
          </label>
        </div>
      </form>

      {error ? (
        <div role="alert" className="mb-4 rounded border-2 border-error-1 p-3">
          {error.message}
        </div>
      ) : null}

      {result ? (
        <section aria-labelledby="results-heading">
          <div className="mb-2 flex flex-wrap items-center gap-4">
            <h2 id="results-heading" className="text-xl font-bold" aria-live="polite">
              検索結果 {result.total.capped ? `${result.total.count.toLocaleString('ja-JP')}件以上（約${(result.total.estimate ?? 0).toLocaleString('ja-JP')}件）` : `${result.total.count.toLocaleString('ja-JP')}件`}
            </h2>
            <span className="text-sm">並び順: {SORT_LABELS[page.sort]}（{page.direction === 'asc' ? '昇順' : '降順'}）</span>
            {result.total.count > 0 ? (
              <a href={csvHref} className="btn btn-secondary ml-auto" download>
                CSVでダウンロード（全件）
              </a>
            ) : null}
          </div>
          {result.rows.length === 0 ? (
            <p>条件に一致する契約はありません。</p>
          ) : (
            <div className="overflow-x-auto">
              <table className="table-dense" aria-describedby="results-heading">
                <thead>
                  <tr>
                    <th scope="col">書類ID</th>
                    <th scope="col">案件名</th>
                    <th scope="col" aria-sort={ariaSort('counterparty')}>
                      <Link href={sortLink('counterparty')}>取引先{sortMark('counterparty')}</Link>
                    </th>
                    <th scope="col" aria-sort={ariaSort('transactionDate')}>
                      <Link href={sortLink('transactionDate')}>取引年月日{sortMark('transactionDate')}</Link>
                    </th>
                    <th scope="col" aria-sort={ariaSort('amount')} className="text-right">
                      <Link href={sortLink('amount')}>取引金額{sortMark('amount')}</Link>
                    </th>
                    <th scope="col">契約番号</th>
                    <th scope="col">状態</th>
                    <th scope="col">書面/電子</th>
                    <th scope="col">完了日時</th>
                  </tr>
                </thead>
                <tbody>
                  {result.rows.map((r) => (
                    <tr key={r.id} data-envelope-id={r.id}>
                      <td className="font-mono text-xs whitespace-nowrap">{r.documentNumber}</td>
                      <td>
                        <Link href={r.status === 'draft' ? `/envelopes/${r.id}/edit` : `/envelopes/${r.id}`}>{r.title}</Link>
                      </td>
                      <td>{r.counterparty || <span className="text-solid-gray-700">（空欄）</span>}</td>
                      <td className="whitespace-nowrap">{r.transactionDate ? formatDateWithWareki(r.transactionDate, wareki) : <span className="text-solid-gray-700">（空欄）</span>}</td>
                      <td className="whitespace-nowrap text-right">
                        {r.amount !== null ? (
                          <>
                            {formatYen(r.amount)}
                            <span className="text-xs text-solid-gray-700">（{r.amountTaxIncluded ? '税込' : '税抜'}）</span>
                          </>
                        ) : (
                          <span className="text-solid-gray-700">（空欄）</span>
                        )}
                      </td>
                      <td>{r.contractNumber}</td>
                      <td>
                        <EnvelopeStatusBadge status={r.status} tr={tr} />
                      </td>
                      <td>{r.isPaper ? '書面' : '電子'}</td>
                      <td className="whitespace-nowrap">{formatDateTimeWithWareki(r.completedAt, wareki, locale)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <nav aria-label="ページ送り" className="mt-3 flex gap-4">
            {page.cursor ? <Link href={withParams({ sort: page.sort, dir: page.direction })}>« 最初のページ</Link> : null}
            {result.nextCursor ? (
              <Link href={withParams({ sort: page.sort, dir: page.direction, cursor: result.nextCursor })} rel="next">
                次の{page.limit}件 »
              </Link>
            ) : null}
          </nav>
        </section>
      ) : !error ? (
        <p className="text-solid-gray-700">条件を入力して「検索する」を押してください。条件なしで検索するとすべての契約を表示します。</p>
      ) : null}
    </>
  );
}
