'use client';
/**
 * The signer's flow: (アクセスコード → 確認コード) → 文書を確認する → 完了 → 署名手続きを完了する,
 * or 差し戻し with a reason. State changes go to /api/sign/[token]/…; the page then refreshes.
 */
import { useRouter } from 'next/navigation';
import { useRef, useState, type FormEvent } from 'react';
import { localizeApiMessage, translator, type Locale } from '@/lib/i18n';
import { PdfViewer } from './PdfViewer';

export interface SigningAppProps {
  token: string;
  locale: Locale;
  state: 'auth' | 'sign' | 'completed' | 'waiting_seal' | 'sealed';
  auth: { needsAccessCode: boolean; needsEmailOtp: boolean; accessCodeOk: boolean; emailOtpOk: boolean; lockedUntil: string | null };
  envelope: { title: string; documentNumber: string; message: string | null; sequential: boolean; expiresAt: string | null };
  sender: { organization: string; name: string | null; title: string | null };
  me: { name: string; company: string | null; completedAt: string | null };
  parties: Array<{ name: string; company: string | null; partyType: string; order: number; status: 'completed' | 'waiting' | 'declined'; isMe: boolean }>;
  documents: Array<{ id: string; fileName: string; pageCount: number }>;
  otpDestination: string;
}

type ApiResult = { ok: true; [k: string]: unknown } | { ok: false; message: string; fieldErrors?: Record<string, string> };

/** POST to our API; error messages (Japanese from the server) are given in the page language. */
async function post(locale: Locale, url: string, body: unknown = {}): Promise<ApiResult> {
  const tr = translator(locale);
  const l10n = (m: string) => localizeApiMessage(locale, m);
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), credentials: 'same-origin' });
    const json = (await res.json().catch(() => ({}))) as { error?: { message?: string; fieldErrors?: Record<string, string> } } & Record<string, unknown>;
    if (res.ok) return { ok: true, ...json };
    const fieldErrors = json.error?.fieldErrors ? Object.fromEntries(Object.entries(json.error.fieldErrors).map(([k, v]) => [k, l10n(v)])) : undefined;
    return { ok: false, message: json.error?.message ? l10n(json.error.message) : tr('sign.error.generic'), fieldErrors };
  } catch {
    return { ok: false, message: tr('sign.error.network') };
  }
}

function Alert({ children }: { children: React.ReactNode }) {
  return (
    <div role="alert" className="mb-4 rounded-lg border-2 border-error-1 bg-red-50 p-3 text-error-2">
      <span aria-hidden="true">⚠ </span>
      {children}
    </div>
  );
}

const STATUS_LABEL = { completed: 'sign.status.completed', waiting: 'sign.status.waiting', declined: 'sign.status.declined' } as const;

