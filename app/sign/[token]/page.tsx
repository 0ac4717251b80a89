/** /sign/[token] — the signer's page (Japanese, phone and desktop). */
import type { Metadata } from 'next';
import { cookies } from 'next/headers';
import { PublicShell } from '@/app/_components/PublicShell';
import { getRequestContext } from '@/app/_lib/server';
import { getPrisma } from '@/lib/db';
import { LINK_PROBLEM_MESSAGES, openSigningPage, SIGNER_SESSION_COOKIE } from '@/lib/envelopes';
import { formatDateTime } from '@/lib/format';
import { SigningApp, type SigningAppProps } from './SigningApp';

export const metadata: Metadata = { title: '署名手続き', referrer: 'no-referrer' };
export const dynamic = 'force-dynamic';

export default async function SignPage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  const session = (await cookies()).get(SIGNER_SESSION_COOKIE)?.value ?? null;
  const r = await openSigningPage(getPrisma(), token, { ...(await getRequestContext()), session });
  if (!r.ok) {
    const m = LINK_PROBLEM_MESSAGES[r.problem];
    return (
      <PublicShell>
        <section aria-labelledby="problem-title" className="mx-auto max-w-xl py-8" data-testid="link-problem" data-problem={r.problem}>
          <h1 id="problem-title" className="mb-4 text-2xl font-bold">
            {m.title}
          </h1>
          <p className="mb-4">{m.body}</p>
          <p className="text-sm text-solid-gray-700">ご不明な点は、署名依頼メールの送信者にお問い合わせください。</p>
        </section>
      </PublicShell>
    );
  }
  const v = r.view;
  const props: SigningAppProps = {
    token,
    state: v.state,
    auth: {
      needsAccessCode: v.auth.needsAccessCode,
      needsEmailOtp: v.auth.needsEmailOtp,
      accessCodeOk: v.auth.accessCodeOk,
      emailOtpOk: v.auth.emailOtpOk,
      lockedUntil: v.auth.lockedUntil ? formatDateTime(v.auth.lockedUntil) : null,
    },
    envelope: {
      title: v.envelope.title,
      documentNumber: v.envelope.documentNumber,
      message: v.envelope.message,
      sequential: v.envelope.signingOrder === 'sequential',
      expiresAt: v.envelope.expiresAt ? formatDateTime(v.envelope.expiresAt) : null,
    },
    sender: v.sender,
    me: { name: v.me.name, company: v.me.company, completedAt: v.me.completedAt ? formatDateTime(v.me.completedAt) : null },
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
