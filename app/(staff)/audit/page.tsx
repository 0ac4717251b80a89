import Link from 'next/link';
import { formatDateTimeWithWareki } from '@/lib/format';
import { AUDIT_ACTIONS as ACTIONS, auditActionLabel } from '@/lib/i18n';
import { listAuditEvents } from '@/lib/records';
import type { Metadata } from 'next';
import { getDb, getLocale, getShowWareki, getTranslator, requireAdmin } from '../../_lib/server';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getTranslator())('auditPage.title') };
}


function detailsText(d: unknown): string {
  if (!d || typeof d !== 'object' || Object.keys(d).length === 0) return '';
  const s = JSON.stringify(d);
  return s.length > 300 ? `${s.slice(0, 300)}…` : s;
}

/** 操作ログ (admins only): every recorded action of the organisation, newest first, 50 per page. */
export default async function AuditPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const actor = await requireAdmin();
  const wareki = await getShowWareki(actor.organizationId);
  const locale = await getLocale();
  const tr = await getTranslator();
  const actionName = (a: string) => auditActionLabel(locale, a);
  const sp = await searchParams;
  const before = typeof sp.before === 'string' ? sp.before : null;
  const action = typeof sp.action === 'string' && sp.action ? sp.action : null;
  const { events, nextBefore } = await listAuditEvents(getDb(), actor, { before, action, limit: 50 });
  const link = (b: string | null) => {
    const u = new URLSearchParams();
    if (action) u.set('action', action);
    if (b) u.set('before', b);
    const s = u.toString();
    return s ? `/audit?${s}` : '/audit';
  };
  return (
    <>
      <div className="mb-3 flex flex-wrap items-center gap-4">
        <h1 className="text-2xl font-bold">{tr('auditPage.title')}</h1>
        <form method="get" action="/audit" className="ml-auto flex items-center gap-2">
          <label htmlFor="audit-action" className="font-bold">
            {tr('audit.action')}
          </label>
          <select id="audit-action" name="action" defaultValue={action ?? ''} className="input w-auto">
            <option value="">{tr('auditPage.all')}</option>
            {ACTIONS.map((k) => (
              <option key={k} value={k}>
                {actionName(k)}
              </option>
            ))}
          </select>
          <button type="submit" className="btn btn-secondary">
            {tr('auditPage.filter')}
          </button>
        </form>
      </div>
      <p className="mb-3 text-sm text-solid-gray-700">{tr('auditPage.note')}</p>
      {events.length === 0 ? (
        <p>{tr('auditPage.empty')}</p>
      ) : (
        <div className="overflow-x-auto">
          <table className="table-dense" aria-label={tr('auditPage.title')}>
            <thead>
              <tr>
                <th scope="col">{tr('auditPage.col.no')}</th>
                <th scope="col">{tr('audit.time')}</th>
                <th scope="col">{tr('audit.action')}</th>
                <th scope="col">{tr('auditPage.col.actor')}</th>
                <th scope="col">{tr('detail.documentNumber')}</th>
                <th scope="col">{tr('audit.ip')}</th>
                <th scope="col">{tr('auditPage.col.details')}</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr key={e.id.toString()}>
                  <td className="font-mono text-xs">{e.id.toString()}</td>
                  <td className="whitespace-nowrap">{formatDateTimeWithWareki(e.createdAt, wareki, locale)}</td>
                  <td>{actionName(e.action)}</td>
                  <td>{e.actorLabel ?? e.actorType}</td>
                  <td className="font-mono text-xs">{e.envelopeId && e.envelopeDocumentNumber ? <Link href={`/envelopes/${e.envelopeId}`}>{e.envelopeDocumentNumber}</Link> : ''}</td>
                  <td className="font-mono text-xs">{e.ip ?? ''}</td>
                  <td className="max-w-md break-all text-xs">{detailsText(e.details)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav aria-label={tr('auditPage.pages')} className="mt-3 flex gap-4">
        {before ? <Link href={link(null)}>{tr('auditPage.newest')}</Link> : null}
        {nextBefore ? (
          <Link href={link(nextBefore)} rel="next">
            {tr('auditPage.older')}
          </Link>
        ) : null}
      </nav>
    </>
  );
}
