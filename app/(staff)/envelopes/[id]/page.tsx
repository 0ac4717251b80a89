import Link from 'next/link';
import { notFound } from 'next/navigation';
import { listEnvelopeAudit } from '@/lib/audit';
import { getEnvelope, getSealingStatus } from '@/lib/envelopes';
import { isAppError } from '@/lib/errors';
import { auditActionLabel } from '@/lib/i18n';
import { formatDateTimeWithWareki, formatDateWithWareki, formatYen } from '@/lib/format';
import { EnvelopeStatusBadge, PartyStatus } from '../../../_components/StatusBadge';
import { getDb, getLocale, getTranslator, requireStaff } from '../../../_lib/server';
import { resendAction, retrySealAction } from '../actions';
import { VoidForm } from './VoidForm';
import { EnvelopeCorrections } from './corrections';

export const metadata = { title: '封筒の詳細' };

const NOTICES: Record<string, string> = {
  sent: '署名依頼を送信しました。',
  resent: '署名依頼を再送しました。以前のリンクは無効になりました。',
  voided: '封筒を取り消しました。通知済みの相手方に取消のお知らせを送ります。',
  seal_retried: '封緘処理を再開しました。完了すると全員に完了のお知らせが届きます。',
};


function summarize(details: unknown): string {
  if (!details || typeof details !== 'object') return '';
  const d = details as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of ['fileName', 'reason', 'to', 'email', 'recipientEmail', 'version']) {
    if (typeof d[k] === 'string') parts.push(String(d[k]));
  }
  return parts.join(' / ');
}

