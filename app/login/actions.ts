'use server';

import { cookies } from 'next/headers';
import { redirect } from 'next/navigation';
import { login, SESSION_COOKIE } from '@/lib/auth';
import { getConfig } from '@/lib/config';
import { isAppError } from '@/lib/errors';
import { safeLocalPath } from '@/lib/security';
import { getDb, getRequestContext } from '../_lib/server';

export interface LoginState {
  error?: string;
  fieldErrors?: Record<string, string>;
  email?: string;
}

/** Only same-site paths are followed after login (no open redirect, also not via "/<TAB>/host"). */
function safeNext(v: FormDataEntryValue | null): string {
  return safeLocalPath(v, '/envelopes');
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
