import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { PublicShell } from '../_components/PublicShell';
import { getStaff, getTranslator } from '../_lib/server';
import { LoginForm } from './LoginForm';

export const metadata: Metadata = { title: '職員ログイン' };

export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const sp = await searchParams;
  const tr = await getTranslator();
  if (await getStaff()) redirect('/envelopes');
  const reason = typeof sp.reason === 'string' ? sp.reason : undefined;
  const next = typeof sp.next === 'string' ? sp.next : '/envelopes';
  const notice =
    reason === 'expired' ? tr('login.expired') : reason === 'ip' ? tr('login.ipDenied') : reason === 'logout' ? tr('login.loggedOut') : null;
  return (
    <PublicShell>
      <div className="mx-auto max-w-md">
        <h1 className="mb-4 text-2xl font-bold">{tr('login.title')}</h1>
        {notice ? (
          <p role="status" className="mb-4 rounded-lg border border-solid-gray-300 bg-solid-gray-50 p-3">
            {notice}
          </p>
        ) : null}
        <LoginForm
          next={next}
          labels={{
            email: tr('login.email'),
            password: tr('login.password'),
            submit: tr('login.submit'),
            required: tr('form.required'),
            mfaCode: tr('login.mfaCode'),
            mfaHelp: tr('login.mfaHelp'),
            mfaSubmit: tr('login.mfaSubmit'),
          }}
        />
      </div>
    </PublicShell>
  );
}
