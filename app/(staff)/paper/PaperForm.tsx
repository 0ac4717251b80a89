'use client';

/**
 * The 書面契約 form. Posts multipart to /paper/register: with JavaScript the answer is JSON and field
 * messages are shown in place; without it the browser follows the redirect.
 */
import { useRef, useState } from 'react';

interface Props {
  maxUploadMb: number;
}

type FieldErrors = Record<string, string>;

export function PaperForm({ maxUploadMb }: Props) {
  const formRef = useRef<HTMLFormElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});

  async function onSubmit(ev: React.FormEvent<HTMLFormElement>) {
    ev.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    setFieldErrors({});
    try {
      const res = await fetch('/paper/register', { method: 'POST', body: new FormData(ev.currentTarget), headers: { Accept: 'application/json' } });
      const body = (await res.json().catch(() => ({}))) as { id?: string; error?: { message?: string; fieldErrors?: FieldErrors } };
      if (res.ok && body.id) {
        window.location.assign(`/envelopes/${body.id}?notice=paper`);
        return;
      }
      setError(body.error?.message ?? `登録できませんでした（${res.status}）。`);
      setFieldErrors(body.error?.fieldErrors ?? {});
    } catch {
      setError('登録できませんでした。通信状態を確認してください。');
    } finally {
      setBusy(false);
    }
  }

  const field = (name: string, label: string, opts: { required?: boolean; type?: string; inputMode?: 'numeric'; placeholder?: string } = {}) => (
    <div>
      <label htmlFor={`p-${name}`} className="field-label">
        {label}
        {opts.required ? <span className="ml-1 text-sm text-error-2">（必須）</span> : null}
      </label>
      <input
        id={`p-${name}`}
        name={name}
        type={opts.type ?? 'text'}
        required={opts.required}
        inputMode={opts.inputMode}
        placeholder={opts.placeholder}
        className="input"
        aria-invalid={fieldErrors[name] ? true : undefined}
        aria-describedby={fieldErrors[name] ? `p-${name}-error` : undefined}
      />
      {fieldErrors[name] ? (
        <p id={`p-${name}-error`} className="field-error">
          {fieldErrors[name]}
        </p>
      ) : null}
    </div>
  );

  return (
    <form ref={formRef} method="post" action="/paper/register" encType="multipart/form-data" onSubmit={onSubmit} className="max-w-3xl space-y-4">
      {error ? (
        <div role="alert" className="rounded border-2 border-error-1 p-3">
          {error}
        </div>
      ) : null}
      {field('title', '案件名', { required: true })}
      {field('counterparty', '取引先', { required: true, placeholder: '例: 株式会社山田建設' })}
      <div className="grid gap-4 md:grid-cols-2">
        {field('transactionDate', '取引年月日（契約日）', { type: 'date' })}
        {field('contractNumber', '契約番号')}
      </div>
      <div className="grid gap-4 md:grid-cols-3">
        {field('amount', '取引金額（円）', { inputMode: 'numeric', placeholder: '例: 12,345,000' })}
        <div>
          <span className="field-label">税込／税抜</span>
          <label className="mr-4">
            <input type="radio" name="amountTaxIncluded" value="true" defaultChecked /> 税込
          </label>
          <label>
            <input type="radio" name="amountTaxIncluded" value="false" /> 税抜
          </label>
        </div>
        {field('taxAmount', 'うち消費税額等（円）', { inputMode: 'numeric' })}
      </div>
      <div>
        <label htmlFor="p-file" className="field-label">
          スキャンした契約書（PDF、{maxUploadMb}MBまで）<span className="ml-1 text-sm text-error-2">（必須）</span>
        </label>
        <input
          id="p-file"
          name="file"
          type="file"
          accept="application/pdf,.pdf"
          required
          className="input"
          aria-invalid={fieldErrors.file ? true : undefined}
          aria-describedby={fieldErrors.file ? 'p-file-error' : undefined}
        />
        {fieldErrors.file ? (
          <p id="p-file-error" className="field-error">
            {fieldErrors.file}
          </p>
        ) : null}
      </div>
      <button type="submit" className="btn btn-primary" disabled={busy} aria-busy={busy}>
        {busy ? '登録しています…' : '書面契約を登録する'}
      </button>
    </form>
  );
}
