import type { Metadata } from 'next';
import { getMfaStatus, startMfaEnrolment } from '@/lib/auth';
import { getDb, getTranslator, requireStaffForMfaSetup } from '../../../_lib/server';
import { DisableMfaForm, EnableMfaForm, RegenerateRecoveryCodesForm } from './MfaForms';

export const metadata: Metadata = { title: '二要素認証' };
export const dynamic = 'force-dynamic';

/** The signed-in staff member's own MFA (TOTP) settings: enrol with a code, or turn off with a code. */
export default async function MfaPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const actor = await requireStaffForMfaSetup();
  const tr = await getTranslator();
  const sp = await searchParams;
  const { enabled } = await getMfaStatus(getDb(), actor);
  const done = sp.done === 'enabled' ? tr('mfa.doneEnabled') : sp.done === 'disabled' ? tr('mfa.doneDisabled') : null;
  const labels = { code: tr('mfa.code'), required: tr('form.required') };
  const enrolment = enabled ? null : await startMfaEnrolment(actor);
  const recoveryLabels = { title: tr('mfa.recoveryTitle'), help: tr('mfa.recoveryHelp'), continue: tr('mfa.recoveryContinue') };
  const remaining = enabled ? await getDb().mfaRecoveryCode.count({ where: { userId: actor.userId, usedAt: null } }) : 0;
  const org = await getDb().organization.findUnique({ where: { id: actor.organizationId }, select: { requireMfa: true } });
  return (
    <div className="max-w-2xl space-y-4">
      <h1 className="text-2xl font-bold">{tr('mfa.title')}</h1>
      {done ? (
        <p role="status" className="rounded-lg border border-solid-gray-300 bg-solid-gray-50 p-3">
          {done}
        </p>
      ) : null}
      {enrolment && org?.requireMfa ? (
        <p role="alert" data-testid="mfa-required" className="rounded-lg border border-red-800 bg-red-50 p-3 font-bold">
          {tr('mfa.requiredByOrg')}
        </p>
      ) : null}
      {enrolment ? (
        <>
          <p>{tr('mfa.disabled')}</p>
          <p>{tr('mfa.enrolHelp')}</p>
          <dl className="space-y-2">
            <dt className="font-bold">{tr('mfa.secret')}</dt>
            <dd>
              <code data-testid="mfa-secret" className="break-all text-lg">
                {enrolment.secret}
              </code>
            </dd>
            <dt className="font-bold">{tr('mfa.uri')}</dt>
            <dd>
              <code data-testid="mfa-uri" className="break-all text-sm">
                {enrolment.otpauthUri}
              </code>
            </dd>
          </dl>
          <EnableMfaForm enrolToken={enrolment.enrolToken} labels={{ ...labels, submit: tr('mfa.enable') }} recoveryLabels={{ ...recoveryLabels, done: tr('mfa.doneEnabled') }} />
        </>
      ) : (
        <>
          <p>{tr('mfa.enabled')}</p>
          <h2 className="text-lg font-bold">{tr('mfa.recoveryTitle')}</h2>
          <p data-testid="mfa-recovery-remaining">{tr('mfa.recoveryRemaining', { n: String(remaining) })}</p>
          <p>{tr('mfa.recoveryRegenerateHelp')}</p>
          <RegenerateRecoveryCodesForm labels={{ ...labels, submit: tr('mfa.recoveryRegenerate') }} recoveryLabels={recoveryLabels} />
          <h2 className="text-lg font-bold">{tr('mfa.disable')}</h2>
          <p>{tr('mfa.disableHelp')}</p>
          <DisableMfaForm labels={{ ...labels, submit: tr('mfa.disable') }} />
        </>
      )}
    </div>
  );
}
