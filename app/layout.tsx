import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { getLocale } from './_lib/server';
import './globals.css';

export const metadata: Metadata = {
  title: { default: '立会サイン', template: '%s | 立会サイン' },
  description: '自治体と事業者のための立会人型電子契約',
  robots: { index: false, follow: false },
};

export default async function RootLayout({ children }: { children: ReactNode }) {
  const locale = await getLocale();
  return (
    <html lang={locale}>
      <body className="min-h-screen bg-white text-solid-gray-800">{children}</body>
    </html>
  );
}
