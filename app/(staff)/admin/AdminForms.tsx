'use client';

/** The /admin forms (server actions with useActionState): add a staff member, one row's actions, organisation settings. */
import { useActionState } from 'react';
import { translator, type Locale } from '@/lib/i18n';
import {
  createUserAction,
  settingsAction,
  userAction,
  type CreateUserState,
  type SettingsState,
  type UserActionState,
} from './actions';

function OneTimePassword({ label, password }: { label: string; password: string }) {
  return (
    <div className="mt-2 rounded border-2 border-solid border-blue-600 bg-blue-50 p-3" role="status">
      <p className="font-bold">{label}</p>
      <p>
        <code className="select-all text-lg" data-testid="one-time-password">
          {password}
        </code>
      </p>
    </div>
  );
}

export function CreateUserForm({ locale }: { locale: Locale }) {
  const tr = translator(locale);
  const [state, action, pending] = useActionState<CreateUserState, FormData>(createUserAction, { status: 'idle' });
  const values = state.status === 'error' ? state.values : {};
  const fe = state.status === 'error' ? (state.fieldErrors ?? {}) : {};
  const field = (name: 'email' | 'name' | 'title', label: string, type = 'text') => (
    <div>
      <label htmlFor={`new-${name}`} className="field-label">
        {label}
      </label>
      <input
        id={`new-${name}`}
        name={name}
        type={type}
        className="input"
        defaultValue={values[name] ?? ''}
        aria-invalid={fe[name] ? true : undefined}
        aria-describedby={fe[name] ? `new-${name}-error` : undefined}
        required={name !== 'title'}
        autoComplete="off"
      />
      {fe[name] && (
        <p id={`new-${name}-error`} className="field-error">
          {fe[name]}
        </p>
      )}
    </div>
  );
  return (
    <form action={action} className="grid max-w-xl gap-3" aria-label={tr('admin.create.title')}>
      <p className="text-sm text-solid-gray-700">{tr('admin.create.intro')}</p>
      {field('email', tr('admin.create.email'), 'email')}
      {field('name', tr('admin.create.name'))}
      {field('title', tr('admin.create.jobTitle'))}
      <div>
        <label htmlFor="new-role" className="field-label">
          {tr('admin.create.role')}
        </label>
        <select id="new-role" name="role" className="input w-auto" defaultValue={values.role || 'staff'}>
          <option value="staff">{tr('admin.role.staff')}</option>
          <option value="admin">{tr('admin.role.admin')}</option>
        </select>
      </div>
      <div>
        <button type="submit" className="btn btn-primary" disabled={pending} aria-busy={pending}>
          {pending ? tr('admin.working') : tr('admin.create.submit')}
        </button>
      </div>
      {state.status === 'error' && (
        <p className="field-error" role="alert">
          {state.error}
        </p>
      )}
      {state.status === 'created' && (
        <div>
          <p role="status">{tr('admin.create.done', { email: state.email })}</p>
          <OneTimePassword label={tr('admin.password.initial')} password={state.initialPassword} />
        </div>
      )}
    </form>
  );
}

export function UserRowActions({
  locale,
  user,
  isSelf,
}: {
  locale: Locale;
  user: { id: string; email: string; role: 'staff' | 'admin'; disabled: boolean; mfaEnabled: boolean };
  isSelf: boolean;
}) {
  const tr = translator(locale);
  const [state, action, pending] = useActionState<UserActionState, FormData>(userAction, { status: 'idle' });
  const button = (op: string, label: string, danger = false) => (
    <button type="submit" name="op" value={op} className={`btn ${danger ? 'btn-danger' : 'btn-secondary'} text-sm`} disabled={pending}>
      {label}
    </button>
  );
  return (
    <form action={action} aria-label={`${user.email} ${tr('admin.col.actions')}`}>
      <input type="hidden" name="userId" value={user.id} />
      <input type="hidden" name="email" value={user.email} />
      <div className="flex flex-wrap gap-2">
        {user.role === 'admin' ? button('make_staff', tr('admin.makeStaff')) : button('make_admin', tr('admin.makeAdmin'))}
        {!isSelf && (user.disabled ? button('enable', tr('admin.enable')) : button('disable', tr('admin.disable'), true))}
        {!isSelf && button('reset_password', tr('admin.resetPassword'))}
        {!isSelf && user.mfaEnabled && button('reset_mfa', tr('admin.resetMfa'))}
      </div>
      {pending && <p aria-live="polite">{tr('admin.working')}</p>}
      {state.status === 'error' && (
        <p className="field-error" role="alert">
          {state.error}
        </p>
      )}
      {state.status === 'done' && state.password && (
        <OneTimePassword label={tr('admin.password.new', { email: state.email ?? user.email })} password={state.password} />
      )}
    </form>
  );
}

export function SettingsForm({
  locale,
  settings,
  currentIp,
}: {
  locale: Locale;
  settings: { showWareki: boolean; ipAllowlist: string[]; requireMfa: boolean };
  currentIp: string;
}) {
  const tr = translator(locale);
  const [state, action, pending] = useActionState<SettingsState, FormData>(settingsAction, { status: 'idle' });
  const showWareki = state.status === 'error' ? state.showWareki : settings.showWareki;
  const ipText = state.status === 'error' ? state.ipAllowlist : settings.ipAllowlist.join('\n');
  const requireMfa = state.status === 'error' ? state.requireMfa : settings.requireMfa;
  return (
    // key: after a save or an error the fields show the saved (or the refused) values again.
    <form action={action} className="grid max-w-xl gap-3" aria-label={tr('admin.settings.title')} key={`${showWareki}|${requireMfa}|${ipText}`}>
      <label className="flex items-center gap-2">
        <input type="checkbox" name="showWareki" defaultChecked={showWareki} /> {tr('admin.settings.wareki')}
      </label>
      <label className="flex items-center gap-2">
        <input type="checkbox" name="requireMfa" defaultChecked={requireMfa} /> {tr('admin.settings.requireMfa')}
      </label>
      <div>
        <label htmlFor="ip-allowlist" className="field-label">
          {tr('admin.settings.ipAllowlist')}
        </label>
        <textarea
          id="ip-allowlist"
          name="ipAllowlist"
          rows={5}
          className="input font-mono"
          defaultValue={ipText}
          aria-describedby="ip-allowlist-hint"
          aria-invalid={state.status === 'error' ? true : undefined}
        />
        <p id="ip-allowlist-hint" className="text-sm text-solid-gray-700">
          {tr('admin.settings.ipHint', { ip: currentIp })}
        </p>
      </div>
      <div>
        <button type="submit" className="btn btn-primary" disabled={pending} aria-busy={pending}>
          {pending ? tr('admin.working') : tr('admin.settings.save')}
        </button>
      </div>
      {state.status === 'error' && (
        <p className="field-error" role="alert">
          {state.error}
        </p>
      )}
      {state.status === 'saved' && <p role="status">{tr('admin.settings.saved')}</p>}
    </form>
  );
}
