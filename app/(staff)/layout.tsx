import type { ReactNode } from 'react';
import { getConfig } from '@/lib/config';
import { LanguageToggle } from '../_components/LanguageToggle';
import { StaffNav } from '../_components/StaffNav';
import { getTranslator, requireStaffForMfaSetup } from '../_lib/server';

/** Every page under (staff) requires a signed-in staff member of the organisation. */
export default async function StaffLayout({ children }: { children: ReactNode }) {
  const actor = await requireStaffForMfaSetup();
  const tr = await getTranslator();
  const items = [
    { href: '/envelopes', label: tr('nav.envelopes') },
    { href: '/envelopes/new', label: tr('nav.new') },
    { href: '/search', label: tr('nav.search') },
    { href: '/paper', label: tr('nav.paper') },
    ...(actor.role === 'admin' ? [{ href: '/audit', label: tr('nav.audit') }, { href: '/admin', label: tr('nav.admin') }] : []),
    ...(getConfig().devMailbox ? [{ href: '/dev/mail', label: tr('nav.devMail') }] : []),
  ];
  return (
    <>
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-10 focus:bg-white focus:p-2">
        {tr('nav.skip')}
      </a>
      <header className="border-b border-solid-gray-200 bg-white">
        <div className="mx-auto flex max-w-7xl flex-wrap items-center gap-x-6 gap-y-2 px-4 py-2">
          <span className="font-bold text-blue-1000">
            {tr('app.name')} <span className="text-solid-gray-700">｜{actor.organizationName}</span>
          </span>
          <StaffNav items={items} />
          <div className="ml-auto flex items-center gap-4 text-sm">
            <span>
              {actor.name}
              {actor.role === 'admin' ? '（管理者）' : ''}
            </span>
            <a href="/account/mfa" className="text-blue-1000 underline">
              {tr('nav.mfa')}
            </a>
            <LanguageToggle />
            <form action="/logout" method="post">
              <button type="submit" className="text-blue-1000 underline">
                {tr('nav.logout')}
              </button>
            </form>
          </div>
        </div>
      </header>
      <main id="main" className="mx-auto max-w-7xl px-4 py-4">
        {children}
      </main>
    </>
  );
}
