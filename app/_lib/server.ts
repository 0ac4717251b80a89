/**
 * Request helpers for server components, server actions and route handlers (Next.js only; lib/ stays
 * framework-free). `requireStaff()` turns the `ts_session` cookie into a StaffActor or redirects to /login.
 */
import { cookies, headers } from 'next/headers';
import { notFound, redirect } from 'next/navigation';
import { cache } from 'react';
import type { RequestContext } from '@/lib/audit';
import { getSessionActor, SESSION_COOKIE, type StaffActor } from '@/lib/auth';
import { getPrisma, type Db } from '@/lib/db';
import { LOCALE_COOKIE, parseLocale, translator, type Locale } from '@/lib/i18n';

export function getDb(): Db {
  return getPrisma();
}

/** The client address. The runner (scripts/dev.ts) sets x-tachiai-client-ip from the socket, after
 * stripping any value a client sent; otherwise fall back to the last x-forwarded-for hop. */
export function clientIpFrom(h: Headers): string | null {
  const own = h.get('x-tachiai-client-ip');
  if (own) return own;
  const xff = h.get('x-forwarded-for');
  if (xff) {
    const hops = xff.split(',').map((s) => s.trim()).filter(Boolean);
    return hops[hops.length - 1] ?? null;
  }
  return h.get('x-real-ip');
}

export const getRequestContext = cache(async (): Promise<RequestContext> => {
  const h = await headers();
  return { ip: clientIpFrom(h), userAgent: h.get('user-agent')?.slice(0, 512) ?? null };
});

export const getLocale = cache(async (): Promise<Locale> => parseLocale((await cookies()).get(LOCALE_COOKIE)?.value));

export async function getTranslator() {
  return translator(await getLocale());
}

/** Whether the organisation shows 和暦 beside 西暦 (organizations.show_wareki). */
export const getShowWareki = cache(async (organizationId: string): Promise<boolean> => {
  const org = await getDb().organization.findUnique({ where: { id: organizationId }, select: { showWareki: true } });
  return org?.showWareki ?? false;
});

export const MFA_SETUP_REQUIRED_MESSAGE = 'この組織では二要素認証が必須です。先に「二要素認証」で有効にしてください。';

/** The signed-in staff member, or null (no redirect). Also null while the organisation requires MFA they lack. */
export const getStaff = cache(async (): Promise<StaffActor | null> => {
  const token = (await cookies()).get(SESSION_COOKIE)?.value;
  const r = await getSessionActor(getDb(), token, await getRequestContext());
  return r.status === 'ok' && !r.mfaSetupRequired ? r.actor : null;
});

const staffSession = cache(async () => {
  const token = (await cookies()).get(SESSION_COOKIE)?.value;
  const r = await getSessionActor(getDb(), token, await getRequestContext());
  if (r.status === 'ok') return r;
  if (r.status === 'ip_denied') redirect('/login?reason=ip');
  if (r.status === 'expired') redirect('/login?reason=expired');
  redirect('/login');
});

/**
 * For staff pages and actions: the actor, or a redirect to /login (expired / IP-denied explained there).
 * When the organisation requires MFA (organizations.require_mfa) and this user has not enrolled, every
 * staff page and action redirects to /account/mfa (which uses `requireStaffForMfaSetup`; /logout needs no session).
 */
export const requireStaff = cache(async (): Promise<StaffActor> => {
  const r = await staffSession();
  if (r.mfaSetupRequired) redirect('/account/mfa?required=1');
  return r.actor;
});

/** Only for /account/mfa (and the staff layout, whose pages each call requireStaff): no MFA-policy redirect. */
export const requireStaffForMfaSetup = cache(async (): Promise<StaffActor> => (await staffSession()).actor);

/** Admin-only pages: 404 for plain staff (we do not reveal the page exists). */
export async function requireAdmin(): Promise<StaffActor> {
  const actor = await requireStaff();
  if (actor.role !== 'admin') notFound();
  return actor;
}

/** CSRF guard for route handlers that change state: the Origin (or Referer) must be this host. */
export function sameOrigin(req: Request): boolean {
  const origin = req.headers.get('origin') ?? req.headers.get('referer');
  if (!origin) return false;
  const host = req.headers.get('x-forwarded-host') ?? req.headers.get('host');
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
