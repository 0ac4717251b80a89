/**
 * The guard every /dev/mail page calls itself (a layout is never the only guard: an RSC request can
 * claim the layout is already mounted and skip it). The inbox exists only in `next dev` — its files
 * end in .dev.tsx, a page extension next.config.ts adds in the development server phase only — and it
 * answers only when DEV_MAILBOX is on, NODE_ENV is not production, and the request's TCP peer (set by
 * the runner from the socket, in x-tachiai-peer) is this machine. Otherwise: 404.
 */
import { headers } from 'next/headers';
import { notFound } from 'next/navigation';
import { getConfig } from '@/lib/config';
import { PEER_HEADER, devPageAllowed } from '@/lib/devserver';

export async function requireDevMailbox(): Promise<void> {
  const production = process.env.NODE_ENV === 'production' || getConfig().NODE_ENV === 'production';
  if (!getConfig().devMailbox || !devPageAllowed({ production, peer: (await headers()).get(PEER_HEADER) })) notFound();
}
