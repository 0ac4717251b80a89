import Link from 'next/link';
import { notFound } from 'next/navigation';
import type { ReactNode } from 'react';
import { getConfig } from '@/lib/config';
import { getCaughtMail, mailDir } from '@/lib/devserver';
import { formatDateTime } from '@/lib/format';
import { getLocale, getTranslator } from '../../../_lib/server';
import { requireDevMailbox } from '../guard';

export const dynamic = 'force-dynamic';

/** Text with http(s) URLs turned into links (so a person can click the signing link). */
function Linkified({ text }: { text: string }) {
  const parts: ReactNode[] = [];
  const re = /https?:\/\/[^\s<>"）」]+/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    parts.push(text.slice(last, m.index));
    parts.push(
      <a key={m.index} href={m[0]}>
        {m[0]}
      </a>,
    );
    last = m.index + m[0].length;
  }
  parts.push(text.slice(last));
  return <pre className="whitespace-pre-wrap break-all rounded-lg border border-solid-gray-200 bg-solid-gray-50 p-3 font-sans">{parts}</pre>;
}

export default async function DevMailMessage({ params }: { params: Promise<{ id: string }> }) {
  await requireDevMailbox();
  const { id } = await params;
  const tr = await getTranslator();
  const locale = await getLocale();
  const mail = await getCaughtMail(mailDir(getConfig().dataDir), id);
  if (!mail) notFound();
  // Links in the HTML part open in the whole window (base target=_top); scripts stay disabled.
  const srcDoc = mail.html ? `<base target="_top">${mail.html}` : null;
  return (
    <>
      <p className="mb-4">
        <Link href="/dev/mail">← {tr('mail.back')}</Link>
      </p>
      <h1 className="mb-2 text-xl font-bold">{mail.subject}</h1>
      <dl className="mb-4 grid grid-cols-[auto_1fr] gap-x-4 text-sm">
        <dt className="font-bold">{tr('mail.from')}</dt>
        <dd>{mail.from}</dd>
        <dt className="font-bold">{tr('mail.to')}</dt>
        <dd>{mail.to}</dd>
        <dt className="font-bold">{tr('mail.date')}</dt>
        <dd>{formatDateTime(mail.date, locale)}</dd>
      </dl>
      <h2 className="mb-2 font-bold">テキスト版</h2>
      <Linkified text={mail.text} />
      {srcDoc ? (
        <>
          <h2 className="mb-2 mt-6 font-bold">HTML版</h2>
          <iframe
            title="HTML版のメール本文"
            srcDoc={srcDoc}
            sandbox="allow-top-navigation-by-user-activation allow-popups"
            className="h-[600px] w-full rounded-lg border border-solid-gray-200"
          />
        </>
      ) : null}
    </>
  );
}
