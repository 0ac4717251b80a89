/**
 * Master-key rotation end to end: with MASTER_KEY=<new> and MASTER_KEY_PREVIOUS=<old> everything
 * made under the old key still reads (blobs, MFA secrets, signer sessions, MFA sign-in tokens);
 * `rotateMasterKey` re-wraps every data key (sealed files included) without touching the stored
 * bytes, MFA secrets and the dev PKI's keys, in committed batches — an interrupted run resumes, two
 * runs at once do not collide, a re-run does nothing — and is audited; afterwards the old key is not
 * needed any more. `npm run key:rotate` runs the same.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../lib/audit';
import { decryptMfaSecret, encryptMfaSecret, signMfaPending, verifyMfaPending } from '../../lib/auth/mfa-crypto';
import { resetConfig } from '../../lib/config';
import { createSignerSession, readSignerSession } from '../../lib/envelopes';
import { masterKeyStatus, rotateMasterKey } from '../../lib/ops';
import { getDevPki, keyIdOf } from '../../lib/pki';
import { getStorageBackend, putBlob, readBlob, type StoredBlob } from '../../lib/storage';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { createOrgWithStaff, createSentEnvelope, useTempDataDir } from '../helpers/fixtures';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
let t: TestDatabase;
let data: Awaited<ReturnType<typeof useTempDataDir>>;
const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('base64');
const id1 = keyIdOf(Buffer.from(K1, 'base64'));
const id2 = keyIdOf(Buffer.from(K2, 'base64'));

function useKeys(current: string, previous?: string) {
  process.env.MASTER_KEY = current;
  if (previous) process.env.MASTER_KEY_PREVIOUS = previous;
  else delete process.env.MASTER_KEY_PREVIOUS;
  resetConfig();
}

beforeAll(async () => {
  data = await useTempDataDir();
  useKeys(K1);
  t = await createTestDatabase();
});
afterAll(async () => {
  delete process.env.MASTER_KEY_PREVIOUS;
  await t?.drop();
  await data?.cleanup();
});

async function storedBytesHash(key: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of await getStorageBackend().get(key)) h.update(c as Buffer);
  return h.digest('hex');
}

function pkiInfo(env: Record<string, string>) {
  return run('npx', ['tsx', 'scripts/pki-info.ts', '--json'], { cwd: root, env: { ...process.env, ...env } });
}

describe('master-key rotation', () => {
  it('reads with both keys during the rotation, re-wraps everything resumably, and is audited', async () => {
    const db = t.prisma;
    // --- made under the old key K1
    await getDevPki(); // dev PKI keys encrypted under K1
    const { org, user, actor } = await createOrgWithStaff(db);
    const env = await createSentEnvelope(db, actor, { documents: 2 });
    const blobs: StoredBlob[] = [];
    for (let i = 0; i < 5; i++) blobs.push(await putBlob(db, randomBytes(1000 + i * 70_000), { contentType: 'application/pdf' }));
    // a sealed file (completion certificate): its row is frozen except for the wrapped key
    const certBlob = await putBlob(db, randomBytes(3000), { contentType: 'application/pdf' });
    await db.completionCertificate.create({ data: { envelopeId: env.id, blobId: certBlob.id, sha256: certBlob.sha256, pageCount: 1 } });
    const all = await db.storedBlob.findMany();
    expect(all.length).toBeGreaterThanOrEqual(8);
    expect(new Set(all.map((b) => b.masterKeyId))).toEqual(new Set([id1]));
    const plain = new Map<string, Buffer>();
    const cipher = new Map<string, string>();
    for (const b of all) {
      plain.set(b.id, await readBlob(db, b.id));
      cipher.set(b.id, await storedBytesHash(b.storageKey));
    }
    const totp = randomBytes(20);
    await db.user.update({ where: { id: user.id }, data: { mfaSecret: await encryptMfaSecret(user.id, totp) } });
    const signerCookie = await createSignerSession({ r: randomUUID(), s: randomUUID(), f: ['access_code'] });
    const now = new Date();
    const pending = await signMfaPending({ id: user.id, passwordHash: user.passwordHash, mfaSecret: 'x', lastLoginAt: null }, now);

    // --- every node now runs with MASTER_KEY=K2, MASTER_KEY_PREVIOUS=K1: old values still read
    useKeys(K2, K1);
    for (const b of all) expect((await readBlob(db, b.id)).equals(plain.get(b.id)!)).toBe(true);
    expect((await decryptMfaSecret(user.id, (await db.user.findUniqueOrThrow({ where: { id: user.id } })).mfaSecret!)).equals(totp)).toBe(true);
    expect(await readSignerSession(signerCookie)).not.toBeNull();
    expect(await verifyMfaPending(pending.token, now)).not.toBeNull();
    const fresh = await putBlob(db, randomBytes(500), { contentType: 'application/pdf' });
    expect(fresh.masterKeyId).toBe(id2); // new files under the new key at once
    expect((await masterKeyStatus(db)).blobsByKeyId).toEqual({ [id1]: all.length, [id2]: 1 });

    // --- an interrupted run: one batch of 3, then stop
    const logs: string[] = [];
    const r1 = await rotateMasterKey(t.owner, { batchSize: 3, maxBatches: 1, log: (m) => logs.push(m) });
    expect(r1).toMatchObject({ toKeyId: id2, fromKeyIds: [id1], blobsRewrapped: 3, mfaSecretsRewrapped: 1, auditChainKeyRewrapped: true, devPkiKeysReencrypted: 3, complete: false });
    // the 操作ログ chain key is re-wrapped, not replaced: events hashed under K1's wrapping stay verifiable
    expect((await db.auditChainKey.findUniqueOrThrow({ where: { id: 1 } })).masterKeyId).toBe(id2);
    expect(r1.remaining).toBe(all.length - 3);
    // --- two runs at once finish it without colliding
    const [ra, rb] = await Promise.all([rotateMasterKey(t.owner, { batchSize: 2 }), rotateMasterKey(t.owner, { batchSize: 2 })]);
    expect(ra.blobsRewrapped + rb.blobsRewrapped).toBe(all.length - 3);
    expect([...ra.blobFailures, ...rb.blobFailures]).toEqual([]);
    expect(ra.complete || rb.complete).toBe(true); // whichever finished last saw nothing left
    expect((await masterKeyStatus(db)).blobsByKeyId).toEqual({ [id2]: all.length + 1 });
    // --- a re-run has nothing to do and records nothing
    const eventsBefore = await db.auditEvent.count({ where: { organizationId: org.id } });
    const r3 = await rotateMasterKey(t.owner);
    expect(r3).toMatchObject({ blobsRewrapped: 0, mfaSecretsRewrapped: 0, devPkiKeysReencrypted: 0, remaining: 0, complete: true });
    expect(await db.auditEvent.count({ where: { organizationId: org.id } })).toBe(eventsBefore);

    const after = await db.storedBlob.findMany();
    expect(new Set(after.map((b) => b.masterKeyId))).toEqual(new Set([id2]));
    for (const b of all) {
      const a = after.find((x) => x.id === b.id)!;
      expect(a.wrappedKey).not.toBe(b.wrappedKey);
      expect([a.storageKey, a.sha256, a.sizeBytes]).toEqual([b.storageKey, b.sha256, b.sizeBytes]);
      expect(await storedBytesHash(b.storageKey)).toBe(cipher.get(b.id)); // files not re-encrypted
    }

    // --- the old key is no longer needed
    useKeys(K2);
    for (const b of all) expect((await readBlob(db, b.id)).equals(plain.get(b.id)!)).toBe(true);
    expect((await decryptMfaSecret(user.id, (await db.user.findUniqueOrThrow({ where: { id: user.id } })).mfaSecret!)).equals(totp)).toBe(true);
    expect(await readSignerSession(signerCookie)).toBeNull(); // short-lived: only valid while K1 is configured
    await pkiInfo({ MASTER_KEY: K2 }); // the dev PKI opens with the new key alone
    await expect(pkiInfo({ MASTER_KEY: K1 })).rejects.toThrow(/復号できません/);

    // --- audited in the organisation's 操作ログ, chain intact
    const events = await db.auditEvent.findMany({ where: { organizationId: org.id, action: { startsWith: 'master_key.' } }, orderBy: { id: 'asc' } });
    // one start per run that found work (the interrupted one and the two parallel ones), then the end
    expect(events.filter((e) => e.action === 'master_key.rotation_started').length).toBe(3);
    expect(events.at(-1)!.action).toBe('master_key.rotated');
    expect(events.every((e) => e.actorType === 'system')).toBe(true);
    expect(events.at(-1)!.details).toMatchObject({ toKeyId: id2, fromKeyIds: [id1] });
    expect(await verifyAuditChain(db, org.id)).toBeNull();
  });

  it('reports blobs wrapped by a key that is not configured, and is not complete', async () => {
    const db = t.prisma;
    const K3 = randomBytes(32).toString('base64');
    useKeys(K3); // K2 forgotten: its blobs cannot be re-wrapped
    const logs: string[] = [];
    const r = await rotateMasterKey(db, { log: (m) => logs.push(m) });
    expect(r.complete).toBe(false);
    expect(r.blobFailures.length).toBeGreaterThan(0);
    expect(r.blobFailures[0].reason).toMatch(new RegExp(`master key ${id2}.*not configured`));
    expect(logs.join('\n')).toContain(`wrapped by master key ${id2}, which is not configured — add it to MASTER_KEY_PREVIOUS`);
    expect(r.remaining).toBe(r.blobFailures.length);
    // with K2 as the previous key the CLI completes it
    const out = await run('npx', ['tsx', 'scripts/rotate-master-key.ts', '--batch', '4'], {
      cwd: root,
      // as an operator runs it: the owner's connection (the app role may not re-wrap the 操作ログ chain key)
      env: { ...process.env, DATABASE_URL: t.url, MIGRATION_DATABASE_URL: t.ownerUrl, MASTER_KEY: K3, MASTER_KEY_PREVIOUS: `${K1},${K2}` },
    });
    expect(out.stdout).toContain('rotation complete');
    const status = await run('npx', ['tsx', 'scripts/rotate-master-key.ts', '--status'], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: t.url, MASTER_KEY: K3 },
    });
    expect(status.stdout).toMatch(new RegExp(`${keyIdOf(Buffer.from(K3, 'base64'))}: \\d+ blobs \\(current\\)`));
    expect(status.stdout).not.toContain(id2);
  });
});
