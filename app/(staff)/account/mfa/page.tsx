import type { Metadata } from 'next';
import { getMfaStatus, startMfaEnrolment } from '@/lib/auth';
import { getDb, getTranslator, requireStaff } from '../../../_lib/server';
import { DisableMfaForm, EnableMfaForm } from './MfaForms';

export const metadata: Metadata = { title: '二要素認証' };
export const dynamic = 'force-dynamic';

/** The signed-in staff member's own MFA (TOTP) settings: enrol with a code, or turn off with a code. */
export default async function MfaPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const actor = await requireStaff();
  const tr = await getTranslator();
  const sp = await searchParams;
  const { enabled } = await getMfaStatus(getDb(), actor);
  const done = sp.done === 'enabled' ? tr('mfa.doneEnabled') : sp.done === 'disabled' ? tr('mfa.doneDisabled') : null;
  const labels = { code: tr('mfa.code'), required: tr('form.required') };
  const enrolment = enabled ? null : await startMfaEnrolment(actor);
  return (
    <div className="max-w-2xl space-y-4">
      <h1 className="text-2xl font-bold">{tr('mfa.title')}</h1>
      {done ? (
        <p role="status" className="rounded-lg border border-solid-gray-300 bg-solid-gray-50 p-3">
          {done}
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
          <EnableMfaForm enrolToken={enrolment.enrolToken} labels={{ ...labels, submit: tr('mfa.enable') }} />
        </>
      ) : (
        <>
          <p>{tr('mfa.enabled')}</p>
          <p>{tr('mfa.disableHelp')}</p>
          <DisableMfaForm labels={{ ...labels, submit: tr('mfa.disable') }} />
        </>
      )}
    </div>
  );
}
