'use client';

/**
 * 新規作成 / 編集 of a draft envelope: fields, PDFs (drag and drop or file picker, per-file progress and
 * Japanese errors naming the file), parties in order (add / remove / reorder), save draft, send with a
 * confirmation dialog. All validation happens in lib/envelopes; this only shows its field messages.
 */
import { useRef, useState, useTransition, type DragEvent } from 'react';
import { translator, type Locale, type MessageKey } from '@/lib/i18n';
import {
  createDraftAction,
  removeDocumentAction,
  saveDraftAction,
  sendAction,
  type ActionResult,
  type DraftPayload,
  type PartyRow,
} from '../actions';

export interface EditorDocument {
  id: string;
  fileName: string;
  pageCount: number;
  sizeBytes: number;
}

export interface EditorProps {
  id: string | null;
  envelope: DraftPayload['envelope'];
  sequential: boolean;
  parties: PartyRow[];
  documents: EditorDocument[];
  maxUploadMb: number;
  locale: Locale;
}

interface UploadItem {
  key: string;
  name: string;
  progress: number;
  state: 'waiting' | 'uploading' | 'error';
  message?: string;
}

const KIND_LABEL: Record<PartyRow['kind'], MessageKey> = {
  supplier: 'form.party.supplier',
  municipal: 'form.party.municipal',
  cc: 'form.party.cc',
};

const emptyParty = (kind: PartyRow['kind']): PartyRow => ({ kind, name: '', email: '', title: '', company: '' });

function formatSize(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(n / 1024))} KB`;
}

function uploadOne(
  envelopeId: string,
  file: File,
  onProgress: (p: number) => void,
): Promise<{ ok: true; document: EditorDocument } | { ok: false; message: string }> {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/envelopes/${envelopeId}/documents`);
    xhr.setRequestHeader('Content-Type', 'application/pdf');
    xhr.setRequestHeader('X-File-Name', encodeURIComponent(file.name));
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(Math.round((e.loaded / e.total) * 100));
    };
    xhr.onload = () => {
      let body: { document?: EditorDocument; error?: { message?: string } } = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON */
      }
      if (xhr.status >= 200 && xhr.status < 300 && body.document) resolve({ ok: true, document: body.document });
      else resolve({ ok: false, message: body.error?.message ?? `「${file.name}」をアップロードできませんでした（${xhr.status}）。` });
    };
    xhr.onerror = () => resolve({ ok: false, message: `「${file.name}」をアップロードできませんでした。通信状態を確認してください。` });
    xhr.send(file);
  });
}

