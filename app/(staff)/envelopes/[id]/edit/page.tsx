import { notFound, redirect } from 'next/navigation';
import { getConfig } from '@/lib/config';
import { getEnvelope } from '@/lib/envelopes';
import { isAppError } from '@/lib/errors';
import { getDb, getLocale, requireStaff } from '../../../../_lib/server';
import type { PartyRow } from '../../actions';
import { EnvelopeEditor } from '../../_editor/EnvelopeEditor';

export const metadata = { title: '封筒の編集' };

export default async function EditEnvelopePage({ params }: { params: Promise<{ id: string }> }) {
  const actor = await requireStaff();
  const { id } = await params;
  const env = await getEnvelope(getDb(), actor, id).catch((e: unknown) => {
    if (isAppError(e) && e.code === 'not_found') notFound();
    throw e;
  });
  if (env.status !== 'draft') redirect(`/envelopes/${env.id}`);
  const parties: PartyRow[] = env.recipients.map((r) => ({
    kind: r.role === 'cc' ? 'cc' : r.partyType === 'municipal' ? 'municipal' : 'supplier',
    name: r.name,
    email: r.email,
    title: r.title ?? '',
    company: r.company ?? '',
  }));
  const signerOrders = new Set(env.recipients.filter((r) => r.role === 'signer').map((r) => r.order));
  return (
    <>
      <h1 className="mb-1 text-2xl font-bold">封筒の編集（下書き）</h1>
      <p className="mb-4 text-sm text-solid-gray-700">書類ID: {env.documentNumber}</p>
      <EnvelopeEditor
        id={env.id}
        envelope={{
          title: env.title,
          counterparty: env.counterparty,
          transactionDate: env.transactionDate ? env.transactionDate.toISOString().slice(0, 10) : '',
          amount: env.amount === null ? '' : env.amount.toString(),
          amountTaxIncluded: env.amountTaxIncluded,
          contractNumber: env.contractNumber ?? '',
          message: env.message ?? '',
        }}
        sequential={env.recipients.length === 0 || signerOrders.size > 1}
        parties={parties.length ? parties : [{ kind: 'supplier', name: '', email: '', title: '', company: '' }]}
        documents={env.documents.map((d) => ({ id: d.id, fileName: d.fileName, pageCount: d.pageCount, sizeBytes: Number(d.sizeBytes) }))}
        maxUploadMb={getConfig().MAX_UPLOAD_MB}
        locale={await getLocale()}
      />
    </>
  );
}
