'use server';

import { redirect } from 'next/navigation';
import { confirmMfaEnrolment, disableMfa } from '@/lib/auth';
import { isAppError } from '@/lib/errors';
import { getDb, getRequestContext, requireStaff } from '../../../_lib/server';

export interface MfaFormState {
  error?: string;
  fieldErrors?: Record<string, string>;
}

export async function enableMfaAction(_prev: MfaFormState, form: FormData): Promise<MfaFormState> {
  const actor = await requireStaff();
  try {
    await confirmMfaEnrolment(getDb(), actor, { enrolToken: form.get('enrolToken'), code: form.get('code') }, await getRequestContext());
  } catch (e) {
    if (isAppError(e)) return { error: e.message, fieldErrors: e.fieldErrors };
    throw e;
  }
  redirect('/account/mfa?done=enabled');
}

export async function disableMfaAction(_prev: MfaFormState, form: FormData): Promise<MfaFormState> {
  const actor = await requireStaff();
  try {
    await disableMfa(getDb(), actor, { code: form.get('code') }, await getRequestContext());
  } catch (e) {
    if (isAppError(e)) return { error: e.message, fieldErrors: e.fieldErrors };
    throw e;
  }
  redirect('/account/mfa?done=disabled');
}
