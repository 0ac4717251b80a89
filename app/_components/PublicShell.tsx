/**
 * Layout for the public pages (/sign, /download, /verify): calm, phone-friendly, no staff navigation.
 * Use it from app/sign/layout.tsx etc.: `export default function L({children}) { return <PublicShell>{children}</PublicShell>; }`
 */
import type { ReactNode } from 'react';
import { getTranslator } from '../_lib/server';
import { LanguageToggle } from './LanguageToggle';

export async function PublicShell({ children, organizationName }: { children: ReactNode; organizationName?: string }) {
  const tr = await getTranslator();
  return (
    <>
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:bg-white focus:p-2">
        {tr('nav.skip')}
      </a>
      <header className="border-b border-solid-gray-200 bg-white">
        <div className="mx-auto flex max-w-3xl items-center justify-between px-4 py-3">
          <span className="text-lg font-bold text-blue-1000">
            {tr('app.name')}
            {organizationName ? <span className="ml-2 text-base text-solid-gray-700">{organizationName}</span> : null}
          </span>
          <LanguageToggle />
        </div>
      </header>
      <main id="main" className="mx-auto max-w-3xl px-4 py-6">
        {children}
      </main>
    </>
  );
}
