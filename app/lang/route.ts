import { NextResponse } from 'next/server';
import { LOCALE_COOKIE, parseLocale } from '@/lib/i18n';
import { getConfig } from '@/lib/config';
import { formDataWithin } from '../_lib/api';
import { sameOrigin } from '../_lib/server';
import { AppError, isAppError } from '@/lib/errors';
import { safeLocalPath } from '@/lib/security';

/** POST /lang (lang=ja|en): remember the UI language in a cookie and go back. */
export async function POST(req: Request) {
  if (!sameOrigin(req)) return new NextResponse('Forbidden', { status: 403 });
  let form: FormData;
  try {
    // A one-field form: read within 4 KiB as it streams in.
    form = await formDataWithin(req, 4096, () => new AppError('payload_too_large', '送信された内容が大きすぎます。'));
  } catch (e) {
    return new NextResponse(isAppError(e) ? e.message : 'Bad Request', { status: isAppError(e) ? e.httpStatus : 400 });
  }
  const lang = parseLocale(String(form.get('lang') ?? 'ja'));
  const back = req.headers.get('referer');
  let target = '/';
  if (back) {
    try {
      const u = new URL(back);
      target = safeLocalPath(u.pathname + u.search, '/');
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
