import type { Metadata } from 'next';
import { VerifyForm } from './VerifyForm';

export const metadata: Metadata = { title: '電子署名の検証' };

export default function VerifyPage() {
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-bold">電子署名の検証</h1>
      <p>
        立会サインで封緘されたPDF（またはPAdES形式で署名されたPDF）を選ぶと、署名・タイムスタンプが有効か、署名後に改ざんされていないかを確認します。
        アップロードされたファイルは検証のためだけに使い、保存しません。
      </p>
      <VerifyForm />
    </div>
  );
}
