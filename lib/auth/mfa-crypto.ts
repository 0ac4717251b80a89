/**
 * Secrets around staff MFA, all keyed from the master key (lib/pki deriveKey, HKDF per purpose):
 *  - users.mfa_secret: AES-256-GCM, aad bound to the user id ("v1:" + base64(iv 12 | tag 16 | ct)).
 *  - the enrolment token: the not-yet-confirmed secret, encrypted the same way with its own key and an
 *    expiry, carried in the enrolment form (nothing is stored until a code confirms it).
 *  - the "MFA pending" login token: HMAC-SHA256-signed {user, expiry, fingerprint of the password hash,
 *    stored secret and last login}, handed out after a correct password instead of a session. It dies
 *    with a password change, MFA reset, or the first sign-in it completes (single use).
 * Never log any of these values. During a master-key rotation (MASTER_KEY_PREVIOUS set) values made
 * under an earlier key are still accepted (`deriveKeyCandidates`); `rewrapMfaSecret` moves a stored
 * secret to the current key.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { deriveKey, deriveKeyCandidates } from '../pki';
import { safeEqual } from '../security';

export const MFA_PENDING_TTL_MS = 5 * 60 * 1000;
export const MFA_ENROL_TTL_MS = 15 * 60 * 1000;

function seal(key: Buffer, aad: string, plain: Buffer): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64url');
}

function open(key: Buffer, aad: string, sealed: string): Buffer | null {
  const raw = Buffer.from(sealed, 'base64url');
  if (raw.length < 29) return null;
  try {
    const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    d.setAAD(Buffer.from(aad, 'utf8'));
    d.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([d.update(raw.subarray(28)), d.final()]);
  } catch {
    return null;
  }
}

/** Encrypt a TOTP secret for users.mfa_secret. */
export async function encryptMfaSecret(userId: string, secret: Buffer): Promise<string> {
  return `v1:${seal(await deriveKey('staff-mfa-secret'), `mfa-secret:${userId}`, secret)}`;
}

/** The first of `keys` that opens `sealed` (current master key first), with its position. */
function openWithAny(keys: Buffer[], aad: string, sealed: string): { plain: Buffer; index: number } | null {
  for (let i = 0; i < keys.length; i++) {
    const plain = open(keys[i], aad, sealed);
    if (plain) return { plain, index: i };
  }
  return null;
}

async function openMfaSecret(userId: string, stored: string) {
  const opened = stored.startsWith('v1:')
    ? openWithAny(await deriveKeyCandidates('staff-mfa-secret'), `mfa-secret:${userId}`, stored.slice(3))
    : null;
  if (!opened) throw new Error('users.mfa_secret cannot be decrypted');
  return opened;
}

/** Decrypt users.mfa_secret; throws if it was tampered with or moved to another user. */
export async function decryptMfaSecret(userId: string, stored: string): Promise<Buffer> {
  return (await openMfaSecret(userId, stored)).plain;
}

/** users.mfa_secret re-encrypted under the current master key, or null when it already is (rotation). */
export async function rewrapMfaSecret(userId: string, stored: string): Promise<string | null> {
  const { plain, index } = await openMfaSecret(userId, stored);
  return index === 0 ? null : encryptMfaSecret(userId, plain);
}

export async function sealEnrolment(userId: string, secret: Buffer, now: Date): Promise<string> {
  const payload = Buffer.concat([Buffer.alloc(8), secret]);
  payload.writeBigUInt64BE(BigInt(now.getTime() + MFA_ENROL_TTL_MS));
  return seal(await deriveKey('staff-mfa-enrolment'), `mfa-enrol:${userId}`, payload);
}

/** The secret in an enrolment token for this user, or null (forged, other user, expired). */
export async function openEnrolment(userId: string, token: string, now: Date): Promise<Buffer | null> {
  if (typeof token !== 'string' || token.length > 512) return null;
  const p = openWithAny(await deriveKeyCandidates('staff-mfa-enrolment'), `mfa-enrol:${userId}`, token)?.plain;
  if (!p || p.length < 9) return null;
  if (Number(p.readBigUInt64BE(0)) <= now.getTime()) return null;
  return p.subarray(8);
}

interface PendingState {
  passwordHash: string;
  mfaSecret: string | null;
  lastLoginAt: Date | null;
}

function fingerprint(u: PendingState): string {
  return createHash('sha256')
    .update(`${u.passwordHash}\n${u.mfaSecret ?? ''}\n${u.lastLoginAt?.getTime() ?? ''}`)
    .digest('base64url')
    .slice(0, 22);
}

export async function signMfaPending(
  user: PendingState & { id: string },
  now: Date,
): Promise<{ token: string; expiresAt: Date }> {
  const expiresAt = new Date(now.getTime() + MFA_PENDING_TTL_MS);
  const body = Buffer.from(
    JSON.stringify({ u: user.id, e: expiresAt.getTime(), f: fingerprint(user) }),
  ).toString('base64url');
  const mac = createHmac('sha256', await deriveKey('staff-mfa-pending')).update(body).digest('base64url');
  return { token: `${body}.${mac}`, expiresAt };
}

/** The user id of a valid pending token (signature + expiry); check the fingerprint with `pendingMatches`. */
export async function verifyMfaPending(token: unknown, now: Date): Promise<{ userId: string; fingerprint: string } | null> {
  if (typeof token !== 'string' || token.length > 1024) return null;
  const [body, mac, extra] = token.split('.');
  if (!body || !mac || extra !== undefined) return null;
  const keys = await deriveKeyCandidates('staff-mfa-pending');
  if (!keys.some((k) => safeEqual(mac, createHmac('sha256', k).update(body).digest('base64url')))) return null;
  try {
    const p = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { u?: unknown; e?: unknown; f?: unknown };
    if (typeof p.u !== 'string' || typeof p.e !== 'number' || typeof p.f !== 'string') return null;
    if (p.e <= now.getTime()) return null;
    return { userId: p.u, fingerprint: p.f };
  } catch {
    return null;
  }
}

/** The pending token was issued for the user's current password and MFA secret, and not used since. */
export function pendingMatches(fp: string, user: PendingState): boolean {
  return !!user.mfaSecret && safeEqual(fp, fingerprint(user));
}
