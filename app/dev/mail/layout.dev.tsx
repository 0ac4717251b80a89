import type { ReactNode } from 'react';
import { PublicShell } from '../../_components/PublicShell';
import { requireDevMailbox } from './guard';

/** The built-in mail catcher's inbox (development only; each page checks requireDevMailbox itself too). */
export default async function DevMailLayout({ children }: { children: ReactNode }) {
  await requireDevMailbox();
  return <PublicShell>{children}</PublicShell>;
}