function Summary(p: SigningAppProps) {
  const tr = translator(p.locale);
  return (
    <section aria-labelledby="env-title" className="mb-6">
      <p className="text-sm text-solid-gray-700">{tr('sign.request')}</p>
      <h1 id="env-title" className="mb-2 text-2xl font-bold leading-snug" data-testid="envelope-title">
        {p.envelope.title}
      </h1>
      <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
        <dt className="text-solid-gray-700">{tr('sign.sender')}</dt>
        <dd data-testid="sender">
          {p.sender.organization}
          {p.sender.name ? `　${p.sender.title ? `${p.sender.title} ` : ''}${p.sender.name}` : ''}
        </dd>
        <dt className="text-solid-gray-700">{tr('sign.documentNumber')}</dt>
        <dd>{p.envelope.documentNumber}</dd>
        {p.envelope.expiresAt ? (
          <>
            <dt className="text-solid-gray-700">{tr('sign.expiresAt')}</dt>
            <dd>{p.envelope.expiresAt}</dd>
          </>
        ) : null}
      </dl>
      {p.envelope.message ? (
        <div className="mt-3 whitespace-pre-wrap rounded-lg border border-solid-gray-200 bg-solid-gray-50 p-3 text-sm">{p.envelope.message}</div>
      ) : null}
      <h2 className="mb-2 mt-4 text-lg font-bold">{tr('sign.parties')}
        {p.envelope.sequential ? tr('sign.partiesSequential') : ''}</h2>
      <ol className="space-y-1" data-testid="parties">
        {p.parties.map((x, i) => (
          <li key={i} className="flex items-center justify-between gap-2 rounded-lg border border-solid-gray-200 px-3 py-2">
            <span className="min-w-0 flex-1">
              {p.envelope.sequential ? <span className="mr-2 text-sm text-solid-gray-700">{x.order}.</span> : null}
              {x.company ? `${x.company} ` : ''}
              {x.name}
              {x.isMe ? <span className="ml-2 text-sm font-bold">{tr('sign.you')}</span> : null}
              <span className="ml-2 whitespace-nowrap text-xs text-solid-gray-700">{tr(x.partyType === 'municipal' ? 'sign.party.municipal' : 'sign.party.supplier')}</span>
            </span>
            <span className={`badge shrink-0 whitespace-nowrap ${x.status === 'completed' ? 'text-green-900' : x.status === 'declined' ? 'text-error-2' : ''}`}>{tr(STATUS_LABEL[x.status])}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}

function AuthPanel(p: SigningAppProps) {
  const tr = translator(p.locale);
  const router = useRouter();
  const [error, setError] = useState<string | null>(p.auth.lockedUntil ? tr('sign.locked', { until: p.auth.lockedUntil }) : null);
  const [busy, setBusy] = useState(false);
  const [otpSent, setOtpSent] = useState<string | null>(null);
  const step = p.auth.needsAccessCode && !p.auth.accessCodeOk ? 'access_code' : 'email_otp';

  async function submitCode(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const code = String(new FormData(e.currentTarget).get('code') ?? '');
    setBusy(true);
    const r = step === 'access_code' ? await post(p.locale, `/api/sign/${p.token}/access-code`, { code }) : await post(p.locale, `/api/sign/${p.token}/otp`, { action: 'verify', code });
    setBusy(false);
    if (r.ok) {
      setError(null);
      router.refresh();
    } else setError(r.message);
  }

  async function sendOtp() {
    setBusy(true);
    const r = await post(p.locale, `/api/sign/${p.token}/otp`, { action: 'send' });
    setBusy(false);
    if (r.ok) {
      setOtpSent(String(r.sentTo ?? p.otpDestination));
      setError(null);
    } else setError(r.message);
  }

  return (
    <section aria-labelledby="auth-title" className="mx-auto max-w-md rounded-lg border border-solid-gray-300 p-4" data-testid="auth-panel">
      <h2 id="auth-title" className="mb-2 text-xl font-bold">
        {tr(step === 'access_code' ? 'sign.auth.accessCodeTitle' : 'sign.auth.otpTitle')}
      </h2>
      {error ? <Alert>{error}</Alert> : null}
      {step === 'access_code' ? (
        <p className="mb-3 text-sm">{tr('sign.auth.accessCodeHelp')}</p>
      ) : (
        <div className="mb-3 text-sm">
          <p className="mb-2">{tr('sign.auth.otpHelp', { to: p.otpDestination })}</p>
          <button type="button" className="btn btn-secondary" onClick={sendOtp} disabled={busy}>
            {tr(otpSent ? 'sign.auth.otpResend' : 'sign.auth.otpSend')}
          </button>
          {otpSent ? (
            <p role="status" className="mt-2">
              {tr('sign.auth.otpSent', { to: otpSent })}
            </p>
          ) : null}
        </div>
      )}
      <form onSubmit={submitCode} className="space-y-3" noValidate>
        <div>
          <label htmlFor="code" className="field-label">
            {tr(step === 'access_code' ? 'sign.auth.accessCode' : 'sign.auth.otpCode')}
          </label>
          <input
            id="code"
            name="code"
            className="input"
            required
            autoComplete={step === 'access_code' ? 'off' : 'one-time-code'}
            inputMode={step === 'access_code' ? 'text' : 'numeric'}
            type={step === 'access_code' ? 'password' : 'text'}
          />
        </div>
        <button type="submit" className="btn btn-primary w-full justify-center" disabled={busy}>
          {tr('sign.auth.submit')}
        </button>
      </form>
    </section>
  );
}

function Done(p: SigningAppProps) {
  const tr = translator(p.locale);
  const others = p.parties.filter((x) => !x.isMe && x.status !== 'completed').length;
  return (
    <section aria-labelledby="done-title" className="rounded-lg border-2 border-green-700 p-4" data-testid="signing-done">
      <h2 id="done-title" className="mb-2 text-xl font-bold">
        <span aria-hidden="true">✓ </span>
        {tr('sign.done.title')}
      </h2>
      {p.me.completedAt ? <p className="mb-2 text-sm">{tr('sign.done.at', { at: p.me.completedAt })}</p> : null}
      {p.state === 'sealed' ? (
        <p>{tr('sign.done.sealed')}</p>
      ) : p.state === 'waiting_seal' ? (
        <p>{tr('sign.done.waitingSeal')}</p>
      ) : (
        <p>{tr('sign.done.others', { n: others })}</p>
      )}
    </section>
  );
}

function SignPanel(p: SigningAppProps) {
  const tr = translator(p.locale);
  const router = useRouter();
  const [reading, setReading] = useState(false);
  const [tab, setTab] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [declined, setDeclined] = useState(false);
  const [reasonError, setReasonError] = useState<string | null>(null);
  const confirmRef = useRef<HTMLDialogElement>(null);
  const declineRef = useRef<HTMLDialogElement>(null);
  const doc = p.documents[tab];

  async function complete() {
    setBusy(true);
    const r = await post(p.locale, `/api/sign/${p.token}/complete`);
    setBusy(false);
    confirmRef.current?.close();
    if (r.ok) router.refresh();
    else setError(r.message);
  }

  async function decline(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const reason = String(new FormData(e.currentTarget).get('reason') ?? '');
    setBusy(true);
    const r = await post(p.locale, `/api/sign/${p.token}/decline`, { reason });
    setBusy(false);
    if (r.ok) {
      declineRef.current?.close();
      setDeclined(true);
    } else {
      setReasonError(r.fieldErrors?.reason ?? r.message);
    }
  }

  if (declined) {
    return (
      <section role="status" className="rounded-lg border-2 border-solid-gray-700 p-4" data-testid="declined">
        <h2 className="mb-2 text-xl font-bold">{tr('sign.declined.title')}</h2>
        <p>{tr('sign.declined.body')}</p>
      </section>
    );
  }

  return (
    <>
      {error ? <Alert>{error}</Alert> : null}
      {!reading ? (
        <section className="rounded-lg border border-solid-gray-300 p-4">
          <h2 className="mb-2 text-lg font-bold">{tr('sign.documents', { n: p.documents.length })}</h2>
          <ul className="mb-4 list-disc pl-5">
            {p.documents.map((d) => (
              <li key={d.id}>{tr('sign.docPages', { name: d.fileName, n: d.pageCount })}</li>
            ))}
          </ul>
          <button type="button" className="btn btn-primary w-full justify-center sm:w-auto" onClick={() => setReading(true)}>
            {tr('sign.review')}
          </button>
        </section>
      ) : (
        <section aria-label={tr('sign.docsRegion')} className="pb-28">
          {p.documents.length > 1 ? (
            <div role="tablist" aria-label={tr('sign.docTabs')} className="mb-3 flex flex-wrap gap-2">
              {p.documents.map((d, i) => (
                <button
                  key={d.id}
                  role="tab"
                  type="button"
                  id={`tab-${i}`}
                  aria-selected={i === tab}
                  aria-controls="doc-panel"
                  className={`btn ${i === tab ? 'btn-primary' : 'btn-secondary'}`}
                  onClick={() => setTab(i)}
                >
                  {i + 1}. {d.fileName}
                </button>
              ))}
            </div>
          ) : (
            <h2 className="mb-2 text-lg font-bold">{doc?.fileName}</h2>
          )}
          <div id="doc-panel" role={p.documents.length > 1 ? 'tabpanel' : undefined} aria-labelledby={p.documents.length > 1 ? `tab-${tab}` : undefined}>
            {doc ? <PdfViewer key={doc.id} locale={p.locale} url={`/api/sign/${p.token}/documents/${doc.id}`} title={doc.fileName} pageCount={doc.pageCount} /> : null}
          </div>
        </section>
      )}

      <div className="fixed inset-x-0 bottom-0 border-t border-solid-gray-300 bg-white/95 px-4 py-3 shadow">
        <div className="mx-auto flex max-w-3xl items-center justify-between gap-3">
          <button type="button" className="btn btn-secondary" onClick={() => declineRef.current?.showModal()} disabled={busy}>
            {tr('sign.decline')}
          </button>
          <button type="button" className="btn btn-primary min-w-32 justify-center" onClick={() => confirmRef.current?.showModal()} disabled={busy || !reading}>
            {tr('sign.complete')}
          </button>
        </div>
        {!reading ? <p className="mx-auto mt-1 max-w-3xl text-right text-xs text-solid-gray-700">{tr('sign.reviewFirst')}</p> : null}
      </div>

      <dialog ref={confirmRef} aria-labelledby="confirm-title" className="m-auto w-[min(92vw,32rem)] rounded-lg p-5 backdrop:bg-black/40">
        <h2 id="confirm-title" className="mb-3 text-xl font-bold">
          {tr('sign.confirm.title')}
        </h2>
        <p className="mb-2">{tr('sign.confirm.body')}</p>
        <ul className="mb-2 list-disc pl-5 text-sm">
          {p.documents.map((d) => (
            <li key={d.id}>{d.fileName}</li>
          ))}
        </ul>
        <p className="mb-4 text-sm">{tr('sign.confirm.note')}</p>
        <div className="flex flex-wrap justify-end gap-3">
          <button type="button" className="btn btn-secondary" onClick={() => confirmRef.current?.close()} disabled={busy}>
            {tr('sign.back')}
          </button>
          <button type="button" className="btn btn-primary" onClick={complete} disabled={busy}>
            {tr('sign.confirm.submit')}
          </button>
        </div>
      </dialog>

      <dialog ref={declineRef} aria-labelledby="decline-title" className="m-auto w-[min(92vw,32rem)] rounded-lg p-5 backdrop:bg-black/40">
        <form onSubmit={decline} noValidate>
          <h2 id="decline-title" className="mb-3 text-xl font-bold">
            {tr('sign.decline.title')}
          </h2>
          <p className="mb-3 text-sm">{tr('sign.decline.body')}</p>
          <label htmlFor="reason" className="field-label">
            {tr('sign.decline.reason')} <span className="text-sm font-normal">{tr('sign.required')}</span>
          </label>
          <textarea
            id="reason"
            name="reason"
            rows={4}
            required
            maxLength={2000}
            className="input"
            aria-invalid={reasonError ? true : undefined}
            aria-describedby={reasonError ? 'reason-error' : undefined}
          />
          {reasonError ? (
            <p id="reason-error" className="field-error">
              {reasonError}
            </p>
          ) : null}
          <div className="mt-4 flex flex-wrap justify-end gap-3">
            <button type="button" className="btn btn-secondary" onClick={() => declineRef.current?.close()} disabled={busy}>
              {tr('sign.back')}
            </button>
            <button type="submit" className="btn btn-danger" disabled={busy}>
              {tr('sign.decline')}
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}

export function SigningApp(p: SigningAppProps) {
  return (
    <div>
      <Summary {...p} />
      {p.state === 'auth' ? <AuthPanel {...p} /> : p.state === 'sign' ? <SignPanel {...p} /> : <Done {...p} />}
    </div>
  );
}
