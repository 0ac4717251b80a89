/**
 * Master-key rotation (`npm run key:rotate`): everything stored under the master key moves to the
 * current MASTER_KEY while MASTER_KEY_PREVIOUS still lets every node read what is not moved yet.
 *
 * What it covers:
 * - stored_blobs.wrapped_key: each per-blob data key is unwrapped with the key its row names
 *   (master_key_id) and wrapped again under the current key. Files are NOT re-encrypted: their bytes
 *   in the store never change. Batches of rows locked `FOR UPDATE SKIP LOCKED`, each committed, so an
 *   interrupted run loses nothing, a second run continues, and two runs at once do not collide; the
 *   master_key_id column is the progress marker.
 * - audit_chain_keys: the 操作ログ chain's HMAC key is re-wrapped (the key itself never changes, so
 *   events hashed before the rotation stay verifiable); needs the owner's connection (the application
 *   role may not UPDATE that table).
 * - users.mfa_secret (AES-GCM under an HKDF subkey of the master key): decrypted with whichever key
 *   opens it and re-encrypted under the current key.
 * - the dev PKI's private keys (KEY_PROVIDER=dev; PKCS#8 files under a passphrase derived from the
 *   master key): re-encrypted in place (temp file + rename).
 * What it cannot cover (see docs/operations.md): short-lived values keyed by HKDF subkeys (signer
 * sessions, MFA sign-in and enrolment tokens) are only accepted while the earlier key stays in
 * MASTER_KEY_PREVIOUS — they expire within minutes/hours; backups and database copies made before the
 * rotation still hold data keys wrapped by the earlier key; and since files are not re-encrypted, a
 * leaked data key (as opposed to a leaked master key) is not made harmless by a rotation.
 *
 * Audited: `master_key.rotation_started` when a run finds work, `master_key.rotated` when nothing is
 * left under an earlier key, as system events in every organisation's 操作ログ.
 */
import { createPrivateKey } from 'node:crypto';
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { recordAuditNow, rewrapAuditChainKey } from '../audit';
import { rewrapMfaSecret } from '../auth';
import type { Db } from '../db';
import { deriveKeyCandidates, devPkiDir, masterKeyId, previousMasterKeys } from '../pki';
import { rewrapBlobKey } from '../storage';

export interface RotationOptions {
  /** Rows per committed batch (default 200). */
  batchSize?: number;
  log?: (msg: string) => void;
  /** Stop after this many blob batches (tests: simulate an interrupted run). */
  maxBatches?: number;
}

export interface RotationFailure {
  id: string;
  reason: string;
}

export interface RotationResult {
  toKeyId: string;
  fromKeyIds: string[];
  blobsRewrapped: number;
  blobFailures: RotationFailure[];
  mfaSecretsRewrapped: number;
  mfaFailures: RotationFailure[];
  /** The 操作ログ chain key was re-wrapped by this run. */
  auditChainKeyRewrapped: boolean;
  auditChainKeyFailure?: string;
  devPkiKeysReencrypted: number;
  devPkiFailures: RotationFailure[];
  /** stored_blobs rows still wrapped by another key after this run. */
  remaining: number;
  /** True when this run finished the rotation (nothing left, no failures). */
  complete: boolean;
}

export interface MasterKeyStatus {
  currentKeyId: string;
  previousKeyIds: string[];
  /** stored_blobs rows per wrapping key id. */
  blobsByKeyId: Record<string, number>;
}

const ACTOR_LABEL = 'システム（マスター鍵の更新）';

function reasonOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export async function masterKeyStatus(db: Db): Promise<MasterKeyStatus> {
  const rows = await db.storedBlob.groupBy({ by: ['masterKeyId'], _count: { _all: true } });
  return {
    currentKeyId: await masterKeyId(),
    previousKeyIds: [...previousMasterKeys().keys()],
    blobsByKeyId: Object.fromEntries(rows.map((r) => [r.masterKeyId, r._count._all])),
  };
}

async function auditAll(db: Db, action: 'started' | 'rotated', details: Record<string, unknown>): Promise<void> {
  const orgs = await db.organization.findMany({ select: { id: true } });
  for (const o of orgs) {
    if (action === 'started') {
      await recordAuditNow(db, { organizationId: o.id, actorType: 'system', actorLabel: ACTOR_LABEL, action: 'master_key.rotation_started', details });
    } else {
      await recordAuditNow(db, { organizationId: o.id, actorType: 'system', actorLabel: ACTOR_LABEL, action: 'master_key.rotated', details });
    }
  }
}

/** Re-encrypt the dev PKI's private key files under the current master key's passphrase. */
async function rotateDevPkiKeys(log: (m: string) => void): Promise<{ done: number; failures: RotationFailure[] }> {
  const dir = devPkiDir();
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.key')).sort();
  } catch {
    return { done: 0, failures: [] };
  }
  // The dev provider's passphrase: hex of the 'pki-private-key-encryption' subkey (lib/pki/dev.ts).
  const [current, ...previous] = (await deriveKeyCandidates('pki-private-key-encryption')).map((k) => k.toString('hex'));
  const opens = (pem: string, passphrase: string) => {
    try {
      return createPrivateKey({ key: pem, format: 'pem', passphrase });
    } catch {
      return null;
    }
  };
  let done = 0;
  const failures: RotationFailure[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    const pem = await readFile(file, 'utf8');
    if (opens(pem, current)) continue;
    const key = previous.map((p) => opens(pem, p)).find((k) => k !== null);
    if (!key) {
      failures.push({ id: file, reason: 'opens with none of the configured master keys' });
      continue;
    }
    const tmp = `${file}.${process.pid}.rotate.tmp`;
    await writeFile(tmp, key.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: current }) as string, { mode: 0o600 });
    try {
      await rename(tmp, file);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    log(`dev PKI: ${name} re-encrypted`);
    done++;
  }
  return { done, failures };
}

