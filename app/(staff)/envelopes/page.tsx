import Link from 'next/link';
import { listEnvelopes } from '@/lib/envelopes';
import { formatDateTimeWithWareki } from '@/lib/format';
import type { MessageKey } from '@/lib/i18n';
import { EnvelopeStatusBadge, PartyStatus } from '../../_components/StatusBadge';
import { getDb, getLocale, getShowWareki, getTranslator, requireStaff } from '../../_lib/server';

export const metadata = { title: '封筒一覧' };

const STATUSES = ['draft', 'sent', 'in_progress', 'sealing', 'completed', 'declined', 'voided', 'expired'] as const;

export default async function EnvelopesPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const actor = await requireStaff();
  const tr = await getTranslator();
  const locale = await getLocale();
  const sp = await searchParams;
  const status = typeof sp.status === 'string' ? sp.status : undefined;
  const cursor = typeof sp.cursor === 'string' ? sp.cursor : undefined;
  const { items, nextCursor } = await listEnvelopes(getDb(), actor, { status, cursor, limit: 50 });
  const wareki = await getShowWareki(actor.organizationId);
  const qs = (c: string | null) => {
    const p = new URLSearchParams();
    if (status) p.set('status', status);
    if (c) p.set('cursor', c);
    const s = p.toString();
    return s ? `/envelopes?${s}` : '/envelopes';
  };
  return (
    <>
      <div className="mb-3 flex flex-wrap items-center gap-4">
        <h1 className="text-2xl font-bold">{tr('envelopes.title')}</h1>
        <Link href="/envelopes/new" className="btn btn-primary">
          {tr('envelopes.new')}
        </Link>
        <form method="get" action="/envelopes" className="ml-auto flex items-center gap-2">
          <label htmlFor="status-filter" className="font-bold">
            {tr('envelopes.col.status')}
          </label>
          <select id="status-filter" name="status" defaultValue={status ?? ''} className="input w-auto">
            <option value="">すべて</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {tr(`status.${s}` as MessageKey)}
              </option>
            ))}
          </select>
          <button type="submit" className="btn btn-secondary">
            絞り込む
          </button>
        </form>
      </div>
      {items.length === 0 ? (
        <p>{tr('envelopes.empty')}</p>
      ) : (
        <table className="table-dense" aria-label={tr('envelopes.title')}>
          <thead>
            <tr>
              <th scope="col">{tr('envelopes.col.title')}</th>
              <th scope="col">{tr('envelopes.col.counterparty')}</th>
              <th scope="col">{tr('envelopes.col.status')}</th>
              <th scope="col">{tr('envelopes.col.parties')}</th>
              <th scope="col">{tr('envelopes.col.documentNumber')}</th>
              <th scope="col">{tr('envelopes.col.updated')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((e) => (
              <tr key={e.id} data-envelope-id={e.id}>
                <td>
                  <Link href={e.status === 'draft' ? `/envelopes/${e.id}/edit` : `/envelopes/${e.id}`}>{e.title}</Link>
                  <div className="text-xs text-solid-gray-700">文書 {e._count.documents} 件</div>
                </td>
                <td>{e.counterparty}</td>
                <td>
                  <EnvelopeStatusBadge status={e.status} tr={tr} />
                </td>
                <td>
                  <ul>
                    {e.recipients.map((r) => (
                      <li key={r.id} className="whitespace-nowrap">
                        {r.name}：<PartyStatus status={r.status} role={r.role} tr={tr} />
                      </li>
                    ))}
                  </ul>
                </td>
                <td className="font-mono text-xs">{e.documentNumber}</td>
                <td className="whitespace-nowrap">{formatDateTimeWithWareki(e.updatedAt, wareki, locale)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav aria-label="ページ送り" className="mt-3 flex gap-4">
        {cursor ? <Link href={qs(null)}>« 最初のページ</Link> : null}
        {nextCursor ? (
          <Link href={qs(nextCursor)} rel="next">
            {tr('envelopes.next')} »
          </Link>
        ) : null}
      </nav>
    </>
  );
}
