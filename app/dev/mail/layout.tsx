import { notFound } from 'next/navigation';
import type { ReactNode } from 'react';
import { getConfig } from '@/lib/config';
import { PublicShell } from '../../_components/PublicShell';

/** The built-in mail catcher's inbox: only when DEV_MAILBOX is on (development without SMTP_URL). */
export default function DevMailLayout({ children }: { children: ReactNode }) {
  if (!getConfig().devMailbox) notFound();
  return <PublicShell>{children}</PublicShell>;
}
