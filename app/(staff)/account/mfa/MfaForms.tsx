'use client';

import { useActionState } from 'react';
import { disableMfaAction, enableMfaAction, regenerateRecoveryCodesAction, type MfaFormState } from './actions';

export interface RecoveryLabels {
  /** Shown first (e.g. "two-factor authentication is now on"). */
  done?: string;
  title: string;
  help: string;
  continue: string;
}

/** The new recovery codes, shown once (after enrolling or regenerating). */
function RecoveryCodes(props: { codes: string[]; labels: RecoveryLabels; continueHref: string }) {
  return (
    <section role="status" className="space-y-3 rounded-lg border border-solid-gray-300 bg-solid-gray-50 p-3">
      {props.labels.done ? <p className="font-bold">{props.labels.done}</p> : null}
      <h2 className="text-lg font-bold">{props.labels.title}</h2>
      <p>{props.labels.help}</p>
      <ul data-testid="mfa-recovery-codes" className="grid grid-cols-2 gap-1 font-mono text-lg">
        {props.codes.map((c) => (
          <li key={c}>{c}</li>
        ))}
      </ul>
      <a href={props.continueHref} className="btn btn-primary inline-block">
        {props.labels.continue}
      </a>
    </section>
  );
}

function CodeForm(props: {
  action: (prev: MfaFormState, form: FormData) => Promise<MfaFormState>;
  hidden?: Record<string, string>;
  labels: { code: string; submit: string; required: string };
  danger?: boolean;
  recovery?: { labels: RecoveryLabels; continueHref: string };
  /** Input id (two code forms on one page need different ids). */
  id?: string;
}) {
  const fid = props.id ?? 'code';
  const [state, action, pending] = useActionState<MfaFormState, FormData>(props.action, {});
  const err = state.fieldErrors?.code ?? state.error;
  if (state.recoveryCodes && props.recovery) {
    return <RecoveryCodes codes={state.recoveryCodes} {...props.recovery} />;
  }
  return (
    <form action={action} className="space-y-3" noValidate>
      {Object.entries(props.hidden ?? {}).map(([k, v]) => (
        <input key={k} type="hidden" name={k} value={v} />
      ))}
      <div>
        <label htmlFor={fid} className="field-label">
          {props.labels.code} <span className="text-sm font-normal">（{props.labels.required}）</span>
        </label>
        <input
          id={fid}
          name="code"
          type="text"
          inputMode="numeric"
          autoComplete="one-time-code"
          maxLength={6}
          required
          className="input max-w-xs"
          aria-invalid={err ? true : undefined}
          aria-describedby={err ? `${fid}-error` : undefined}
        />
        {err ? (
          <p id={`${fid}-error`} role="alert" className="field-error">
            {err}
          </p>
        ) : null}
      </div>
      <button type="submit" className={props.danger ? 'btn btn-danger' : 'btn btn-primary'} disabled={pending}>
        {props.labels.submit}
      </button>
    </form>
  );
}

export function EnableMfaForm(props: {
  enrolToken: string;
  labels: { code: string; submit: string; required: string };
  recoveryLabels: RecoveryLabels;
}) {
  return (
    <CodeForm
      action={enableMfaAction}
      hidden={{ enrolToken: props.enrolToken }}
      labels={props.labels}
      recovery={{ labels: props.recoveryLabels, continueHref: '/account/mfa?done=enabled' }}
    />
  );
}

export function RegenerateRecoveryCodesForm(props: { labels: { code: string; submit: string; required: string }; recoveryLabels: RecoveryLabels }) {
  return (
    <CodeForm
      action={regenerateRecoveryCodesAction}
      labels={props.labels}
      id="regenerate-code"
      recovery={{ labels: props.recoveryLabels, continueHref: '/account/mfa' }}
    />
  );
}

export function DisableMfaForm(props: { labels: { code: string; submit: string; required: string } }) {
  return <CodeForm action={disableMfaAction} labels={props.labels} danger />;
}
