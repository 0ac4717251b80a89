/**
 * 訂正履歴 and the correction form for the envelope page (電子帳簿保存法 真実性): each change of a
 * search field is kept as an append-only row — who, when, old → new, reason — shown in time order.
 * The form (admins, or the envelope's creator; not for drafts, which are edited normally) submits
 * to an inline server action calling lib/records correctEnvelopeFields.
 */
import { redirect } from 'next/navigation';
import { isAppError } from '@/lib/errors';
import { formatDateTimeWithWareki, formatYen } from '@/lib/format';
import { correctEnvelopeFields, listCorrections } from '@/lib/records';
import { getDb, getLocale, getRequestContext, getShowWareki, requireStaff } from '../../../_lib/server';

type SP = Record<string, string | string[] | undefined>;

const FORM_FIELDS = ['title', 'counterparty', 'transactionDate', 'amount', 'amountTaxIncluded', 'taxAmount', 'contractNumber'] as const;

function show(field: string, v: string | null): string {
  if (v === null || v === '') return '（空欄）';
  if (field === 'amount' || field === 'taxAmount') return /^\d+$/.test(v) ? formatYen(BigInt(v)) : v;
  if (field === 'amountTaxIncluded') return v === 'true' ? '税込' : '税抜';
  return v;
}

export async function EnvelopeCorrections({ envelopeId, searchParams }: { envelopeId: string; searchParams?: SP }) {
  const actor = await requireStaff();
  const locale = await getLocale();
  const wareki = await getShowWareki(actor.organizationId);
  const db = getDb();
  const env = await db.envelope.findFirst({
    where: { id: envelopeId, organizationId: actor.organizationId },
    select: {
      id: true,
      status: true,
      isPaper: true,
      createdById: true,
      title: true,
      counterparty: true,
      transactionDate: true,
      amount: true,
      amountTaxIncluded: true,
      taxAmount: true,
      contractNumber: true,
    },
  });
  if (!env) return null;
  const history = await listCorrections(db, actor, envelopeId);
  const canCorrect = env.status !== 'draft' && env.status !== 'sealing' && (actor.role === 'admin' || env.createdById === actor.userId);
  const sp = searchParams ?? {};
  const ok = sp.correction === 'ok';
  const paperNotice = sp.notice === 'paper';
  const error = typeof sp.correctionError === 'string' ? sp.correctionError.slice(0, 300) : null;

  async function correct(formData: FormData) {
    'use server';
    const a = await requireStaff();
    const changes: Record<string, string> = {};
    for (const k of FORM_FIELDS) {
      const v = formData.get(k);
      if (typeof v === 'string') changes[k] = v;
    }
    const reason = formData.get('reason');
    let target = `/envelopes/${envelopeId}?correction=ok#corrections`;
    try {
      await correctEnvelopeFields(getDb(), a, envelopeId, changes, typeof reason === 'string' ? reason : '', await getRequestContext());
    } catch (e) {
      if (!isAppError(e)) throw e;
      const detail = e.fieldErrors ? Object.values(e.fieldErrors).join(' ') : '';
      target = `/envelopes/${envelopeId}?correctionError=${encodeURIComponent(`${e.message} ${detail}`.trim())}#corrections`;
    }
    redirect(target);
  }

  const dateValue = env.transactionDate ? env.transactionDate.toISOString().slice(0, 10) : '';
  return (
    <section id="corrections" aria-labelledby="sec-corrections" className="mb-6">
      {paperNotice ? (
        <p role="status" className="mb-3 rounded-lg border-2 border-green-700 bg-green-50 p-3">
          <span aria-hidden="true">◎ </span>書面契約を登録しました。契約検索で検索できます。
        </p>
      ) : null}
      <h2 id="sec-corrections" className="mb-2 text-lg font-bold">
        訂正履歴
      </h2>
      {ok ? (
        <p role="status" className="mb-3 rounded-lg border-2 border-green-700 bg-green-50 p-3">
          <span aria-hidden="true">◎ </span>訂正を記録しました。
        </p>
      ) : null}
      {error ? (
        <p role="alert" className="mb-3 rounded-lg border-2 border-error-1 bg-red-50 p-3 text-error-2">
          <span aria-hidden="true">！</span>
          {error}
        </p>
      ) : null}
      {history.length === 0 ? (
        <p className="mb-3">訂正の記録はありません。</p>
      ) : (
        <table className="table-dense mb-3" aria-label="訂正履歴（古い順）">
          <thead>
            <tr>
              <th scope="col">日時</th>
              <th scope="col">訂正者</th>
              <th scope="col">項目</th>
              <th scope="col">訂正前</th>
              <th scope="col">訂正後</th>
              <th scope="col">理由</th>
            </tr>
          </thead>
          <tbody>
            {history.map((h) => (
              <tr key={h.id} data-correction-field={h.field}>
                <td className="whitespace-nowrap">{formatDateTimeWithWareki(h.createdAt, wareki, locale)}</td>
                <td>
                  {h.userName}
                  <div className="text-xs text-solid-gray-700">{h.userEmail}</div>
                </td>
                <td>{h.fieldLabel}</td>
                <td className="break-all">{show(h.field, h.oldValue)}</td>
                <td className="break-all">{show(h.field, h.newValue)}</td>
                <td className="break-all">{h.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {canCorrect ? (
        <details className="rounded-lg border border-solid-gray-200 p-3">
          <summary className="cursor-pointer font-bold">検索項目を訂正する</summary>
          <form action={correct} className="mt-3 grid max-w-3xl gap-3 md:grid-cols-2">
            <p className="md:col-span-2 text-sm">変更した項目だけが訂正として記録されます（訂正前の値・訂正者・日時・理由は削除できません）。</p>
            <div>
              <label htmlFor="c-title" className="field-label">案件名</label>
              <input id="c-title" name="title" defaultValue={env.title} className="input" required />
            </div>
            <div>
              <label htmlFor="c-counterparty" className="field-label">取引先</label>
              <input id="c-counterparty" name="counterparty" defaultValue={env.counterparty} className="input" required />
            </div>
            <div>
              <label htmlFor="c-transactionDate" className="field-label">取引年月日</label>
              <input id="c-transactionDate" name="transactionDate" type="date" defaultValue={dateValue} className="input" />
            </div>
            <div>
              <label htmlFor="c-contractNumber" className="field-label">契約番号</label>
              <input id="c-contractNumber" name="contractNumber" defaultValue={env.contractNumber ?? ''} className="input" />
            </div>
            <div>
              <label htmlFor="c-amount" className="field-label">取引金額（円）</label>
              <input id="c-amount" name="amount" inputMode="numeric" defaultValue={env.amount?.toString() ?? ''} className="input" />
            </div>
            <fieldset>
              <legend className="field-label">税込／税抜</legend>
              <label className="mr-4">
                <input type="radio" name="amountTaxIncluded" value="true" defaultChecked={env.amountTaxIncluded} /> 税込
              </label>
              <label>
                <input type="radio" name="amountTaxIncluded" value="false" defaultChecked={!env.amountTaxIncluded} /> 税抜
              </label>
            </fieldset>
            <div>
              <label htmlFor="c-taxAmount" className="field-label">うち消費税額等（円）</label>
              <input id="c-taxAmount" name="taxAmount" inputMode="numeric" defaultValue={env.taxAmount?.toString() ?? ''} className="input" />
            </div>
            <div className="md:col-span-2">
              <label htmlFor="c-reason" className="field-label">
                訂正理由<span className="ml-1 text-sm text-error-2">（必須）</span>
              </label>
              <textarea id="c-reason" name="reason" required maxLength={500} rows={2} className="input" />
            </div>
            <div className="md:col-span-2">
              <button type="submit" className="btn btn-primary">
                訂正を記録する
              </button>
            </div>
          </form>
        </details>
      ) : null}
    </section>
  );
}
