'use server';

import { redirect } from 'next/navigation';
import { confirmMfaEnrolment, disableMfa, regenerateRecoveryCodes } from '@/lib/auth';
import { isAppError } from '@/lib/errors';
import { getDb, getRequestContext, requireStaffForMfaSetup } from '../../../_lib/server';

export interface MfaFormState {
  error?: string;
  fieldErrors?: Record<string, string>;
  /** New recovery codes: shown once, right here (only their hashes are stored). */
  recoveryCodes?: string[];
}

export async function enableMfaAction(_prev: MfaFormState, form: FormData): Promise<MfaFormState> {
  const actor = await requireStaffForMfaSetup();
  try {
    const r = await confirmMfaEnrolment(getDb(), actor, { enrolToken: form.get('enrolToken'), code: form.get('code') }, await getRequestContext());
    return { recoveryCodes: r.recoveryCodes };
  } catch (e) {
    if (isAppError(e)) return { error: e.message, fieldErrors: e.fieldErrors };
    throw e;
  }
}

export async function regenerateRecoveryCodesAction(_prev: MfaFormState, form: FormData): Promise<MfaFormState> {
  const actor = await requireStaffForMfaSetup();
  try {
    const r = await regenerateRecoveryCodes(getDb(), actor, { code: form.get('code') }, await getRequestContext());
    return { recoveryCodes: r.recoveryCodes };
  } catch (e) {
    if (isAppError(e)) return { error: e.message, fieldErrors: e.fieldErrors };
    throw e;
  }
}

export async function disableMfaAction(_prev: MfaFormState, form: FormData): Promise<MfaFormState> {
  const actor = await requireStaffForMfaSetup();
  try {
    await disableMfa(getDb(), actor, { code: form.get('code') }, await getRequestContext());
  } catch (e) {
    if (isAppError(e)) return { error: e.message, fieldErrors: e.fieldErrors };
    throw e;
  }
  redirect('/account/mfa?done=disabled');
}
