/**
 * `npm run restore -- <dir>`: restore a backup made by `npm run backup` into an EMPTY database
 * (DATABASE_URL, or the embedded one of `npm run dev`) and an EMPTY store (STORAGE_BACKEND), then
 * verify every file, document hash, sealed file and 操作ログ chain. Needs the master key(s) the
 * backup names (MASTER_KEY / MASTER_KEY_PREVIOUS). Run as the database owner or a superuser.
 * Exit code 1 when anything does not verify.
 */
import { parseArgs } from 'node:util';
import { openCommandDatabase } from '../lib/devserver';
import { restore } from '../lib/ops';

async function main() {
  const { positionals } = parseArgs({ allowPositionals: true, options: {} });
  if (positionals.length !== 1) throw new Error('usage: npm run restore -- <dir>');
  const db = await openCommandDatabase((m) => console.log(m));
  try {
    const r = await restore({ databaseUrl: db.url, dir: positionals[0], log: (m) => console.log(m) });
    for (const p of r.problems) console.error(`PROBLEM ${p}`);
    console.log(
      `restored ${r.tables} tables, ${r.rows} rows, ${r.blobs} files, ${r.organizations} organisations: ` +
        (r.problems.length ? `${r.problems.length} problems` : 'everything verified'),
    );
    if (r.problems.length) process.exitCode = 1;
  } finally {
    await db.stop();
  }
}

main().catch((e: unknown) => {
  console.error('[restore] failed:', e instanceof Error ? e.message : e);
  process.exit(1);
});
