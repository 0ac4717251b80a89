/**
 * `npm run backup -- <dir> [--reference] [--no-verify]`: a consistent backup of the database
 * (DATABASE_URL, or the embedded one of `npm run dev`) and of the encrypted files into <dir>, which
 * must be empty or not exist. See lib/ops/backup.ts and docs/operations.md. The master key is NOT
 * in the backup: keep it (and any earlier key the backup names) safe separately.
 */
import { parseArgs } from 'node:util';
import { openCommandDatabase } from '../lib/devserver';
import { backup, directorySize } from '../lib/ops';

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { reference: { type: 'boolean' }, 'no-verify': { type: 'boolean' } },
  });
  if (positionals.length !== 1) throw new Error('usage: npm run backup -- <dir> [--reference] [--no-verify]');
  const db = await openCommandDatabase((m) => console.log(m));
  try {
    const r = await backup({
      databaseUrl: db.url,
      dir: positionals[0],
      blobs: values.reference ? 'reference' : 'copy',
      verify: !values['no-verify'],
      log: (m) => console.log(m),
    });
    const m = r.manifest;
    console.log(
      `backup written to ${r.dir}: ${m.tables.length} tables, ${m.tables.reduce((n, t) => n + t.rows, 0)} rows, ` +
        `${m.blobs.count} files (${m.blobs.mode}), ${await directorySize(r.dir)} bytes; master key ids needed: ${m.masterKeyIds.join(', ') || '-'}`,
    );
  } finally {
    await db.stop();
  }
}

main().catch((e: unknown) => {
  console.error('[backup] failed:', e instanceof Error ? e.message : e);
  process.exit(1);
});
