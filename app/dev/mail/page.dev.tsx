import Link from 'next/link';
import { getConfig } from '@/lib/config';
import { listCaughtMail, mailDir } from '@/lib/devserver';
import { formatDateTime } from '@/lib/format';
import { getLocale, getTranslator } from '../../_lib/server';
import { requireDevMailbox } from './guard';

export const dynamic = 'force-dynamic';
export const metadata = { title: '開発用メール受信箱' };

export default async function DevMailInbox() {
  await requireDevMailbox();
  const tr = await getTranslator();
  const locale = await getLocale();
  const mails = await listCaughtMail(mailDir(getConfig().dataDir));
  return (
    <>
      <h1 className="mb-2 text-2xl font-bold">{tr('mail.title')}</h1>
      <p className="mb-4 text-sm">
        開発用のメールキャッチャー（SMTP {getConfig().MAIL_CATCHER_PORT}番）が受け取ったメールです。実際には送信されていません。
      </p>
      {mails.length === 0 ? (
        <p>{tr('mail.empty')}</p>
      ) : (
        <table className="table-dense">
          <thead>
            <tr>
              <th scope="col">{tr('mail.date')}</th>
              <th scope="col">{tr('mail.to')}</th>
              <th scope="col">{tr('mail.subject')}</th>
            </tr>
          </thead>
          <tbody>
            {mails.map((m) => (
              <tr key={m.id}>
                <td className="whitespace-nowrap">{formatDateTime(m.date, locale)}</td>
                <td>{m.to}</td>
                <td>
                  <Link href={`/dev/mail/${m.id}`}>{m.subject || '（件名なし）'}</Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
