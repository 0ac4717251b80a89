/** /download/[token] — the sealed documents and the 合意締結証明書, for 14 days after completion. */
import type { Metadata } from 'next';
import { PublicShell } from '@/app/_components/PublicShell';
import { getLocale, getRequestContext, getTranslator } from '@/app/_lib/server';
import { getConfig } from '@/lib/config';
import { getPrisma } from '@/lib/db';
import { openDownloadPage } from '@/lib/envelopes';
import { formatDateTimeWithWareki } from '@/lib/format';

export async function generateMetadata(): Promise<Metadata> {
  const tr = await getTranslator();
  // same-origin, not no-referrer: the token never leaves this origin either way, but with no-referrer a
  // form POST (the 「English」 switch → /lang) carries `Origin: null`, is refused as cross-site, and
  // could not return to this page.
  return { title: tr('download.title'), referrer: 'same-origin' };
}
export const dynamic = 'force-dynamic';

function size(n: bigint): string {
  const v = Number(n);
  if (v >= 1024 * 1024) return `${(v / 1024 / 1024).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(v / 1024))} KB`;
}

export default async function DownloadPage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  const r = await openDownloadPage(getPrisma(), token, await getRequestContext());
  const locale = await getLocale();
  const tr = await getTranslator();
  if (!r.ok) {
    return (
      <PublicShell>
        <section aria-labelledby="problem-title" className="mx-auto max-w-xl py-8" data-testid="download-problem" data-problem={r.problem}>
          <h1 id="problem-title" className="mb-4 text-2xl font-bold">
            {tr(`downloadProblem.${r.problem}.title`)}
          </h1>
          <p>{tr(`downloadProblem.${r.problem}.body`)}</p>
        </section>
      </PublicShell>
    );
  }
  const { envelope, files, link } = r.access;
  const base = `/api/download/${token}`;
  const wareki = envelope.organization.showWareki;
  return (
    <PublicShell organizationName={envelope.organization.name}>
      <section aria-labelledby="dl-title">
        <p className="text-sm text-solid-gray-700">{tr('download.title')}</p>
        <h1 id="dl-title" className="mb-2 text-2xl font-bold" data-testid="envelope-title">
          {envelope.title}
        </h1>
        <dl className="mb-4 grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
          <dt className="text-solid-gray-700">{tr('download.documentNumber')}</dt>
          <dd>{envelope.documentNumber}</dd>
          <dt className="text-solid-gray-700">{tr('download.sender')}</dt>
          <dd>{envelope.organization.name}</dd>
          <dt className="text-solid-gray-700">{tr('download.completedAt')}</dt>
          <dd>{formatDateTimeWithWareki(envelope.completedAt, wareki, locale)}</dd>
          <dt className="text-solid-gray-700">{tr('download.expiresAt')}</dt>
          <dd data-testid="expires-at">{tr('download.until', { at: formatDateTimeWithWareki(link.expiresAt, wareki, locale) })}</dd>
        </dl>
        <p className="mb-4 text-sm" data-testid="download-period">
          {tr('download.period', { days: getConfig().DOWNLOAD_LINK_DAYS })}
        </p>
        <p className="mb-4">
          <a className="btn btn-primary no-underline" href={`${base}/zip`} data-testid="download-zip" download>
            {tr('download.zip')}
          </a>
        </p>
        <ul className="divide-y divide-solid-gray-200 rounded-lg border border-solid-gray-300" data-testid="download-files">
          {files.map((f) => (
            <li key={f.id} className="flex flex-wrap items-center justify-between gap-2 p-3">
              <div>
                <p className="font-bold">
                  {f.kind === 'certificate' ? tr('download.certificate') : f.fileName}
                  {f.kind === 'certificate' ? <span className="ml-2 text-sm font-normal text-solid-gray-700">{f.fileName}</span> : null}
                </p>
                <p className="text-xs text-solid-gray-700">
                  {tr('download.fileMeta', { pages: f.pageCount, size: size(f.sizeBytes) })} <span className="break-all font-mono">{f.sha256}</span>
                </p>
              </div>
              <a className="btn btn-secondary no-underline" href={`${base}/files/${f.id}`} data-file-id={f.id} data-testid="download-file" download>
                {tr('download.file')}
              </a>
            </li>
          ))}
        </ul>
        <p className="mt-4 text-sm text-solid-gray-700">
          {tr('download.note')}
        </p>
      </section>
    </PublicShell>
  );
}
