import Link from 'next/link';

export default function NotFound() {
  return (
    <main id="main" className="mx-auto max-w-3xl px-4 py-10">
      <h1 className="mb-4 text-2xl font-bold">ページが見つかりません。</h1>
      <p className="mb-4">URLが正しいか、またはアクセスする権限があるかをご確認ください。</p>
      <Link href="/">トップへ戻る</Link>
    </main>
  );
}
