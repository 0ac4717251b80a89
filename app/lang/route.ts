import { NextResponse } from 'next/server';
import { LOCALE_COOKIE, parseLocale } from '@/lib/i18n';
import { getConfig } from '@/lib/config';
import { sameOrigin } from '../_lib/server';

/** POST /lang (lang=ja|en): remember the UI language in a cookie and go back. */
export async function POST(req: Request) {
  if (!sameOrigin(req)) return new NextResponse('Forbidden', { status: 403 });
  const form = await req.formData();
  const lang = parseLocale(String(form.get('lang') ?? 'ja'));
  const back = req.headers.get('referer');
  let target = '/';
  if (back) {
    try {
      const u = new URL(back);
      target = u.pathname + u.search;
    } catch {
      /* keep / */
    }
  }
  const res = new NextResponse(null, { status: 303, headers: { Location: target } });
  res.cookies.set(LOCALE_COOKIE, lang, {
    path: '/',
    sameSite: 'lax',
    httpOnly: false,
    secure: getConfig().cookieSecure,
    maxAge: 365 * 24 * 3600,
  });
  return res;
}
