'use client';

/** Unexpected errors: a calm Japanese message, never a stack trace. */
export default function GlobalError({ reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <main id="main" className="mx-auto max-w-3xl px-4 py-10">
      <h1 className="mb-4 text-2xl font-bold">エラーが発生しました</h1>
      <p className="mb-4">時間をおいて再度お試しください。問題が続く場合は管理者にお問い合わせください。</p>
      <button type="button" className="btn btn-secondary" onClick={() => reset()}>
        もう一度試す
      </button>
    </main>
  );
}
