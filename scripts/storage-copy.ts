/**
 * `npm run storage:copy [-- --from DIR] [-- --quick] [-- --concurrency N]`: copy every blob of the
 * database (DATABASE_URL, or the embedded one of `npm run dev`) from the local store (DATA_DIR/storage, or --from) to the S3 bucket of the
 * S3_* settings, and verify each copy by decrypting it from the bucket (size + SHA-256 against
 * stored_blobs). Safe to interrupt and run again: objects already in the bucket are verified (with
 * --quick: trusted when their size is right) and only missing or damaged ones are copied.
 * Run it before switching STORAGE_BACKEND=s3, and once more after the switch with the app stopped
 * (or right after) to pick up files stored in between. Exit code 1 when any blob failed.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { getConfig } from '../lib/config';
import { createPrisma } from '../lib/db';
import { openCommandDatabase } from '../lib/devserver';
import { copyStore } from '../lib/ops';
import { FileSystemBackend, getStorageBackend } from '../lib/storage';

async function main() {
  const { values } = parseArgs({
    options: { from: { type: 'string' }, quick: { type: 'boolean' }, concurrency: { type: 'string' } },
  });
  const concurrency = values.concurrency === undefined ? 4 : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new Error('--concurrency must be 1–64');
  const from = new FileSystemBackend(values.from ? path.resolve(values.from) : getConfig().storageDir);
  const to = getStorageBackend('s3');
  await to.probe();
  const conn = await openCommandDatabase((m) => console.log(m));
  const db = createPrisma(conn.url);
  try {
    console.log(`copying ${from.location} -> ${to.location}`);
    const r = await copyStore(db, { from, to, quick: values.quick, concurrency, log: (m) => console.log(m) });
    for (const f of r.failed) console.error(`FAILED ${f.blobId} ${f.storageKey}: ${f.reason}`);
    console.log(`${r.total} blobs: ${r.copied} copied, ${r.alreadyPresent} already there, ${r.verified} verified, ${r.failed.length} failed`);
    if (r.failed.length) process.exitCode = 1;
  } finally {
    await db.$disconnect();
    await conn.stop();
  }
}

main().catch((e: unknown) => {
  console.error('[storage:copy] failed:', e instanceof Error ? e.message : e);
  process.exit(1);
});
