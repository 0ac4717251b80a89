'use client';
/** Upload a PDF → POST /api/verify → show the report (Japanese). Nothing is stored. */
import { useEffect, useRef, useState } from 'react';
import type { SignatureReport, VerificationReport } from '@/lib/pades';

const CHECK_LABELS: Record<string, string> = {
  byteRange: '署名対象範囲',
  integrity: '改ざんの有無',
  signature: '署名値',
  certificate: '証明書',
  timestamp: '署名タイムスタンプ',
  revocation: '長期検証情報（DSS）',
  modifications: '署名後の変更',
  pades: 'PAdES 要件',
};

function jst(iso?: string): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString('ja-JP', { timeZone: 'Asia/Tokyo', hour12: false }) + '（日本時間）';
}

function SignatureCard({ s }: { s: SignatureReport }) {
  return (
    <section className="rounded border border-solid-gray-300 p-4" aria-labelledby={`sig-${s.index}`}>
      <h3 id={`sig-${s.index}`} className="text-lg font-bold">
        {s.kind === 'signature' ? '署名' : 'ドキュメントタイムスタンプ'} {s.index}：{s.valid ? '有効' : '無効'}
        {s.level ? `（PAdES ${s.level}）` : ''}
      </h3>
      <dl className="mt-2 grid grid-cols-[auto_1fr] gap-x-4 gap-y-1">
        {s.signer ? (
          <>
            <dt className="font-bold">{s.kind === 'signature' ? '署名者' : 'タイムスタンプ局'}</dt>
            <dd>{s.signer.subject}</dd>
            <dt className="font-bold">発行者</dt>
            <dd>{s.signer.issuer}</dd>
          </>
        ) : null}
        {s.claimedSigningTime ? (
          <>
            <dt className="font-bold">署名時刻</dt>
            <dd>{jst(s.claimedSigningTime)}</dd>
          </>
        ) : null}
        {s.timestampTime ? (
          <>
            <dt className="font-bold">タイムスタンプ時刻</dt>
            <dd>{jst(s.timestampTime)}</dd>
          </>
        ) : null}
        {s.reason ? (
          <>
            <dt className="font-bold">理由</dt>
            <dd>{s.reason}</dd>
          </>
        ) : null}
        {s.kind === 'signature' ? (
          <>
            <dt className="font-bold">署名後の変更</dt>
            <dd>{s.locked ? '封緘（以後は検証情報とタイムスタンプの追加のみ可）' : '署名・検証情報・タイムスタンプの追加は可'}</dd>
          </>
        ) : null}
      </dl>
      <ul className="mt-3 space-y-1">
        {Object.entries(s.checks).map(([k, c]) =>
          c ? (
            <li key={k} className={c.ok ? 'text-green-900' : 'text-red-900'}>
              <span aria-hidden="true">{c.ok ? '✔ ' : '✘ '}</span>
              <span className="font-bold">{CHECK_LABELS[k] ?? k}</span>（{c.ok ? 'OK' : '問題あり'}）：{c.message}
            </li>
          ) : null,
        )}
      </ul>
    </section>
  );
}

export function VerifyForm() {
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
      setError('PDFファイルを選択してください。');
      return;
    }
    setBusy(true);
    try {
      const res = await fetch('/api/verify', { method: 'POST', body: form });
      const body = await res.json();
      if (!res.ok) setError(body?.error?.message ?? '検証できませんでした。');
      else setReport(body as VerificationReport);
    } catch {
      setError('通信に失敗しました。時間をおいて再度お試しください。');
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="space-y-6">
      <form onSubmit={onSubmit} className="space-y-3" aria-describedby="verify-help">
        <div>
          <label htmlFor="verify-file" className="block font-bold">
            検証するPDFファイル
          </label>
          <input id="verify-file" name="file" type="file" accept="application/pdf,.pdf" required className="mt-1 block" />
          <p id="verify-help" className="text-sm text-solid-gray-700">
            ファイルはこの検証のためだけに送信され、保存されません。
          </p>
        </div>
        <button type="submit" disabled={busy} className="rounded bg-blue-900 px-4 py-2 font-bold text-white disabled:opacity-60">
          {busy ? '検証中…' : '検証する'}
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
              検証結果：{report.valid ? '有効' : '無効'}
              {report.level ? `（PAdES ${report.level}）` : ''}
            </h2>
            <p className={report.valid ? 'text-green-900' : 'text-red-900'}>{report.summary}</p>
            {report.problems.length ? (
              <ul className="list-disc pl-6">
                {report.problems.map((p) => (
                  <li key={p}>{p}</li>
                ))}
              </ul>
            ) : null}
            <p className="break-all text-sm">ファイルの SHA-256：{report.fileSha256}</p>
            {report.signatures.map((s) => (
              <SignatureCard key={s.index} s={s} />
            ))}
            <p className="text-sm text-solid-gray-700">検証日時：{jst(report.checkedAt)}</p>
          </div>
        ) : null}
      </div>
    </div>
  );
}
