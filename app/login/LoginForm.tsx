'use client';

import { useActionState } from 'react';
import { loginAction, type LoginState } from './actions';

export function LoginForm(props: {
  next: string;
  labels: { email: string; password: string; submit: string; required: string; mfaCode: string; mfaHelp: string; mfaSubmit: string };
}) {
  const [state, action, pending] = useActionState<LoginState, FormData>(loginAction, {});
  const fe = state.fieldErrors ?? {};
  return (
    <form action={action} className="space-y-4" noValidate>
      {state.error ? (
        <div role="alert" className="rounded-lg border-2 border-error-1 bg-red-50 p-3 text-error-2">
          <span aria-hidden="true">！</span>
          {state.error}
        </div>
      ) : null}
      <input type="hidden" name="next" value={props.next} />
      {state.mfaToken ? (
        <>
          <input type="hidden" name="mfaToken" value={state.mfaToken} />
          <input type="hidden" name="email" value={state.email ?? ''} />
          <div>
            <label htmlFor="code" className="field-label">
              {props.labels.mfaCode} <span className="text-sm font-normal">（{props.labels.required}）</span>
            </label>
            <p id="code-help" className="mb-1 text-sm">
              {props.labels.mfaHelp}
            </p>
            <input
              id="code"
              name="code"
              type="text"
              autoComplete="one-time-code"
              autoCapitalize="characters"
              maxLength={16}
              required
              autoFocus
              className="input"
              aria-invalid={fe.code ? true : undefined}
              aria-describedby={fe.code ? 'code-help code-error' : 'code-help'}
            />
            {fe.code ? (
              <p id="code-error" className="field-error">
                {fe.code}
              </p>
            ) : null}
          </div>
          <button type="submit" className="btn btn-primary w-full justify-center" disabled={pending}>
            {props.labels.mfaSubmit}
          </button>
        </>
      ) : (
        <>
          <div>
            <label htmlFor="email" className="field-label">
              {props.labels.email} <span className="text-sm font-normal">（{props.labels.required}）</span>
            </label>
            <input
              id="email"
              name="email"
              type="email"
              autoComplete="username"
              required
              defaultValue={state.email}
              className="input"
              aria-invalid={fe.email ? true : undefined}
              aria-describedby={fe.email ? 'email-error' : undefined}
            />
            {fe.email ? (
              <p id="email-error" className="field-error">
                {fe.email}
              </p>
            ) : null}
          </div>
          <div>
            <label htmlFor="password" className="field-label">
              {props.labels.password} <span className="text-sm font-normal">（{props.labels.required}）</span>
            </label>
            <input
              id="password"
              name="password"
              type="password"
              autoComplete="current-password"
              required
              className="input"
              aria-invalid={fe.password ? true : undefined}
              aria-describedby={fe.password ? 'password-error' : undefined}
            />
            {fe.password ? (
              <p id="password-error" className="field-error">
                {fe.password}
              </p>
            ) : null}
          </div>
          <button type="submit" className="btn btn-primary w-full justify-center" disabled={pending}>
            {props.labels.submit}
          </button>
        </>
      )}
    </form>
  );
}
