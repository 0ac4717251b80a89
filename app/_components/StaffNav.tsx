'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';

export function StaffNav({ items }: { items: { href: string; label: string }[] }) {
  const pathname = usePathname();
  const current = (href: string) =>
    href === '/envelopes' ? pathname === '/envelopes' || /^\/envelopes\/(?!new)/.test(pathname) : pathname.startsWith(href);
  return (
    <nav aria-label="メイン">
      <ul className="flex flex-wrap gap-1">
        {items.map((i) => (
          <li key={i.href}>
            <Link
              href={i.href}
              aria-current={current(i.href) ? 'page' : undefined}
              className={
                'block rounded px-3 py-1 no-underline ' +
                (current(i.href) ? 'bg-blue-100 font-bold text-blue-1100 underline' : 'text-blue-1000 hover:bg-solid-gray-50')
              }
            >
              {i.label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}