export default async function EnvelopeDetailPage({
  params,
  searchParams,
}: {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const actor = await requireStaff();
  const tr = await getTranslator();
  const locale = await getLocale();
  const { id } = await params;
  const sp = await searchParams;
  const db = getDb();
  const env = await getEnvelope(db, actor, id).catch((e: unknown) => {
    if (isAppError(e) && e.code === 'not_found') notFound();
    throw e;
  });
  const audit = await listEnvelopeAudit(db, actor.organizationId, env.id);
  const notice = typeof sp.notice === 'string' ? NOTICES[sp.notice] : undefined;
  const error = typeof sp.error === 'string' ? sp.error.slice(0, 300) : undefined;
  const wareki = env.organization.showWareki;
  const canResend = env.status === 'sent' || env.status === 'in_progress';
  const canVoid = env.status === 'draft' || env.status === 'sent' || env.status === 'in_progress';
  const sealing = env.status === 'sealing' ? await getSealingStatus(db, actor, env.id) : null;

  return (
    <>
      {notice ? (
        <p role="status" className="mb-3 rounded-lg border-2 border-green-700 bg-green-50 p-3">
          <span aria-hidden="true">◎ </span>
          {notice}
        </p>
      ) : null}
      {error ? (
        <p role="alert" className="mb-3 rounded-lg border-2 border-error-1 bg-red-50 p-3 text-error-2">
          <span aria-hidden="true">！</span>
          {error}
        </p>
      ) : null}
      <div className="mb-3 flex flex-wrap items-center gap-3">
        <h1 className="text-2xl font-bold">{env.title}</h1>
        <EnvelopeStatusBadge status={env.status} tr={tr} />
        {env.status === 'draft' ? (
          <Link href={`/envelopes/${env.id}/edit`} className="btn btn-secondary">
            {tr('detail.edit')}
          </Link>
        ) : null}
      </div>

      <dl className="mb-6 grid grid-cols-[max-content_1fr] gap-x-6 gap-y-1 md:grid-cols-[max-content_1fr_max-content_1fr]">
        <dt className="font-bold">{tr('detail.documentNumber')}</dt>
        <dd className="font-mono">{env.documentNumber}</dd>
        <dt className="font-bold">{tr('form.counterparty')}</dt>
        <dd>{env.counterparty}</dd>
        <dt className="font-bold">{tr('form.transactionDate')}</dt>
        <dd>{formatDateWithWareki(env.transactionDate, wareki, locale) || '—'}</dd>
        <dt className="font-bold">取引金額</dt>
        <dd>{env.amount !== null ? `${formatYen(env.amount, locale)}（${env.amountTaxIncluded ? '税込' : '税抜'}）` : '—'}</dd>
        <dt className="font-bold">{tr('form.contractNumber')}</dt>
        <dd>{env.contractNumber ?? '—'}</dd>
        <dt className="font-bold">作成者</dt>
        <dd>{env.createdBy?.name ?? '—'}</dd>
        <dt className="font-bold">{tr('detail.sentAt')}</dt>
        <dd>{formatDateTimeWithWareki(env.sentAt, wareki, locale) || '—'}</dd>
        <dt className="font-bold">署名期限</dt>
        <dd>{formatDateTimeWithWareki(env.expiresAt, wareki, locale) || '—'}</dd>
        {env.voidReason ? (
          <>
            <dt className="font-bold">取消の理由</dt>
            <dd>{env.voidReason}</dd>
          </>
        ) : null}
        {env.declineReason ? (
          <>
            <dt className="font-bold">差し戻しの理由</dt>
            <dd>{env.declineReason}</dd>
          </>
        ) : null}
      </dl>

      <section aria-labelledby="sec-docs" className="mb-6">
        <h2 id="sec-docs" className="mb-2 text-lg font-bold">
          {tr('detail.documents')}
        </h2>
        <table className="table-dense">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">ファイル名</th>
              <th scope="col">ページ数</th>
              <th scope="col">SHA-256</th>
              <th scope="col">表示</th>
            </tr>
          </thead>
          <tbody>
            {env.documents.map((d) => (
              <tr key={d.id}>
                <td>{d.position}</td>
                <td className="break-all">{d.fileName}</td>
                <td>{d.pageCount}</td>
                <td className="font-mono text-xs break-all">{d.sha256}</td>
                <td className="whitespace-nowrap">
                  <a href={`/api/envelopes/${env.id}/documents/${d.id}`} target="_blank" rel="noreferrer">
                    原本<span className="sr-only">（{d.fileName}）</span>
                  </a>
                  {d.sealedBlobId ? (
                    <>
                      {' ／ '}
                      <a href={`/api/envelopes/${env.id}/documents/${d.id}?version=sealed`} target="_blank" rel="noreferrer">
                        封緘済み<span className="sr-only">（{d.fileName}）</span>
                      </a>
                    </>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      {sealing ? (
        <section aria-labelledby="sec-sealing" className="mb-6 rounded-lg border border-solid-gray-300 p-3" data-sealing-state={sealing.state}>
          <h2 id="sec-sealing" className="mb-2 text-lg font-bold">
            封緘処理
          </h2>
          {sealing.state === 'stopped' || sealing.state === 'missing' ? (
            <>
              <p role="alert" className="mb-2 text-error-2">
                <span aria-hidden="true">！</span>
                封緘を完了できませんでした（タイムスタンプ局や保存先に接続できない状態が続きました）。署名済みの内容は保存されています。原因が解消したら再試行してください。
              </p>
              <form action={retrySealAction}>
                <input type="hidden" name="envelopeId" value={env.id} />
                <button type="submit" className="btn btn-primary">
                  封緘を再試行する
                </button>
              </form>
            </>
          ) : sealing.state === 'retrying' ? (
            <p role="status">
              封緘に失敗したため自動で再試行します（{sealing.attempts}/{sealing.maxAttempts}回目まで実施、次回{' '}
              {sealing.nextAttemptAt ? formatDateTimeWithWareki(sealing.nextAttemptAt, wareki, locale) : '—'}）。
            </p>
          ) : (
            <p role="status">全員の署名が完了しました。電子署名とタイムスタンプを付与しています。</p>
          )}
        </section>
      ) : null}

      {env.status === 'completed' ? (
        <section aria-labelledby="sec-sealed" className="mb-6">
          <h2 id="sec-sealed" className="mb-2 text-lg font-bold">
            封緘済みファイル
          </h2>
          <ul className="flex flex-wrap gap-4">
            <li>
              <a href={`/api/envelopes/${env.id}/sealed/zip`}>すべてをZIPでダウンロード</a>
            </li>
            <li>
              <a href={`/api/envelopes/${env.id}/sealed/certificate`}>合意締結証明書（PDF）</a>
            </li>
            {env.documents.map((d) => (
              <li key={d.id}>
                <a href={`/api/envelopes/${env.id}/sealed/doc_${d.id}`}>
                  {d.fileName}
                  <span className="sr-only">（封緘済み）</span>
                </a>
              </li>
            ))}
          </ul>
        </section>
      ) : null}

      <section aria-labelledby="sec-parties" className="mb-6">
        <h2 id="sec-parties" className="mb-2 text-lg font-bold">
          {tr('detail.parties')}
        </h2>
        <table className="table-dense">
          <thead>
            <tr>
              <th scope="col">順番</th>
              <th scope="col">氏名</th>
              <th scope="col">メールアドレス</th>
              <th scope="col">区分</th>
              <th scope="col">状況</th>
              <th scope="col">依頼URLの期限</th>
              <th scope="col">操作</th>
            </tr>
          </thead>
          <tbody>
            {env.recipients.map((r) => (
              <tr key={r.id} data-recipient-email={r.email}>
                <td>{r.role === 'cc' ? '—' : r.order}</td>
                <td>
                  {r.name}
                  {r.title || r.company ? (
                    <div className="text-xs text-solid-gray-700">{[r.company, r.title].filter(Boolean).join(' ')}</div>
                  ) : null}
                </td>
                <td className="break-all">{r.email}</td>
                <td>{r.role === 'cc' ? '写し送付先' : r.partyType === 'municipal' ? '市の署名者' : '事業者'}</td>
                <td>
                  <PartyStatus status={r.status} role={r.role} tr={tr} />
                  {r.completedAt ? <div className="text-xs">{formatDateTimeWithWareki(r.completedAt, wareki, locale)}</div> : null}
                </td>
                <td className="whitespace-nowrap">
                  {r.latestRequest ? (r.latestRequest.revokedAt ? '無効' : formatDateTimeWithWareki(r.latestRequest.expiresAt, wareki, locale)) : '—'}
                </td>
                <td>
                  {canResend && r.role === 'signer' && r.notifiedAt && !r.completedAt && !r.declinedAt ? (
                    <form action={resendAction}>
                      <input type="hidden" name="envelopeId" value={env.id} />
                      <input type="hidden" name="recipientId" value={r.id} />
                      <button type="submit" className="btn btn-secondary px-2 py-0 text-sm">
                        再送<span className="sr-only">（{r.name}）</span>
                      </button>
                    </form>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      {canVoid ? (
        <section className="mb-6" aria-label="取消">
          <VoidForm envelopeId={env.id} />
        </section>
      ) : null}

      <EnvelopeCorrections envelopeId={env.id} searchParams={sp} />

      <section aria-labelledby="sec-audit">
        <h2 id="sec-audit" className="mb-2 text-lg font-bold">
          {tr('detail.audit')}
        </h2>
        <table className="table-dense">
          <thead>
            <tr>
              <th scope="col">{tr('audit.time')}</th>
              <th scope="col">{tr('audit.actor')}</th>
              <th scope="col">{tr('audit.action')}</th>
              <th scope="col">内容</th>
              <th scope="col">{tr('audit.ip')}</th>
            </tr>
          </thead>
          <tbody>
            {audit.map((a) => (
              <tr key={a.id.toString()} data-audit-action={a.action}>
                <td className="whitespace-nowrap">{formatDateTimeWithWareki(a.createdAt, wareki, locale)}</td>
                <td className="break-all">{a.actorLabel ?? (a.actorType === 'system' ? 'システム' : '—')}</td>
                <td>
                  {auditActionLabel(locale, a.action)}
                  <div className="font-mono text-xs text-solid-gray-700">{a.action}</div>
                </td>
                <td className="break-all">{summarize(a.details)}</td>
                <td className="font-mono text-xs">{a.ip ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </>
  );
}
