'use client';
/**
 * Upload a PDF → POST /api/verify → show the report (Japanese, or English headings with ts_lang=en;
 * the verifier's own messages stay Japanese). Nothing is stored.
 */
import { useEffect, useRef, useState } from 'react';
import { formatDateTime } from '@/lib/format';
import { localizeApiMessage, translator, type Locale, type MessageKey, type Translate } from '@/lib/i18n';
import type { SignatureReport, VerificationReport } from '@/lib/pades';

const CHECK_LABELS: Record<string, MessageKey> = {
  byteRange: 'verify.check.byteRange',
  integrity: 'verify.check.integrity',
  signature: 'verify.check.signature',
  certificate: 'verify.check.certificate',
  timestamp: 'verify.check.timestamp',
  revocation: 'verify.check.revocation',
  modifications: 'verify.check.modifications',
  pades: 'verify.check.pades',
};

function jst(tr: Translate, locale: Locale, iso?: string): string {
  if (!iso) return '—';
  return tr('public.jst', { time: formatDateTime(new Date(iso), locale) });
}

function SignatureCard({ s, tr, locale }: { s: SignatureReport; tr: Translate; locale: Locale }) {
  const result = tr(s.valid ? 'verify.valid' : 'verify.invalid');
  return (
    <section className="rounded border border-solid-gray-300 p-4" aria-labelledby={`sig-${s.index}`}>
      <h3 id={`sig-${s.index}`} className="text-lg font-bold">
        {tr('verify.sigHeading', { kind: tr(s.kind === 'signature' ? 'verify.kind.signature' : 'verify.kind.timestamp'), index: s.index, result })}
        {s.level ? tr('verify.level', { level: s.level }) : ''}
      </h3>
      <dl className="mt-2 grid grid-cols-[auto_1fr] gap-x-4 gap-y-1">
        {s.signer ? (
          <>
            <dt className="font-bold">{tr(s.kind === 'signature' ? 'verify.signer' : 'verify.tsa')}</dt>
            <dd>{s.signer.subject}</dd>
            <dt className="font-bold">{tr('verify.issuer')}</dt>
            <dd>{s.signer.issuer}</dd>
          </>
        ) : null}
        {s.claimedSigningTime ? (
          <>
            <dt className="font-bold">{tr('verify.signingTime')}</dt>
            <dd>{jst(tr, locale, s.claimedSigningTime)}</dd>
          </>
        ) : null}
        {s.timestampTime ? (
          <>
            <dt className="font-bold">{tr('verify.timestampTime')}</dt>
            <dd>{jst(tr, locale, s.timestampTime)}</dd>
          </>
        ) : null}
        {s.reason ? (
          <>
            <dt className="font-bold">{tr('verify.reason')}</dt>
            <dd>{s.reason}</dd>
          </>
        ) : null}
        {s.kind === 'signature' ? (
          <>
            <dt className="font-bold">{tr('verify.modifications')}</dt>
            <dd>{tr(s.locked ? 'verify.locked' : 'verify.unlocked')}</dd>
          </>
        ) : null}
      </dl>
      <ul className="mt-3 space-y-1">
        {Object.entries(s.checks).map(([k, c]) =>
          c ? (
            <li key={k} className={c.ok ? 'text-green-900' : 'text-red-900'}>
              <span aria-hidden="true">{c.ok ? '✔ ' : '✘ '}</span>
              <span className="font-bold">{CHECK_LABELS[k] ? tr(CHECK_LABELS[k]) : k}</span>
              {locale === 'en' ? ` (${tr(c.ok ? 'verify.checkOk' : 'verify.checkNg')}): ` : `（${tr(c.ok ? 'verify.checkOk' : 'verify.checkNg')}）：`}
              {c.message}
            </li>
          ) : null,
        )}
      </ul>
    </section>
  );
}

export function VerifyForm({ locale }: { locale: Locale }) {
  const tr = translator(locale);
  const [report, setReport] = useState<VerificationReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const resultRef = useRef<HTMLHeadingElement>(null);
  const errorRef = useRef<HTMLParagraphElement>(null);

  useEffect(() => {
    if (report) resultRef.current?.focus();
  }, [report]);
  useEffect(() => {
    if (error) errorRef.current?.focus();
  }, [error]);

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const file = form.get('file');
    setReport(null);
    setError(null);
    if (!(file instanceof File) || file.size === 0) {
      setError(tr('verify.noFile'));
      return;
    }
    setBusy(true);
    try {
      const res = await fetch('/api/verify', { method: 'POST', body: form });
      const body = await res.json();
      if (!res.ok) setError(body?.error?.message ? localizeApiMessage(locale, String(body.error.message)) : tr('verify.failed'));
      else setReport(body as VerificationReport);
    } catch {
      setError(tr('verify.network'));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="space-y-6">
      <form onSubmit={onSubmit} className="space-y-3" aria-describedby="verify-help">
        <div>
          <label htmlFor="verify-file" className="block font-bold">
            {tr('verify.file')}
          </label>
          <input id="verify-file" name="file" type="file" accept="application/pdf,.pdf" required className="mt-1 block" />
          <p id="verify-help" className="text-sm text-solid-gray-700">
            {tr('verify.fileHelp')}
          </p>
        </div>
        <button type="submit" disabled={busy} className="rounded bg-blue-900 px-4 py-2 font-bold text-white disabled:opacity-60">
          {busy ? tr('verify.busy') : tr('verify.submit')}
        </button>
      </form>
      <div aria-live="polite" aria-busy={busy}>
        {error ? (
          <p ref={errorRef} tabIndex={-1} role="alert" className="rounded border border-red-900 p-3 text-red-900">
            {error}
          </p>
        ) : null}
        {report ? (
          <div className="space-y-4">
            <h2 ref={resultRef} tabIndex={-1} className="text-xl font-bold">
              {tr('verify.result', { result: tr(report.valid ? 'verify.valid' : 'verify.invalid') })}
              {report.level ? tr('verify.level', { level: report.level }) : ''}
            </h2>
            <p className={report.valid ? 'text-green-900' : 'text-red-900'}>{report.summary}</p>
            {report.problems.length ? (
              <ul className="list-disc pl-6">
                {report.problems.map((p) => (
                  <li key={p}>{p}</li>
                ))}
              </ul>
            ) : null}
            {locale === 'en' ? <p className="text-sm text-solid-gray-700">{tr('verify.detailsInJapanese')}</p> : null}
            <p className="break-all text-sm">{tr('verify.sha256', { hash: report.fileSha256 })}</p>
            {report.signatures.map((s) => (
              <SignatureCard key={s.index} s={s} tr={tr} locale={locale} />
            ))}
            <p className="text-sm text-solid-gray-700">{tr('verify.checkedAt', { time: jst(tr, locale, report.checkedAt) })}</p>
          </div>
        ) : null}
      </div>
    </div>
  );
}
