import Link from 'next/link';
import { isAppError } from '@/lib/errors';
import { formatDateTimeWithWareki, formatDateWithWareki, formatYen } from '@/lib/format';
import {
  EMPTY_FIELDS,
  ENVELOPE_STATUSES,
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
import type { Metadata } from 'next';
import { getDb, getLocale, getTranslator, requireStaff } from '../../_lib/server';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getTranslator())('search.title') };
}

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
  const fieldName = (k: SortKey | (typeof EMPTY_FIELDS)[number]) => tr(`search.field.${k}`);
  const nf = (n: number) => n.toLocaleString(locale === 'en' ? 'en-US' : 'ja-JP');
  const blank = <span className="text-solid-gray-700">{tr('search.blank')}</span>;
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
      <h1 className="mb-3 text-2xl font-bold">{tr('search.title')}</h1>
      <form method="get" action="/search" role="search" aria-label={tr('search.formLabel')} className="mb-4 rounded-lg border border-solid-gray-200 bg-white p-4">
        <div className="grid gap-4 md:grid-cols-3">
          {input('q', tr('search.q'), { placeholder: tr('search.qPlaceholder'), hint: tr('search.qHint') })}
          <fieldset>
            <legend className="field-label">{tr('search.date')}</legend>
            <div className="flex items-center gap-2">
              <label htmlFor="s-dateFrom" className="sr-only">
                {tr('search.dateFrom')}
              </label>
              <input id="s-dateFrom" name="dateFrom" type="date" defaultValue={raw('dateFrom')} className="input" aria-invalid={fe.dateFrom ? true : undefined} />
              <span aria-hidden="true">〜</span>
              <label htmlFor="s-dateTo" className="sr-only">
                {tr('search.dateTo')}
              </label>
              <input id="s-dateTo" name="dateTo" type="date" defaultValue={raw('dateTo')} className="input" aria-invalid={fe.dateTo ? true : undefined} />
            </div>
            {fe.dateFrom || fe.dateTo ? <p className="field-error">{fe.dateFrom ?? fe.dateTo}</p> : null}
          </fieldset>
          <fieldset>
            <legend className="field-label">{tr('search.amount')}</legend>
            <div className="flex items-center gap-2">
              <label htmlFor="s-amountMin" className="sr-only">
                {tr('search.amountMin')}
              </label>
              <input id="s-amountMin" name="amountMin" inputMode="numeric" defaultValue={raw('amountMin')} placeholder={tr('search.min')} className="input" aria-invalid={fe.amountMin ? true : undefined} />
              <span aria-hidden="true">〜</span>
              <label htmlFor="s-amountMax" className="sr-only">
                {tr('search.amountMax')}
              </label>
              <input id="s-amountMax" name="amountMax" inputMode="numeric" defaultValue={raw('amountMax')} placeholder={tr('search.max')} className="input" aria-invalid={fe.amountMax ? true : undefined} />
            </div>
            {fe.amountMin || fe.amountMax ? <p className="field-error">{fe.amountMin ?? fe.amountMax}</p> : null}
          </fieldset>
          {input('title', tr('search.titleField'))}
          {input('contractNumber', tr('search.contractNumber'))}
          {input('party', tr('search.party'))}
          <fieldset>
            <legend className="field-label">{tr('search.status')}</legend>
            <div className="flex flex-wrap gap-x-3 gap-y-1">
              {ENVELOPE_STATUSES.map((s) => (
                <label key={s} className="whitespace-nowrap">
                  <input type="checkbox" name="status" value={s} defaultChecked={rawAll('status').includes(s)} />{' '}
                  {/* Japanese: the words of the CSV export (lib/search STATUS_LABELS); English: the catalogue's. */}
                  {locale === 'en' ? tr(`status.${s}`) : STATUS_LABELS[s]}
                </label>
              ))}
            </div>
          </fieldset>
          <div>
            <label htmlFor="s-kind" className="field-label">
              {tr('search.kind')}
            </label>
            <select id="s-kind" name="kind" defaultValue={raw('kind')} className="input">
              <option value="">{tr('search.kind.all')}</option>
              <option value="electronic">{tr('search.kind.electronic')}</option>
              <option value="paper">{tr('search.kind.paper')}</option>
            </select>
          </div>
          <fieldset>
            <legend className="field-label">{tr('search.empty')}</legend>
            <div className="flex flex-wrap gap-x-3 gap-y-1">
              {EMPTY_FIELDS.map((f) => (
                <label key={f} className="whitespace-nowrap">
                  <input type="checkbox" name="empty" value={f} defaultChecked={rawAll('empty').includes(f)} /> {tr('search.emptyField', { field: fieldName(f) })}
                </label>
              ))}
            </div>
          </fieldset>
        </div>
        <input type="hidden" name="sort" value={page.sort} />
        <input type="hidden" name="dir" value={page.direction} />
        <div className="mt-4 flex flex-wrap items-center gap-3">
          <button type="submit" className="btn btn-primary">
            {tr('search.submit')}
          </button>
          <Link href="/search" className="btn btn-secondary">
            {tr('search.clear')}
          </Link>
          <label className="ml-auto whitespace-nowrap">
            <input type="checkbox" name="wareki" value="1" defaultChecked={wareki} /> {tr('search.wareki')}
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
              {tr('search.results', {
                count: result.total.capped
                  ? tr('search.countCapped', { n: nf(result.total.count), estimate: nf(result.total.estimate ?? 0) })
                  : tr('search.count', { n: nf(result.total.count) }),
              })}
            </h2>
            <span className="text-sm">{tr('search.sortedBy', { key: fieldName(page.sort), dir: tr(page.direction === 'asc' ? 'search.asc' : 'search.desc') })}</span>
            {result.total.count > 0 ? (
              <a href={csvHref} className="btn btn-secondary ml-auto" download>
                {tr('search.csv')}
              </a>
            ) : null}
          </div>
          {result.rows.length === 0 ? (
            <p>{tr('search.none')}</p>
          ) : (
            <div className="overflow-x-auto">
              <table className="table-dense" aria-describedby="results-heading">
                <thead>
                  <tr>
                    <th scope="col">{tr('search.col.documentNumber')}</th>
                    <th scope="col">{tr('search.col.title')}</th>
                    <th scope="col" aria-sort={ariaSort('counterparty')}>
                      <Link href={sortLink('counterparty')}>
                        {fieldName('counterparty')}
                        {sortMark('counterparty')}
                      </Link>
                    </th>
                    <th scope="col" aria-sort={ariaSort('transactionDate')}>
                      <Link href={sortLink('transactionDate')}>
                        {fieldName('transactionDate')}
                        {sortMark('transactionDate')}
                      </Link>
                    </th>
                    <th scope="col" aria-sort={ariaSort('amount')} className="text-right">
                      <Link href={sortLink('amount')}>
                        {fieldName('amount')}
                        {sortMark('amount')}
                      </Link>
                    </th>
                    <th scope="col">{tr('search.contractNumber')}</th>
                    <th scope="col">{tr('search.col.status')}</th>
                    <th scope="col">{tr('search.col.kind')}</th>
                    <th scope="col">{tr('search.col.completedAt')}</th>
                  </tr>
                </thead>
                <tbody>
                  {result.rows.map((r) => (
                    <tr key={r.id} data-envelope-id={r.id}>
                      <td className="font-mono text-xs whitespace-nowrap">{r.documentNumber}</td>
                      <td>
                        <Link href={r.status === 'draft' ? `/envelopes/${r.id}/edit` : `/envelopes/${r.id}`}>{r.title}</Link>
                      </td>
                      <td>{r.counterparty || blank}</td>
                      <td className="whitespace-nowrap">{r.transactionDate ? formatDateWithWareki(r.transactionDate, wareki, locale) : blank}</td>
                      <td className="whitespace-nowrap text-right">
                        {r.amount !== null ? (
                          <>
                            {formatYen(r.amount, locale)}
                            <span className="text-xs text-solid-gray-700">
                              {locale === 'en' ? ' (' : '（'}
                              {tr(r.amountTaxIncluded ? 'search.taxIncluded' : 'search.taxExcluded')}
                              {locale === 'en' ? ')' : '）'}
                            </span>
                          </>
                        ) : (
                          blank
                        )}
                      </td>
                      <td>{r.contractNumber}</td>
                      <td>
                        <EnvelopeStatusBadge status={r.status} tr={tr} />
                      </td>
                      <td>{tr(r.isPaper ? 'search.paper' : 'search.electronic')}</td>
                      <td className="whitespace-nowrap">{formatDateTimeWithWareki(r.completedAt, wareki, locale)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <nav aria-label={tr('search.pages')} className="mt-3 flex gap-4">
            {page.cursor ? <Link href={withParams({ sort: page.sort, dir: page.direction })}>{tr('search.first')}</Link> : null}
            {result.nextCursor ? (
              <Link href={withParams({ sort: page.sort, dir: page.direction, cursor: result.nextCursor })} rel="next">
                {tr('search.next', { n: page.limit })}
              </Link>
            ) : null}
          </nav>
        </section>
      ) : !error ? (
        <p className="text-solid-gray-700">{tr('search.prompt')}</p>
      ) : null}
    </>
  );
}
