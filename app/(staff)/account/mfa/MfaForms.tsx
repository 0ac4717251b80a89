'use client';

import { useActionState } from 'react';
import { disableMfaAction, enableMfaAction, type MfaFormState } from './actions';

function CodeForm(props: {
  action: (prev: MfaFormState, form: FormData) => Promise<MfaFormState>;
  hidden?: Record<string, string>;
  labels: { code: string; submit: string; required: string };
  danger?: boolean;
}) {
  const [state, action, pending] = useActionState<MfaFormState, FormData>(props.action, {});
  const err = state.fieldErrors?.code ?? state.error;
  return (
    <form action={action} className="space-y-3" noValidate>
      {Object.entries(props.hidden ?? {}).map(([k, v]) => (
        <input key={k} type="hidden" name={k} value={v} />
      ))}
      <div>
        <label htmlFor="code" className="field-label">
          {props.labels.code} <span className="text-sm font-normal">（{props.labels.required}）</span>
        </label>
        <input
          id="code"
          name="code"
          type="text"
          inputMode="numeric"
          autoComplete="one-time-code"
          maxLength={6}
          required
          className="input max-w-xs"
          aria-invalid={err ? true : undefined}
          aria-describedby={err ? 'code-error' : undefined}
        />
        {err ? (
          <p id="code-error" role="alert" className="field-error">
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

export function EnableMfaForm(props: { enrolToken: string; labels: { code: string; submit: string; required: string } }) {
  return <CodeForm action={enableMfaAction} hidden={{ enrolToken: props.enrolToken }} labels={props.labels} />;
}

export function DisableMfaForm(props: { labels: { code: string; submit: string; required: string } }) {
  return <CodeForm action={disableMfaAction} labels={props.labels} danger />;
}
