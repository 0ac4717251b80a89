/** /sign/[token] — the signer's page (Japanese; English with ts_lang=en; phone and desktop). */
import type { Metadata } from 'next';
import { cookies } from 'next/headers';
import { PublicShell } from '@/app/_components/PublicShell';
import { getLocale, getRequestContext, getTranslator } from '@/app/_lib/server';
import { getPrisma } from '@/lib/db';
import { openSigningPage, SIGNER_SESSION_COOKIE } from '@/lib/envelopes';
import { formatDateTimeWithWareki } from '@/lib/format';
import { SigningApp, type SigningAppProps } from './SigningApp';

export async function generateMetadata(): Promise<Metadata> {
  const tr = await getTranslator();
  // same-origin, not no-referrer: the token never leaves this origin either way, but with no-referrer a
  // form POST (the 「English」 switch → /lang) carries `Origin: null`, is refused as cross-site, and
  // could not return to this page.
  return { title: tr('sign.metaTitle'), referrer: 'same-origin' };
}
export const dynamic = 'force-dynamic';

export default async function SignPage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  const session = (await cookies()).get(SIGNER_SESSION_COOKIE)?.value ?? null;
  const r = await openSigningPage(getPrisma(), token, { ...(await getRequestContext()), session });
  const locale = await getLocale();
  const tr = await getTranslator();
  if (!r.ok) {
    return (
      <PublicShell>
        <section aria-labelledby="problem-title" className="mx-auto max-w-xl py-8" data-testid="link-problem" data-problem={r.problem}>
          <h1 id="problem-title" className="mb-4 text-2xl font-bold">
            {tr(`linkProblem.${r.problem}.title`)}
          </h1>
          <p className="mb-4">{tr(`linkProblem.${r.problem}.body`)}</p>
          <p className="text-sm text-solid-gray-700">{tr('public.contact')}</p>
        </section>
      </PublicShell>
    );
  }
  const v = r.view;
  const when = (d: Date | null) => (d ? formatDateTimeWithWareki(d, v.showWareki, locale) : null);
  const props: SigningAppProps = {
    token,
    locale,
    state: v.state,
    auth: {
      needsAccessCode: v.auth.needsAccessCode,
      needsEmailOtp: v.auth.needsEmailOtp,
      accessCodeOk: v.auth.accessCodeOk,
      emailOtpOk: v.auth.emailOtpOk,
      lockedUntil: when(v.auth.lockedUntil),
    },
    envelope: {
      title: v.envelope.title,
      documentNumber: v.envelope.documentNumber,
      message: v.envelope.message,
      sequential: v.envelope.signingOrder === 'sequential',
      expiresAt: when(v.envelope.expiresAt),
    },
    sender: v.sender,
    me: { name: v.me.name, company: v.me.company, completedAt: when(v.me.completedAt) },
    parties: v.parties,
    documents: v.documents,
    otpDestination: v.otpDestination,
  };
  return (
    <PublicShell organizationName={v.sender.organization}>
      <SigningApp {...props} />
    </PublicShell>
  );
}
