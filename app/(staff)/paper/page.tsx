import { getConfig } from '@/lib/config';
import { requireStaff } from '../../_lib/server';
import { PaperForm } from './PaperForm';

export const metadata = { title: '書面契約の登録' };

/** 書面契約: register a paper contract (search fields + scanned PDF) so the contract search finds it. */
export default async function PaperPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await requireStaff();
  const sp = await searchParams;
  const error = typeof sp.error === 'string' ? sp.error.slice(0, 300) : null;
  return (
    <>
      <h1 className="mb-2 text-2xl font-bold">書面契約の登録</h1>
      <p className="mb-4 max-w-3xl">
        紙で締結した契約書をスキャンしたPDFと、検索に使う項目（取引先・取引年月日・取引金額など）を登録します。
        登録した契約は「締結完了（書面）」として契約検索の対象になります。登録後にPDFを差し替えたり削除したりはできません。
        項目の誤りは封筒の詳細画面から訂正でき、訂正の履歴が残ります。
      </p>
      {error ? (
        <div role="alert" className="mb-4 rounded border-2 border-error-1 p-3">
          {error}
        </div>
      ) : null}
      <PaperForm maxUploadMb={getConfig().MAX_UPLOAD_MB} />
    </>
  );
}
