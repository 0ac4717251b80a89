'use client';

import { useActionState } from 'react';
import { voidAction, type VoidState } from '../actions';

export function VoidForm({ envelopeId }: { envelopeId: string }) {
  const [state, action, pending] = useActionState<VoidState, FormData>(voidAction, {});
  const err = state.fieldError;
  return (
    <details className="rounded-lg border border-solid-gray-300 p-3">
      <summary className="cursor-pointer font-bold text-error-2">この封筒を取り消す</summary>
      <form action={action} className="mt-3 space-y-2">
        <input type="hidden" name="envelopeId" value={envelopeId} />
        {state.error && !err ? (
          <p role="alert" className="field-error">
            {state.error}
          </p>
        ) : null}
        <label htmlFor="void-reason" className="field-label">
          取消の理由<span className="ml-1 text-sm font-normal">（必須・相手方に通知されます）</span>
        </label>
        <textarea
          id="void-reason"
          name="reason"
          required
          className="input min-h-20"
          aria-invalid={err ? true : undefined}
          aria-describedby={err ? 'void-reason-error' : undefined}
        />
        {err ? (
          <p id="void-reason-error" className="field-error">
            {err}
          </p>
        ) : null}
        <button type="submit" className="btn btn-danger" disabled={pending}>
          取り消す
        </button>
      </form>
    </details>
  );
}
