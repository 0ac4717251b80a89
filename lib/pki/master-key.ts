/**
 * The master key: 32 bytes that wrap every other secret at rest (the dev PKI's private keys here,
 * per-document data keys in lib/storage).
 *
 * - `MASTER_KEY` (base64 of exactly 32 bytes) wins when set. Production requires it.
 * - Otherwise (development/test) a random key is generated once under DATA_DIR as `master.key`
 *   (base64, mode 0600). Creation is race-safe: the key is written to a temp file and hard-linked
 *   into place, so when two processes start at once exactly one key wins and both read it.
 *
 * The key is never logged. `masterKeyId()` gives a short, non-secret identifier.
 *
 * Rotation (`npm run key:rotate`, lib/ops): MASTER_KEY is the new key; `MASTER_KEY_PREVIOUS` lists earlier
 * keys (comma-separated base64) that are still accepted for reading — `masterKeyById()` finds the key a
 * stored_blobs row names, `deriveKeyCandidates()` gives the subkeys of every accepted key (newest first).
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { getConfig } from '../config';
import { AppError } from '../errors';

const cache = new Map<string, Promise<Buffer>>();

function decodeKey(b64: string, source: string): Buffer {
  const key = Buffer.from(b64.trim(), 'base64');
  if (key.length !== 32) {
    throw new AppError('internal', 'マスター鍵の形式が正しくありません（32バイトのbase64が必要です）。', {
      details: { source },
    });
  }
  return key;
}

/** Path of the generated development master key file. */
export function masterKeyPath(): string {
  return path.join(getConfig().dataDir, 'master.key');
}

async function loadOrCreateFile(file: string): Promise<Buffer> {
  try {
    return decodeKey(await readFile(file, 'utf8'), 'file');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  try {
    await link(tmp, file); // fails with EEXIST when another process won the race
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  return decodeKey(await readFile(file, 'utf8'), 'file');
}

/** The 32-byte master key (cached per process and per DATA_DIR / MASTER_KEY). */
export function getMasterKey(): Promise<Buffer> {
  const c = getConfig();
  const cacheKey = c.MASTER_KEY ? `env:${createHash('sha256').update(c.MASTER_KEY).digest('hex')}` : `file:${c.dataDir}`;
  let p = cache.get(cacheKey);
  if (!p) {
    if (c.MASTER_KEY) {
      const b64 = c.MASTER_KEY;
      p = (async () => decodeKey(b64, 'env'))();
    } else if (c.NODE_ENV === 'production') {
      p = Promise.reject(new AppError('internal', '本番環境では MASTER_KEY の設定が必要です。'));
    } else {
      p = loadOrCreateFile(masterKeyPath());
    }
    p.catch(() => cache.delete(cacheKey));
    cache.set(cacheKey, p);
  }
  return p.then((k) => Buffer.from(k)); // a copy: callers may zero their buffer
}

/** Non-secret identifier of a master key: first 8 hex chars of its SHA-256. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/** Non-secret identifier of the current master key. */
export async function masterKeyId(): Promise<string> {
  return keyIdOf(await getMasterKey());
}

/** The earlier master keys of MASTER_KEY_PREVIOUS (accepted for reading during a rotation), by key id. */
export function previousMasterKeys(): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const b64 of (getConfig().MASTER_KEY_PREVIOUS ?? '').split(',')) {
    if (b64.trim() === '') continue;
    const key = decodeKey(b64, 'MASTER_KEY_PREVIOUS');
    out.set(keyIdOf(key), key);
  }
  return out;
}

/** The master key with this id — the current one or one of MASTER_KEY_PREVIOUS — or null. */
export async function masterKeyById(id: string): Promise<Buffer | null> {
  const current = await getMasterKey();
  if (keyIdOf(current) === id) return current;
  return previousMasterKeys().get(id) ?? null;
}

function hkdf(mk: Buffer, purpose: string, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', mk, Buffer.alloc(0), `tachiai-sign:${purpose}`, length));
}

/** Derive a purpose-bound subkey (HKDF-SHA256) so the master key itself is never used directly twice. */
export async function deriveKey(purpose: string, length = 32): Promise<Buffer> {
  return hkdf(await getMasterKey(), purpose, length);
}

/**
 * The subkey for `purpose` under the current master key first, then under each MASTER_KEY_PREVIOUS
 * key: what verifies or decrypts values made before a rotation (always create with `deriveKey`).
 */
export async function deriveKeyCandidates(purpose: string, length = 32): Promise<Buffer[]> {
  return [await deriveKey(purpose, length), ...[...previousMasterKeys().values()].map((k) => hkdf(k, purpose, length))];
}

/**
 * A secret wrapped by the master key (AES-256-GCM, `aad` binds it to its purpose), with the key id
 * recorded beside it so a rotation (npm run key:rotate) can re-wrap it and readers can open it with
 * MASTER_KEY_PREVIOUS meanwhile. Base64 of iv ‖ tag ‖ ciphertext.
 */
export async function wrapUnderMasterKey(secret: Buffer, aad: string): Promise<{ wrapped: string; masterKeyId: string }> {
  const mk = await getMasterKey();
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', mk, iv);
  c.setAAD(Buffer.from(`tachiai-sign:${aad}`, 'utf8'));
  const ct = Buffer.concat([c.update(secret), c.final()]);
  return { wrapped: Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64'), masterKeyId: keyIdOf(mk) };
}

/** The secret of `wrapUnderMasterKey`; throws when the key `masterKeyId` is not configured or the value was altered. */
export async function unwrapUnderMasterKey(wrapped: string, masterKeyId: string, aad: string): Promise<Buffer> {
  const mk = await masterKeyById(masterKeyId);
  if (!mk) throw new Error(`master key ${masterKeyId} is not configured (MASTER_KEY / MASTER_KEY_PREVIOUS)`);
  const raw = Buffer.from(wrapped, 'base64');
  if (raw.length < 12 + 16 + 1) throw new Error('wrapped secret has a bad length');
  const d = createDecipheriv('aes-256-gcm', mk, raw.subarray(0, 12));
  d.setAAD(Buffer.from(`tachiai-sign:${aad}`, 'utf8'));
  d.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([d.update(raw.subarray(28)), d.final()]);
}
