'use server';

import { cookies } from 'next/headers';
import { redirect } from 'next/navigation';
import { login, SESSION_COOKIE } from '@/lib/auth';
import { getConfig } from '@/lib/config';
import { isAppError } from '@/lib/errors';
import { getDb, getRequestContext } from '../_lib/server';

export interface LoginState {
  error?: string;
  fieldErrors?: Record<string, string>;
  email?: string;
}

/** Only same-site relative paths are followed after login (no open redirect). */
function safeNext(v: FormDataEntryValue | null): string {
  const s = typeof v === 'string' ? v : '';
  return s.startsWith('/') && !s.startsWith('//') && !s.startsWith('/\\') ? s : '/envelopes';
}

export async function loginAction(_prev: LoginState, form: FormData): Promise<LoginState> {
  const email = String(form.get('email') ?? '');
  try {
    const r = await login(getDb(), { email, password: String(form.get('password') ?? '') }, await getRequestContext());
    (await cookies()).set(SESSION_COOKIE, r.token, {
      httpOnly: true,
      sameSite: 'lax',
      secure: getConfig().cookieSecure,
      path: '/',
      expires: r.expiresAt,
    });
  } catch (e) {
    if (isAppError(e)) return { error: e.message, fieldErrors: e.fieldErrors, email };
    throw e;
  }
  redirect(safeNext(form.get('next')));
}