async function rotateMfaSecrets(db: Db, batchSize: number): Promise<{ done: number; failures: RotationFailure[] }> {
  let done = 0;
  const failures: RotationFailure[] = [];
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const ids = await db.user.findMany({
      where: { mfaSecret: { not: null }, id: { gt: after } },
      orderBy: { id: 'asc' },
      take: batchSize,
      select: { id: true },
    });
    if (ids.length === 0) break;
    after = ids[ids.length - 1].id;
    await db.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<{ id: string; mfaSecret: string | null }[]>`
        SELECT "id", "mfa_secret" AS "mfaSecret" FROM "users"
        WHERE "id" = ANY(${ids.map((i) => i.id)}::uuid[]) AND "mfa_secret" IS NOT NULL ORDER BY "id" FOR UPDATE`;
      for (const u of rows) {
        try {
          const next = await rewrapMfaSecret(u.id, u.mfaSecret!);
          if (next === null) continue;
          await tx.$executeRaw`UPDATE "users" SET "mfa_secret" = ${next} WHERE "id" = ${u.id}::uuid`;
          done++;
        } catch (e) {
          failures.push({ id: u.id, reason: reasonOf(e) });
        }
      }
    });
  }
  return { done, failures };
}

async function rotateBlobs(
  db: Db,
  currentId: string,
  batchSize: number,
  maxBatches: number,
  log: (m: string) => void,
): Promise<{ done: number; failures: RotationFailure[] }> {
  let done = 0;
  const failures: RotationFailure[] = [];
  let after = '00000000-0000-0000-0000-000000000000';
  for (let batch = 0; batch < maxBatches; batch++) {
    const rows = await db.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<{ id: string; storageKey: string; wrappedKey: string; masterKeyId: string }[]>`
        SELECT "id", "storage_key" AS "storageKey", "wrapped_key" AS "wrappedKey", "master_key_id" AS "masterKeyId"
        FROM "stored_blobs" WHERE "master_key_id" <> ${currentId} AND "id" > ${after}::uuid
        ORDER BY "id" LIMIT ${batchSize} FOR UPDATE SKIP LOCKED`;
      for (const row of rows) {
        try {
          const next = await rewrapBlobKey(row);
          if (!next) continue;
          await tx.$executeRaw`UPDATE "stored_blobs" SET "wrapped_key" = ${next.wrappedKey}, "master_key_id" = ${next.masterKeyId}
            WHERE "id" = ${row.id}::uuid`;
          done++;
        } catch (e) {
          failures.push({ id: row.id, reason: reasonOf(e) });
        }
      }
      return rows;
    });
    if (rows.length === 0) break;
    after = rows[rows.length - 1].id;
    log(`${done} data keys re-wrapped`);
  }
  return { done, failures };
}

export async function rotateMasterKey(db: Db, opts: RotationOptions = {}): Promise<RotationResult> {
  const log = opts.log ?? (() => {});
  const batchSize = opts.batchSize ?? 200;
  const before = await masterKeyStatus(db);
  const toKeyId = before.currentKeyId;
  const pendingBlobs = Object.entries(before.blobsByKeyId).filter(([id]) => id !== toKeyId);
  for (const [id, n] of pendingBlobs) {
    if (!before.previousKeyIds.includes(id)) {
      log(`warning: ${n} blobs are wrapped by master key ${id}, which is not configured — add it to MASTER_KEY_PREVIOUS`);
    }
  }
  const fromKeyIds = [...new Set([...before.previousKeyIds, ...pendingBlobs.map(([id]) => id)])].filter((id) => id !== toKeyId);

  const devPki = await rotateDevPkiKeys(log);
  const mfa = await rotateMfaSecrets(db, batchSize);
  let auditKey: { from: string; to: string } | null = null;
  let auditKeyFailure: string | undefined;
  try {
    auditKey = await rewrapAuditChainKey(db);
  } catch (e) {
    auditKeyFailure = reasonOf(e);
    log(`warning: the 操作ログ chain key could not be re-wrapped: ${auditKeyFailure}`);
  }
  const started = pendingBlobs.length > 0 || devPki.done > 0 || mfa.done > 0 || auditKey !== null;
  if (started) {
    await auditAll(db, 'started', {
      toKeyId,
      fromKeyIds,
      blobsToRewrap: pendingBlobs.reduce((n, [, c]) => n + c, 0),
    });
  }
  const blobs = await rotateBlobs(db, toKeyId, batchSize, opts.maxBatches ?? Number.POSITIVE_INFINITY, log);
  const remaining = await db.storedBlob.count({ where: { masterKeyId: { not: toKeyId } } });
  const complete =
    remaining === 0 && blobs.failures.length === 0 && mfa.failures.length === 0 && devPki.failures.length === 0 && !auditKeyFailure;
  if (started && complete) {
    await auditAll(db, 'rotated', {
      toKeyId,
      fromKeyIds,
      blobsRewrapped: blobs.done,
      mfaSecretsRewrapped: mfa.done,
      auditChainKeyRewrapped: auditKey !== null,
      devPkiKeysReencrypted: devPki.done,
    });
  }
  return {
    toKeyId,
    fromKeyIds,
    blobsRewrapped: blobs.done,
    blobFailures: blobs.failures,
    mfaSecretsRewrapped: mfa.done,
    mfaFailures: mfa.failures,
    auditChainKeyRewrapped: auditKey !== null,
    auditChainKeyFailure: auditKeyFailure,
    devPkiKeysReencrypted: devPki.done,
    devPkiFailures: devPki.failures,
    remaining,
    complete,
  };
}
