'use server';

import { cookies } from 'next/headers';
import { redirect } from 'next/navigation';
import { beginLogin, completeMfaLogin, SESSION_COOKIE, type LoginResult } from '@/lib/auth';
import { getConfig } from '@/lib/config';
import { isAppError } from '@/lib/errors';
import { safeLocalPath } from '@/lib/security';
import { getDb, getRequestContext } from '../_lib/server';

export interface LoginState {
  error?: string;
  fieldErrors?: Record<string, string>;
  email?: string;
  /** Set after a correct password for a user with MFA: the form asks for the 6-digit code next. */
  mfaToken?: string;
}

/** Only same-site paths are followed after login (no open redirect, also not via "/<TAB>/host"). */
function safeNext(v: FormDataEntryValue | null): string {
  return safeLocalPath(v, '/envelopes');
}

export async function loginAction(_prev: LoginState, form: FormData): Promise<LoginState> {
  const email = String(form.get('email') ?? '');
  const mfaToken = form.get('mfaToken');
  try {
    let r: LoginResult;
    if (typeof mfaToken === 'string' && mfaToken) {
      // Step 2 (MFA): the signed pending token from step 1 and the authenticator code.
      try {
        r = await completeMfaLogin(getDb(), { mfaToken, code: form.get('code') }, await getRequestContext());
      } catch (e) {
        // A wrong code keeps the code step; an expired/invalid pending token goes back to the password.
        if (isAppError(e) && e.code === 'unauthorized') return { error: e.message, email, mfaToken };
        throw e;
      }
    } else {
      const first = await beginLogin(getDb(), { email, password: String(form.get('password') ?? '') }, await getRequestContext());
      if ('mfaRequired' in first) return { email, mfaToken: first.mfaToken };
      r = first;
    }
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
