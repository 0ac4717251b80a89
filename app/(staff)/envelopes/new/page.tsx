import { getConfig } from '@/lib/config';
import { getLocale, getTranslator, requireStaff } from '../../../_lib/server';
import { EnvelopeEditor } from '../_editor/EnvelopeEditor';

export const metadata = { title: '新規作成' };

export default async function NewEnvelopePage() {
  await requireStaff();
  const tr = await getTranslator();
  return (
    <>
      <h1 className="mb-4 text-2xl font-bold">{tr('envelopes.new')}</h1>
      <EnvelopeEditor
        id={null}
        envelope={{ title: '', counterparty: '', transactionDate: '', amount: '', amountTaxIncluded: true, contractNumber: '', message: '' }}
        sequential={true}
        parties={[{ kind: 'supplier', name: '', email: '', title: '', company: '' }]}
        documents={[]}
        maxUploadMb={getConfig().MAX_UPLOAD_MB}
        locale={await getLocale()}
      />
    </>
  );
}
