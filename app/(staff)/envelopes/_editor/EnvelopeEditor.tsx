'use client';

/**
 * 新規作成 / 編集 of a draft envelope: fields, PDFs (drag and drop or file picker, per-file progress and
 * Japanese errors naming the file), parties in order (add / remove / reorder), save draft, send with a
 * confirmation dialog. All validation happens in lib/envelopes; this only shows its field messages.
 */
import { useRef, useState, useTransition, type DragEvent } from 'react';
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
}

interface UploadItem {
  key: string;
  name: string;
  progress: number;
  state: 'waiting' | 'uploading' | 'error';
  message?: string;
}

const KIND_LABEL: Record<PartyRow['kind'], string> = {
  supplier: '事業者の契約締結権限者',
  municipal: '市の署名者',
  cc: '写し送付先（cc）',
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
      handleResult(await saveDraftAction(payload()), '下書きを保存しました。');
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
          {opts.required ? <span className="ml-1 text-sm font-normal">（必須）</span> : null}
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
          基本情報
        </h2>
        {field('title', '案件名', { required: true })}
        {field('counterparty', '取引先', { required: true })}
        {field('transactionDate', '取引年月日', { type: 'date' })}
        <div>
          {field('amount', '取引金額（円）', { inputMode: 'numeric', hint: '半角・全角数字、カンマ可。例: 12,345,000' })}
          <label className="mt-1 inline-flex items-center gap-2">
            <input
              type="checkbox"
              checked={env.amountTaxIncluded}
              onChange={(e) => setEnv({ ...env, amountTaxIncluded: e.target.checked })}
            />
            税込
          </label>
        </div>
        {field('contractNumber', '契約番号')}
        <div className="md:col-span-2">
          <label htmlFor="f-message" className="field-label">
            相手方へのメッセージ
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
          文書（PDF）
        </h2>
        {fe('documents') ? <p className="field-error">{fe('documents')}</p> : null}
        {docs.length > 0 ? (
          <ol className="mb-3 divide-y divide-solid-gray-200 rounded-lg border border-solid-gray-200" aria-label="追加済みの文書">
            {docs.map((d, i) => (
              <li key={d.id} className="flex items-center gap-3 px-3 py-2" data-document-name={d.fileName}>
                <span className="w-6 text-right">{i + 1}.</span>
                <span className="flex-1 break-all">
                  {d.fileName}
                  <span className="ml-2 text-sm text-solid-gray-700">
                    {d.pageCount}ページ・{formatSize(d.sizeBytes)}
                  </span>
                </span>
                {id ? (
                  <a href={`/api/envelopes/${id}/documents/${d.id}`} target="_blank" rel="noreferrer" className="text-sm">
                    表示
                  </a>
                ) : null}
                <button type="button" className="btn btn-secondary py-1 text-sm" onClick={() => removeDoc(d.id)} disabled={pending}>
                  削除<span className="sr-only">（{d.fileName}）</span>
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
            ここにPDFファイルをドラッグ＆ドロップ、または{' '}
            <button type="button" className="btn btn-secondary" onClick={() => fileInput.current?.click()}>
              ファイルを選択
            </button>
          </p>
          <p className="mt-2 text-sm text-solid-gray-700">複数選択できます。1ファイル {props.maxUploadMb} MB まで。パスワード付きのPDFは追加できません。</p>
          <label htmlFor="file-input" className="sr-only">
            PDFファイルを選択
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
          <ul className="mt-3 space-y-2" aria-label="アップロードの状況">
            {uploads.map((u) => (
              <li key={u.key} data-upload-state={u.state}>
                {u.state === 'error' ? (
                  <p role="alert" className="field-error">
                    {u.message}
                  </p>
                ) : (
                  <div>
                    <span className="mr-2 break-all">{u.name}</span>
                    <progress max={100} value={u.progress} aria-label={`${u.name} のアップロード`} className="align-middle" />
                    <span className="ml-2 text-sm">{u.state === 'waiting' ? '待機中' : `${u.progress}%`}</span>
                  </div>
                )}
              </li>
            ))}
          </ul>
        ) : null}
      </section>

      <section aria-labelledby="sec-parties">
        <h2 id="sec-parties" className="mb-2 text-lg font-bold">
          署名者と写し送付先
        </h2>
        {fe('recipients') ? <p className="field-error">{fe('recipients')}</p> : null}
        <fieldset className="mb-3">
          <legend className="font-bold">署名の順序</legend>
          <label className="mr-4 inline-flex items-center gap-2">
            <input type="radio" name="order" checked={sequential} onChange={() => setSequential(true)} />
            上から順番に依頼する（前の人の署名後に次の人へ）
          </label>
          <label className="inline-flex items-center gap-2">
            <input type="radio" name="order" checked={!sequential} onChange={() => setSequential(false)} />
            全員に同時に依頼する
          </label>
        </fieldset>
        <ol className="space-y-3">
          {parties.map((p, i) => {
            const pe = (k: string) => fe(`recipients.${i}.${k}`);
            const input = (k: 'name' | 'email' | 'title' | 'company', label: string, required = false, type = 'text') => (
              <div>
                <label htmlFor={`p-${i}-${k}`} className="field-label text-sm">
                  {label}
                  {required ? <span className="ml-1 font-normal">（必須）</span> : null}
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
              <li key={i} className="rounded-lg border border-solid-gray-300 p-3" data-party-index={i} aria-label={`${i + 1}. ${KIND_LABEL[p.kind]}`}>
                <div className="mb-2 flex flex-wrap items-center gap-2">
                  <span className="font-bold">
                    {p.kind !== 'cc' && sequential ? `${parties.slice(0, i + 1).filter((x) => x.kind !== 'cc').length}番目 ` : ''}
                    {KIND_LABEL[p.kind]}
                  </span>
                  <span className="ml-auto flex gap-1">
                    <button type="button" className="btn btn-secondary px-2 py-0 text-sm" onClick={() => move(i, -1)} disabled={i === 0}>
                      ↑ 上へ<span className="sr-only">（{i + 1}番目）</span>
                    </button>
                    <button
                      type="button"
                      className="btn btn-secondary px-2 py-0 text-sm"
                      onClick={() => move(i, 1)}
                      disabled={i === parties.length - 1}
                    >
                      ↓ 下へ<span className="sr-only">（{i + 1}番目）</span>
                    </button>
                    <button
                      type="button"
                      className="btn btn-secondary px-2 py-0 text-sm"
                      onClick={() => setParties((ps) => ps.filter((_, j) => j !== i))}
                    >
                      削除<span className="sr-only">（{i + 1}番目）</span>
                    </button>
                  </span>
                </div>
                <div className="grid gap-2 md:grid-cols-4">
                  {input('name', '氏名', true)}
                  {input('email', 'メールアドレス', true, 'email')}
                  {input('title', '役職')}
                  {input('company', p.kind === 'municipal' ? '所属' : '会社名')}
                </div>
              </li>
            );
          })}
        </ol>
        <div className="mt-3 flex flex-wrap gap-2">
          <button type="button" className="btn btn-secondary" onClick={() => addParty('supplier')}>
            ＋ 事業者の権限者を追加
          </button>
          <button type="button" className="btn btn-secondary" onClick={() => addParty('municipal')}>
            ＋ 市の署名者を追加
          </button>
          <button type="button" className="btn btn-secondary" onClick={() => addParty('cc')}>
            ＋ 写し送付先を追加
          </button>
        </div>
      </section>

      <div className="flex flex-wrap gap-3 border-t border-solid-gray-200 pt-4">
        <button type="button" className="btn btn-secondary" onClick={save} disabled={pending}>
          下書き保存
        </button>
        <button
          type="button"
          className="btn btn-primary"
          onClick={() => dialogRef.current?.showModal()}
          disabled={pending || docs.length === 0 || signerCount === 0}
        >
          送信する
        </button>
        {pending ? <span role="status">処理中…</span> : null}
      </div>

      <dialog ref={dialogRef} aria-labelledby="send-title" className="m-auto max-w-lg rounded-lg p-6 backdrop:bg-black/40">
        <h2 id="send-title" className="mb-2 text-lg font-bold">
          署名依頼を送信しますか？
        </h2>
        <p className="mb-2">送信後は内容を変更できません。</p>
        <ul className="mb-4 list-disc pl-6 text-sm">
          <li>案件名: {env.title}</li>
          <li>文書: {docs.length}件</li>
          <li>
            署名者: {signerCount}人（{sequential ? '順番に依頼' : '同時に依頼'}）
          </li>
        </ul>
        <div className="flex justify-end gap-2">
          <button type="button" className="btn btn-secondary" onClick={() => dialogRef.current?.close()}>
            キャンセル
          </button>
          <button type="button" className="btn btn-primary" onClick={send}>
            送信する
          </button>
        </div>
      </dialog>
    </div>
  );
}
