import type { Metadata } from 'next';
import { getLocale, getTranslator } from '../_lib/server';
import { VerifyForm } from './VerifyForm';

export async function generateMetadata(): Promise<Metadata> {
  const tr = await getTranslator();
  return { title: tr('verify.title') };
}

export default async function VerifyPage() {
  const locale = await getLocale();
  const tr = await getTranslator();
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-bold">{tr('verify.title')}</h1>
      <p>{tr('verify.intro')}</p>
      <VerifyForm locale={locale} />
    </div>
  );
}
