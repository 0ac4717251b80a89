import Link from 'next/link';
import { formatDateTimeWithWareki } from '@/lib/format';
import { listAuditEvents } from '@/lib/records';
import { getDb, getLocale, getShowWareki, requireAdmin } from '../../_lib/server';

export const metadata = { title: '操作ログ' };

/** Japanese names of common actions (others are shown as recorded). */
const ACTIONS: Record<string, string> = {
  'envelope.created': '封筒を作成',
  'envelope.updated': '封筒を更新',
  'envelope.sent': '署名依頼を送信',
  'envelope.voided': '封筒を取消',
  'envelope.completed': '全員の署名が完了',
  'envelope.sealed': '封緘',
  'envelope.declined': '差し戻し',
  'envelope.corrected': '検索項目を訂正',
  'paper.registered': '書面契約を登録',
  'search.exported': '検索結果をCSV出力',
  'document.added': '文書を追加',
  'document.removed': '文書を削除',
  'document.viewed': '文書を表示',
  'recipient.completed': '署名者が署名完了',
  'email.sent': 'メールを送信',
  'user.login': 'ログイン',
  'user.logout': 'ログアウト',
};

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
        <h1 className="text-2xl font-bold">操作ログ</h1>
        <form method="get" action="/audit" className="ml-auto flex items-center gap-2">
          <label htmlFor="audit-action" className="font-bold">
            操作
          </label>
          <select id="audit-action" name="action" defaultValue={action ?? ''} className="input w-auto">
            <option value="">すべて</option>
            {Object.entries(ACTIONS).map(([k, v]) => (
              <option key={k} value={k}>
                {v}
              </option>
            ))}
          </select>
          <button type="submit" className="btn btn-secondary">
            絞り込む
          </button>
        </form>
      </div>
      <p className="mb-3 text-sm text-solid-gray-700">操作ログは追記のみで、変更・削除はできません（記録ごとに前の記録のハッシュを含みます）。</p>
      {events.length === 0 ? (
        <p>操作ログはありません。</p>
      ) : (
        <div className="overflow-x-auto">
          <table className="table-dense" aria-label="操作ログ">
            <thead>
              <tr>
                <th scope="col">番号</th>
                <th scope="col">日時</th>
                <th scope="col">操作</th>
                <th scope="col">実行者</th>
                <th scope="col">書類ID</th>
                <th scope="col">IPアドレス</th>
                <th scope="col">内容</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr key={e.id.toString()}>
                  <td className="font-mono text-xs">{e.id.toString()}</td>
                  <td className="whitespace-nowrap">{formatDateTimeWithWareki(e.createdAt, wareki, locale)}</td>
                  <td>{ACTIONS[e.action] ?? e.action}</td>
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
      <nav aria-label="ページ送り" className="mt-3 flex gap-4">
        {before ? <Link href={link(null)}>« 最新</Link> : null}
        {nextBefore ? (
          <Link href={link(nextBefore)} rel="next">
            さらに古いログ »
          </Link>
        ) : null}
      </nav>
    </>
  );
}
