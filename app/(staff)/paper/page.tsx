import { getConfig } from '@/lib/config';
import type { Metadata } from 'next';
import { getLocale, getTranslator, requireStaff } from '../../_lib/server';
import { PaperForm } from './PaperForm';

export async function generateMetadata(): Promise<Metadata> {
  return { title: (await getTranslator())('paper.title') };
}

/** 書面契約: register a paper contract (search fields + scanned PDF) so the contract search finds it. */
export default async function PaperPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await requireStaff();
  const tr = await getTranslator();
  const locale = await getLocale();
  const sp = await searchParams;
  const error = typeof sp.error === 'string' ? sp.error.slice(0, 300) : null;
  return (
    <>
      <h1 className="mb-2 text-2xl font-bold">{tr('paper.title')}</h1>
      <p className="mb-4 max-w-3xl">{tr('paper.intro')}</p>
      {error ? (
        <div role="alert" className="mb-4 rounded border-2 border-error-1 p-3">
          {error}
        </div>
      ) : null}
      <PaperForm maxUploadMb={getConfig().MAX_UPLOAD_MB} locale={locale} />
    </>
  );
}
