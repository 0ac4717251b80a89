/**
 * `npm run key:rotate [-- --status] [-- --batch N]`: re-wrap every data key (stored_blobs), MFA secret
 * and dev PKI key under the current MASTER_KEY, reading the old ones with MASTER_KEY_PREVIOUS.
 * Files are not re-encrypted. Committed in batches: safe to interrupt and run again (also on several
 * machines at once). `--status` only shows how many blobs each master key id wraps.
 *
 *   1. Every node (web, worker): MASTER_KEY=<new>, MASTER_KEY_PREVIOUS=<old>; restart them.
 *   2. npm run key:rotate            (until it says the rotation is complete)
 *   3. Remove MASTER_KEY_PREVIOUS everywhere (keep the old key with the backups made before step 2).
 */
import { parseArgs } from 'node:util';
import { createPrisma } from '../lib/db';
import { openCommandDatabase } from '../lib/devserver';
import { masterKeyStatus, rotateMasterKey } from '../lib/ops';

async function main() {
  const { values } = parseArgs({ options: { status: { type: 'boolean' }, batch: { type: 'string' } } });
  const batchSize = values.batch === undefined ? 200 : Number(values.batch);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new Error('--batch must be 1–10000');
  const conn = await openCommandDatabase((m) => console.log(m));
  const db = createPrisma(conn.url);
  try {
    if (values.status) {
      const s = await masterKeyStatus(db);
      console.log(`current master key ${s.currentKeyId}; MASTER_KEY_PREVIOUS: ${s.previousKeyIds.join(', ') || '(none)'}`);
      for (const [id, n] of Object.entries(s.blobsByKeyId)) console.log(`  ${id}: ${n} blobs${id === s.currentKeyId ? ' (current)' : ''}`);
      return;
    }
    const r = await rotateMasterKey(db, { batchSize, log: (m) => console.log(m) });
    for (const f of [...r.blobFailures, ...r.mfaFailures, ...r.devPkiFailures]) console.error(`FAILED ${f.id}: ${f.reason}`);
    console.log(
      `master key ${r.toKeyId}: ${r.blobsRewrapped} data keys re-wrapped, ${r.mfaSecretsRewrapped} MFA secrets, ` +
        `${r.devPkiKeysReencrypted} dev PKI keys; ${r.remaining} blobs still under an earlier key`,
    );
    console.log(r.complete ? 'rotation complete: MASTER_KEY_PREVIOUS can be removed once signer sessions made before it expired' : 'rotation NOT complete: fix the failures and run again');
    if (!r.complete) process.exitCode = 1;
  } finally {
    await db.$disconnect();
    await conn.stop();
  }
}

main().catch((e: unknown) => {
  console.error('[key:rotate] failed:', e instanceof Error ? e.message : e);
  process.exit(1);
});
