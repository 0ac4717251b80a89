/** 管理: the last verification of the organisation's 操作ログ chain, its time-stamped head and any break (lib/audit). */
import type { AuditVerificationStatus } from '@/lib/audit';
import { formatDateTimeWithWareki } from '@/lib/format';
import { auditActionLabel, translator, type Locale } from '@/lib/i18n';

export function AuditIntegrity({ status, locale, wareki }: { status: AuditVerificationStatus; locale: Locale; wareki: boolean }) {
  const tr = translator(locale);
  const time = (d: Date) => formatDateTimeWithWareki(d, wareki, locale);
  const { last, lastAnchored, firstBroken, roleProblems } = status;
  return (
    <section aria-labelledby="admin-audit" className="mb-8" data-testid="audit-integrity">
      <h2 id="admin-audit" className="mb-2 text-xl font-bold">
        {tr('admin.audit.title')}
      </h2>
      <p className="mb-2 text-sm text-solid-gray-700">{tr('admin.audit.note')}</p>
      {roleProblems.length > 0 && (
        <p role="alert" className="mb-2 rounded border-2 border-error-1 p-3">
          {tr('admin.audit.role', { problems: roleProblems.join(', ') })}
        </p>
      )}
      {!last ? (
        <p>{tr('admin.audit.never')}</p>
      ) : (
        <dl className="grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1">
          <dt className="font-bold">{tr('admin.audit.lastRun')}</dt>
          <dd>{time(last.verifiedAt)}</dd>
          <dt className="font-bold">{tr('admin.audit.result')}</dt>
          <dd data-testid="audit-result" className={last.ok ? '' : 'font-bold text-error-1'}>
            {last.ok ? tr('admin.audit.ok', { count: last.eventsChecked.toLocaleString('ja-JP') }) : tr('admin.audit.broken')}
          </dd>
          {firstBroken && (
            <>
              <dt className="font-bold">{tr('admin.audit.firstBroken')}</dt>
              <dd data-testid="audit-first-broken">
                {tr('admin.audit.firstBrokenValue', {
                  id: firstBroken.eventId.toString(),
                  action: firstBroken.action ? auditActionLabel(locale, firstBroken.action) : '—',
                  time: firstBroken.createdAt ? time(firstBroken.createdAt) : '—',
                  problem: tr(`auditProblem.${firstBroken.problem}`),
                })}
              </dd>
            </>
          )}
          {last.headEventId !== null && last.headHash && (
            <>
              <dt className="font-bold">{tr('admin.audit.head')}</dt>
              <dd>
                <code>{tr('admin.audit.headValue', { id: last.headEventId.toString(), hash: last.headHash.slice(0, 16) })}</code>
              </dd>
            </>
          )}
          {last.ok && (
            <>
              <dt className="font-bold">{tr('admin.audit.anchoredAt')}</dt>
              <dd data-testid="audit-anchored">{last.timestampedAt ? time(last.timestampedAt) : tr('admin.audit.anchorFailed')}</dd>
            </>
          )}
        </dl>
      )}
      {lastAnchored?.timestampedAt && (!last?.timestampedAt || !last.ok) && (
        <p className="mt-2 text-sm">
          {tr('admin.audit.lastAnchored', { time: time(lastAnchored.timestampedAt), id: lastAnchored.headEventId?.toString() ?? '—' })}
        </p>
      )}
    </section>
  );
}