export function EnvelopeEditor(props: EditorProps) {
  const tr = translator(props.locale);
  const [id, setId] = useState<string | null>(props.id);
  const [env, setEnv] = useState(props.envelope);
  const [sequential, setSequential] = useState(props.sequential);
  const [parties, setParties] = useState<PartyRow[]>(props.parties);
  const [docs, setDocs] = useState<EditorDocument[]>(props.documents);
  const [uploads, setUploads] = useState<UploadItem[]>([]);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [dragOver, setDragOver] = useState(false);
  const [pending, startTransition] = useTransition();
  const dialogRef = useRef<HTMLDialogElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const idRef = useRef<string | null>(props.id);
  const queue = useRef<Promise<void>>(Promise.resolve());

  const remember = (newId: string) => {
    idRef.current = newId;
    setId(newId);
    if (window.location.pathname !== `/envelopes/${newId}/edit`) window.history.replaceState(null, '', `/envelopes/${newId}/edit`);
  };

  const payload = (): DraftPayload => ({ id: idRef.current, envelope: env, sequential, parties });

  const handleResult = (r: ActionResult, okText: string) => {
    if (r.id) remember(r.id);
    if (r.ok) {
      setFieldErrors({});
      setMessage({ kind: 'ok', text: okText });
    } else {
      setFieldErrors(r.fieldErrors ?? {});
      setMessage({ kind: 'error', text: r.error });
    }
  };

  const save = () =>
    startTransition(async () => {
      handleResult(await saveDraftAction(payload()), tr('form.saved'));
    });

  const send = () =>
    startTransition(async () => {
      dialogRef.current?.close();
      const r = await sendAction(payload());
      // On success the action redirects to the detail page.
      if (r) handleResult(r, '');
    });

  const ensureId = async (): Promise<string | null> => {
    if (idRef.current) return idRef.current;
    const r = await createDraftAction(env);
    if (r.ok) {
      remember(r.id);
      return r.id;
    }
    setFieldErrors(r.fieldErrors ?? {});
    setMessage({ kind: 'error', text: `文書を追加する前に、案件名と取引先を入力してください。${r.error}` });
    return null;
  };

  const addFiles = (files: File[]) => {
    if (files.length === 0) return;
    const items: UploadItem[] = files.map((f, i) => ({ key: `${Date.now()}-${i}-${f.name}`, name: f.name, progress: 0, state: 'waiting' }));
    setUploads((u) => [...u, ...items]);
    const update = (key: string, patch: Partial<UploadItem>) => setUploads((u) => u.map((x) => (x.key === key ? { ...x, ...patch } : x)));
    // One at a time, in the order given (duplicates are detected against what is already stored).
    queue.current = queue.current.then(async () => {
      const envelopeId = await ensureId();
      for (let i = 0; i < files.length; i++) {
        const item = items[i];
        if (!envelopeId) {
          update(item.key, { state: 'error', message: `「${files[i].name}」: 先に案件名と取引先を入力してください。` });
          continue;
        }
        if (files[i].size > props.maxUploadMb * 1024 * 1024) {
          update(item.key, { state: 'error', message: `「${files[i].name}」は大きすぎます（上限 ${props.maxUploadMb} MB）。ファイルを分割するか圧縮してください。` });
          continue;
        }
        update(item.key, { state: 'uploading' });
        const r = await uploadOne(envelopeId, files[i], (p) => update(item.key, { progress: p }));
        if (r.ok) {
          setUploads((u) => u.filter((x) => x.key !== item.key));
          setDocs((d) => [...d, r.document]);
        } else {
          update(item.key, { state: 'error', message: r.message });
        }
      }
    });
  };

  const onDrop = (e: DragEvent<HTMLDivElement>) => {
    e.preventDefault();
    setDragOver(false);
    addFiles(Array.from(e.dataTransfer.files));
  };

  const removeDoc = (docId: string) =>
    startTransition(async () => {
      if (!idRef.current) return;
      const r = await removeDocumentAction({ envelopeId: idRef.current, documentId: docId });
      if (r.ok) setDocs((d) => d.filter((x) => x.id !== docId));
      else setMessage({ kind: 'error', text: r.error ?? '削除できませんでした。' });
    });

  const setParty = (i: number, patch: Partial<PartyRow>) => setParties((ps) => ps.map((p, j) => (j === i ? { ...p, ...patch } : p)));
  const move = (i: number, d: -1 | 1) =>
    setParties((ps) => {
      const j = i + d;
      if (j < 0 || j >= ps.length) return ps;
      const copy = [...ps];
      [copy[i], copy[j]] = [copy[j], copy[i]];
      return copy;
    });
  const addParty = (kind: PartyRow['kind']) =>
    setParties((ps) => {
      // Keep the natural order: supplier signatories, municipal signers, then cc.
      const rank = { supplier: 0, municipal: 1, cc: 2 } as const;
      const at = ps.findIndex((p) => rank[p.kind] > rank[kind]);
      const copy = [...ps];
      copy.splice(at === -1 ? ps.length : at, 0, emptyParty(kind));
      return copy;
    });

  const fe = (k: string) => fieldErrors[k];
  const field = (name: keyof DraftPayload['envelope'], label: string, opts: { required?: boolean; type?: string; hint?: string; inputMode?: 'numeric' } = {}) => {
    const err = fe(name);
    const value = env[name];
    return (
      <div>
        <label htmlFor={`f-${name}`} className="field-label">
          {label}
          {opts.required ? <span className="ml-1 text-sm font-normal">（{tr('form.required')}）</span> : null}
        </label>
        <input
          id={`f-${name}`}
          name={name}
          type={opts.type ?? 'text'}
          inputMode={opts.inputMode}
          className="input"
          value={typeof value === 'string' ? value : ''}
          onChange={(e) => setEnv({ ...env, [name]: e.target.value })}
          aria-invalid={err ? true : undefined}
          aria-describedby={[err ? `e-${name}` : '', opts.hint ? `h-${name}` : ''].filter(Boolean).join(' ') || undefined}
        />
        {opts.hint ? (
          <p id={`h-${name}`} className="mt-1 text-sm text-solid-gray-700">
            {opts.hint}
          </p>
        ) : null}
        {err ? (
          <p id={`e-${name}`} className="field-error">
            {err}
          </p>
        ) : null}
      </div>
    );
  };

  const signerCount = parties.filter((p) => p.kind !== 'cc').length;

  return (
    <div className="space-y-6">
      <div aria-live="polite" role="status">
        {message ? (
          <p
            className={
              'rounded-lg border-2 p-3 ' +
              (message.kind === 'ok' ? 'border-green-700 bg-green-50' : 'border-error-1 bg-red-50 text-error-2')
            }
            data-testid="editor-message"
          >
            <span aria-hidden="true">{message.kind === 'ok' ? '◎ ' : '！'}</span>
            {message.text}
          </p>
        ) : null}
      </div>

      <section aria-labelledby="sec-basic" className="grid gap-4 md:grid-cols-2">
        <h2 id="sec-basic" className="text-lg font-bold md:col-span-2">
          {tr('form.basic')}
        </h2>
        {field('title', tr('form.title'), { required: true })}
        {field('counterparty', tr('form.counterparty'), { required: true })}
        {field('transactionDate', tr('form.transactionDate'), { type: 'date' })}
        <div>
          {field('amount', tr('form.amount'), { inputMode: 'numeric', hint: tr('form.amountHint') })}
          <label className="mt-1 inline-flex items-center gap-2">
            <input
              type="checkbox"
              checked={env.amountTaxIncluded}
              onChange={(e) => setEnv({ ...env, amountTaxIncluded: e.target.checked })}
            />
            {tr('form.taxIncluded')}
          </label>
        </div>
        {field('contractNumber', tr('form.contractNumber'))}
        <div className="md:col-span-2">
          <label htmlFor="f-message" className="field-label">
            {tr('form.message')}
          </label>
          <textarea
            id="f-message"
            className="input min-h-24"
            value={env.message}
            onChange={(e) => setEnv({ ...env, message: e.target.value })}
            aria-invalid={fe('message') ? true : undefined}
            aria-describedby={fe('message') ? 'e-message' : undefined}
          />
          {fe('message') ? (
            <p id="e-message" className="field-error">
              {fe('message')}
            </p>
          ) : null}
        </div>
      </section>

      <section aria-labelledby="sec-docs">
        <h2 id="sec-docs" className="mb-2 text-lg font-bold">
          {tr('form.documents')}
        </h2>
        {fe('documents') ? <p className="field-error">{fe('documents')}</p> : null}
        {docs.length > 0 ? (
          <ol className="mb-3 divide-y divide-solid-gray-200 rounded-lg border border-solid-gray-200" aria-label={tr('form.addedDocs')}>
            {docs.map((d, i) => (
              <li key={d.id} className="flex items-center gap-3 px-3 py-2" data-document-name={d.fileName}>
                <span className="w-6 text-right">{i + 1}.</span>
                <span className="flex-1 break-all">
                  {d.fileName}
                  <span className="ml-2 text-sm text-solid-gray-700">
                    {tr('detail.pages', { n: d.pageCount })}・{formatSize(d.sizeBytes)}
                  </span>
                </span>
                {id ? (
                  <a href={`/api/envelopes/${id}/documents/${d.id}`} target="_blank" rel="noreferrer" className="text-sm">
                    {tr('detail.view')}
                  </a>
                ) : null}
                <button type="button" className="btn btn-secondary py-1 text-sm" onClick={() => removeDoc(d.id)} disabled={pending}>
                  {tr('form.removeDocument')}<span className="sr-only">（{d.fileName}）</span>
                </button>
              </li>
            ))}
          </ol>
        ) : null}
        <div
          onDragOver={(e) => {
            e.preventDefault();
            setDragOver(true);
          }}
          onDragLeave={() => setDragOver(false)}
          onDrop={onDrop}
          data-testid="dropzone"
          className={
            'rounded-lg border-2 border-dashed p-6 text-center ' +
            (dragOver ? 'border-blue-900 bg-blue-50' : 'border-solid-gray-420 bg-solid-gray-50')
          }
        >
          <p>
            {tr('form.drop')}{' '}
            <button type="button" className="btn btn-secondary" onClick={() => fileInput.current?.click()}>
              {tr('form.pick')}
            </button>
          </p>
          <p className="mt-2 text-sm text-solid-gray-700">{tr('form.dropHint', { mb: props.maxUploadMb })}</p>
          <label htmlFor="file-input" className="sr-only">
            {tr('form.pick')}
          </label>
          <input
            id="file-input"
            ref={fileInput}
            type="file"
            accept="application/pdf,.pdf"
            multiple
            className="sr-only"
            onChange={(e) => {
              addFiles(Array.from(e.target.files ?? []));
              e.target.value = '';
            }}
          />
        </div>
        {uploads.length > 0 ? (
          <ul className="mt-3 space-y-2" aria-label={tr('form.uploadStatus')}>
            {uploads.map((u) => (
              <li key={u.key} data-upload-state={u.state}>
                {u.state === 'error' ? (
                  <p role="alert" className="field-error">
                    {u.message}
                  </p>
                ) : (
                  <div>
                    <span className="mr-2 break-all">{u.name}</span>
                    <progress max={100} value={u.progress} aria-label={tr('form.uploadOf', { name: u.name })} className="align-middle" />
                    <span className="ml-2 text-sm">{u.state === 'waiting' ? tr('form.waiting') : `${u.progress}%`}</span>
                  </div>
                )}
              </li>
            ))}
          </ul>
        ) : null}
      </section>

      <section aria-labelledby="sec-parties">
        <h2 id="sec-parties" className="mb-2 text-lg font-bold">
          {tr('form.parties')}
        </h2>
        {fe('recipients') ? <p className="field-error">{fe('recipients')}</p> : null}
        <fieldset className="mb-3">
          <legend className="font-bold">{tr('form.signingOrder')}</legend>
          <label className="mr-4 inline-flex items-center gap-2">
            <input type="radio" name="order" checked={sequential} onChange={() => setSequential(true)} />
            {tr('form.order.sequential')}
          </label>
          <label className="inline-flex items-center gap-2">
            <input type="radio" name="order" checked={!sequential} onChange={() => setSequential(false)} />
            {tr('form.order.parallel')}
          </label>
        </fieldset>
        <ol className="space-y-3">
          {parties.map((p, i) => {
            const pe = (k: string) => fe(`recipients.${i}.${k}`);
            const input = (k: 'name' | 'email' | 'title' | 'company', label: string, required = false, type = 'text') => (
              <div>
                <label htmlFor={`p-${i}-${k}`} className="field-label text-sm">
                  {label}
                  {required ? <span className="ml-1 font-normal">（{tr('form.required')}）</span> : null}
                </label>
                <input
                  id={`p-${i}-${k}`}
                  type={type}
                  className="input"
                  value={p[k]}
                  autoComplete="off"
                  onChange={(e) => setParty(i, { [k]: e.target.value })}
                  aria-invalid={pe(k) ? true : undefined}
                  aria-describedby={pe(k) ? `pe-${i}-${k}` : undefined}
                />
                {pe(k) ? (
                  <p id={`pe-${i}-${k}`} className="field-error">
                    {pe(k)}
                  </p>
                ) : null}
              </div>
            );
            return (
              <li key={i} className="rounded-lg border border-solid-gray-300 p-3" data-party-index={i} aria-label={`${i + 1}. ${tr(KIND_LABEL[p.kind])}`}>
                <div className="mb-2 flex flex-wrap items-center gap-2">
                  <span className="font-bold">
                    {p.kind !== 'cc' && sequential ? `${tr('form.nth', { n: parties.slice(0, i + 1).filter((x) => x.kind !== 'cc').length })} ` : ''}
                    {tr(KIND_LABEL[p.kind])}
                  </span>
                  <span className="ml-auto flex gap-1">
                    <button type="button" className="btn btn-secondary px-2 py-0 text-sm" onClick={() => move(i, -1)} disabled={i === 0}>
                      ↑ {tr('form.party.up')}<span className="sr-only">（{i + 1}番目）</span>
                    </button>
                    <button
                      type="button"
                      className="btn btn-secondary px-2 py-0 text-sm"
                      onClick={() => move(i, 1)}
                      disabled={i === parties.length - 1}
                    >
                      ↓ {tr('form.party.down')}<span className="sr-only">（{i + 1}番目）</span>
                    </button>
                    <button
                      type="button"
                      className="btn btn-secondary px-2 py-0 text-sm"
                      onClick={() => setParties((ps) => ps.filter((_, j) => j !== i))}
                    >
                      {tr('form.party.remove')}<span className="sr-only">（{i + 1}番目）</span>
                    </button>
                  </span>
                </div>
                <div className="grid gap-2 md:grid-cols-4">
                  {input('name', tr('form.party.name'), true)}
                  {input('email', tr('form.party.email'), true, 'email')}
                  {input('title', tr('form.party.title'))}
                  {input('company', p.kind === 'municipal' ? tr('form.party.department') : tr('form.party.company'))}
                </div>
              </li>
            );
          })}
        </ol>
        <div className="mt-3 flex flex-wrap gap-2">
          <button type="button" className="btn btn-secondary" onClick={() => addParty('supplier')}>
            ＋ {tr('form.party.add.supplier')}
          </button>
          <button type="button" className="btn btn-secondary" onClick={() => addParty('municipal')}>
            ＋ {tr('form.party.add.municipal')}
          </button>
          <button type="button" className="btn btn-secondary" onClick={() => addParty('cc')}>
            ＋ {tr('form.party.add.cc')}
          </button>
        </div>
      </section>

      <div className="flex flex-wrap gap-3 border-t border-solid-gray-200 pt-4">
        <button type="button" className="btn btn-secondary" onClick={save} disabled={pending}>
          {tr('form.saveDraft')}
        </button>
        <button
          type="button"
          className="btn btn-primary"
          onClick={() => dialogRef.current?.showModal()}
          disabled={pending || docs.length === 0 || signerCount === 0}
        >
          {tr('form.send')}
        </button>
        {pending ? <span role="status">{tr('form.processing')}</span> : null}
      </div>

      <dialog ref={dialogRef} aria-labelledby="send-title" className="m-auto max-w-lg rounded-lg p-6 backdrop:bg-black/40">
        <h2 id="send-title" className="mb-2 text-lg font-bold">
          {tr('form.confirmTitle')}
        </h2>
        <p className="mb-2">{tr('form.confirmBody')}</p>
        <ul className="mb-4 list-disc pl-6 text-sm">
          <li>
            {tr('form.title')}: {env.title}
          </li>
          <li>{tr('form.confirmDocs', { n: docs.length })}</li>
          <li>
            {tr('form.confirmSigners', { n: signerCount })}（{sequential ? tr('form.order.sequential') : tr('form.order.parallel')}）
          </li>
        </ul>
        <div className="flex justify-end gap-2">
          <button type="button" className="btn btn-secondary" onClick={() => dialogRef.current?.close()}>
            {tr('form.cancel')}
          </button>
          <button type="button" className="btn btn-primary" onClick={send}>
            {tr('form.sendConfirmYes')}
          </button>
        </div>
      </dialog>
    </div>
  );
}
