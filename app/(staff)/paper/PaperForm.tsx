'use client';

/**
 * The 書面契約 form. Posts multipart to /paper/register: with JavaScript the answer is JSON and field
 * messages are shown in place; without it the browser follows the redirect.
 */
import { useRef, useState } from 'react';
import { translator, type Locale } from '@/lib/i18n';

interface Props {
  maxUploadMb: number;
  locale: Locale;
}

type FieldErrors = Record<string, string>;

export function PaperForm({ maxUploadMb, locale }: Props) {
  const tr = translator(locale);
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
      setError(body.error?.message ?? tr('paper.failedStatus', { status: res.status }));
      setFieldErrors(body.error?.fieldErrors ?? {});
    } catch {
      setError(tr('paper.failedNetwork'));
    } finally {
      setBusy(false);
    }
  }

  const field = (name: string, label: string, opts: { required?: boolean; type?: string; inputMode?: 'numeric'; placeholder?: string } = {}) => (
    <div>
      <label htmlFor={`p-${name}`} className="field-label">
        {label}
        {opts.required ? <span className="ml-1 text-sm text-error-2">{tr('paper.required')}</span> : null}
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
      {field('title', tr('paper.field.title'), { required: true })}
      {field('counterparty', tr('paper.field.counterparty'), { required: true, placeholder: tr('paper.field.counterpartyPlaceholder') })}
      <div className="grid gap-4 md:grid-cols-2">
        {field('transactionDate', tr('paper.field.transactionDate'), { type: 'date' })}
        {field('contractNumber', tr('paper.field.contractNumber'))}
      </div>
      <div className="grid gap-4 md:grid-cols-3">
        {field('amount', tr('paper.field.amount'), { inputMode: 'numeric', placeholder: tr('paper.field.amountPlaceholder') })}
        <div>
          <span className="field-label">{tr('paper.field.tax')}</span>
          <label className="mr-4">
            <input type="radio" name="amountTaxIncluded" value="true" defaultChecked /> {tr('paper.field.taxIncluded')}
          </label>
          <label>
            <input type="radio" name="amountTaxIncluded" value="false" /> {tr('paper.field.taxExcluded')}
          </label>
        </div>
        {field('taxAmount', tr('paper.field.taxAmount'), { inputMode: 'numeric' })}
      </div>
      <div>
        <label htmlFor="p-file" className="field-label">
          {tr('paper.field.file', { mb: maxUploadMb })}
          <span className="ml-1 text-sm text-error-2">{tr('paper.required')}</span>
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
        {busy ? tr('paper.submitting') : tr('paper.submit')}
      </button>
    </form>
  );
}
