/**
 * `npm run archive:renew [-- --days N] [-- --limit N]`: re-timestamp the sealed files whose newest
 * document timestamp's TSA certificate expires within N days (default ARCHIVE_RENEW_BEFORE_DAYS).
 * The worker runs the same task daily; this is for operators (e.g. after switching TSA_URL).
 */
import { parseArgs } from 'node:util';
import { disconnectPrisma, getPrisma } from '../lib/db';
import { renewArchiveTimestamps } from '../lib/envelopes';

async function main() {
  const { values } = parseArgs({ options: { days: { type: 'string' }, limit: { type: 'string' } } });
  const num = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  const r = await renewArchiveTimestamps(getPrisma(), {
    renewBeforeDays: num(values.days, 'days'),
    limit: num(values.limit, 'limit'),
    log: (m) => console.log(m),
  });
  for (const f of r.renewed) console.log(`renewed ${f.envelopeId} ${f.file}: ${f.previousSha256} -> ${f.sha256} (TSA cert until ${f.tsaNotAfter.toISOString()})`);
  console.log(`checked ${r.checked}, due ${r.due}, renewed ${r.renewed.length}, not extendable ${r.notExtended}, failed ${r.failed}`);
  await disconnectPrisma();
  if (r.failed) process.exit(1);
}

main().catch((e) => {
  console.error('[archive:renew] failed:', e instanceof Error ? e.message : e);
  process.exit(1);
});
