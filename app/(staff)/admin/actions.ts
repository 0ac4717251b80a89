'use server';

import { revalidatePath } from 'next/cache';
import { createUser, resetUserMfa, resetUserPassword, setUserDisabled, setUserRole, updateOrganizationSettings } from '@/lib/admin';
import { isAppError } from '@/lib/errors';
import { getDb, getRequestContext, requireAdmin } from '../../_lib/server';

export type CreateUserState =
  | { status: 'idle' }
  | { status: 'created'; email: string; initialPassword: string }
  | { status: 'error'; error: string; fieldErrors?: Record<string, string>; values: Record<string, string> };

export type UserActionState =
  | { status: 'idle' }
  | { status: 'done'; password?: string; email?: string }
  | { status: 'error'; error: string };

export type SettingsState =
  | { status: 'idle' }
  | { status: 'saved' }
  | { status: 'error'; error: string; showWareki: boolean; ipAllowlist: string; requireMfa: boolean };

const str = (f: FormData, k: string) => {
  const v = f.get(k);
  return typeof v === 'string' ? v : '';
};

function failure(e: unknown): { error: string; fieldErrors?: Record<string, string> } {
  if (isAppError(e)) return { error: e.message, fieldErrors: e.fieldErrors };
  console.error('admin action failed', e);
  return { error: 'エラーが発生しました。時間をおいて再度お試しください。' };
}

export async function createUserAction(_prev: CreateUserState, form: FormData): Promise<CreateUserState> {
  const actor = await requireAdmin();
  const values = { email: str(form, 'email'), name: str(form, 'name'), title: str(form, 'title'), role: str(form, 'role') };
  try {
    const r = await createUser(getDb(), actor, { ...values, role: values.role as 'staff' | 'admin' }, await getRequestContext());
    revalidatePath('/admin');
    return { status: 'created', email: r.user.email, initialPassword: r.initialPassword };
  } catch (e) {
    return { status: 'error', ...failure(e), values };
  }
}

/** One row's buttons: op = disable | enable | make_admin | make_staff | reset_password | reset_mfa. */
export async function userAction(_prev: UserActionState, form: FormData): Promise<UserActionState> {
  const actor = await requireAdmin();
  const ctx = await getRequestContext();
  const db = getDb();
  const userId = str(form, 'userId');
  try {
    switch (str(form, 'op')) {
      case 'disable':
        await setUserDisabled(db, actor, userId, true, ctx);
        break;
      case 'enable':
        await setUserDisabled(db, actor, userId, false, ctx);
        break;
      case 'make_admin':
        await setUserRole(db, actor, userId, 'admin', ctx);
        break;
      case 'make_staff':
        await setUserRole(db, actor, userId, 'staff', ctx);
        break;
      case 'reset_mfa':
        await resetUserMfa(db, actor, userId, ctx);
        break;
      case 'reset_password': {
        const { password } = await resetUserPassword(db, actor, userId, ctx);
        revalidatePath('/admin');
        return { status: 'done', password, email: str(form, 'email') };
      }
      default:
        return { status: 'error', error: '不正なリクエストです。' };
    }
    revalidatePath('/admin');
    return { status: 'done' };
  } catch (e) {
    return { status: 'error', error: failure(e).error };
  }
}

export async function settingsAction(_prev: SettingsState, form: FormData): Promise<SettingsState> {
  const actor = await requireAdmin();
  const showWareki = form.get('showWareki') === 'on';
  const requireMfa = form.get('requireMfa') === 'on';
  const ipAllowlist = str(form, 'ipAllowlist');
  try {
    await updateOrganizationSettings(getDb(), actor, { showWareki, requireMfa, ipAllowlist: ipAllowlist.split(/\r?\n/) }, await getRequestContext());
    revalidatePath('/', 'layout');
    return { status: 'saved' };
  } catch (e) {
    return { status: 'error', error: failure(e).error, showWareki, ipAllowlist, requireMfa };
  }
}
