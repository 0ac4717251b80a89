import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { getLocale, getTranslator } from './_lib/server';
import './globals.css';

export async function generateMetadata(): Promise<Metadata> {
  const tr = await getTranslator();
  return {
    title: { default: tr('app.name'), template: `%s | ${tr('app.name')}` },
    description: tr('app.tagline'),
    robots: { index: false, follow: false },
  };
}

export default async function RootLayout({ children }: { children: ReactNode }) {
  const locale = await getLocale();
  return (
    <html lang={locale}>
      <body className="min-h-screen bg-white text-solid-gray-800">{children}</body>
    </html>
  );
}
