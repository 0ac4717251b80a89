/**
 * MFA recovery codes: RECOVERY_CODE_COUNT single-use codes of 10 base32 characters (shown as
 * "ABCDE-FGHJK"), made when MFA is enabled or regenerated and shown to the user once. Only
 * "salt:SHA-256(salt || code)" (hex, per-code random salt) is stored in mfa_recovery_codes.
 * Callers hold the user row lock (SELECT … FOR UPDATE), and consumption is a conditional update
 * (used_at IS NULL), so one code signs in at most once even under parallel use.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Tx } from '../db';
import { base32Encode } from './totp';

export const RECOVERY_CODE_COUNT = 10;

function hashWithSalt(salt: string, code: string): string {
  return createHash('sha256').update(Buffer.from(salt, 'hex')).update(code, 'utf8').digest('hex');
}

/** Canonical form (10 base32 characters, upper case) or null. Accepts spaces, hyphens, lower case, full-width. */
export function normalizeRecoveryCode(input: unknown): string | null {
  if (typeof input !== 'string') return null;
  const s = input
    .replace(/[０-９Ａ-Ｚａ-ｚ]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/[\s\-‐－]/g, '')
    .toUpperCase();
  return /^[A-Z2-7]{10}$/.test(s) ? s : null;
}

function newCode(): string {
  return base32Encode(randomBytes(7)).slice(0, 10);
}

/** Replace the user's recovery codes with a fresh set; returns the codes for display ("ABCDE-FGHJK"). */
export async function replaceRecoveryCodes(tx: Tx, userId: string, now: Date): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
  await tx.mfaRecoveryCode.deleteMany({ where: { userId } });
  await tx.mfaRecoveryCode.createMany({
    data: codes.map((c) => {
      const salt = randomBytes(16).toString('hex');
      return { userId, codeHash: `${salt}:${hashWithSalt(salt, c)}`, createdAt: now };
    }),
  });
  return codes.map((c) => `${c.slice(0, 5)}-${c.slice(5)}`);
}

/** Mark the matching unused code used. True only for the one call that consumed it. */
export async function consumeRecoveryCode(tx: Tx, userId: string, code: string, now: Date): Promise<boolean> {
  const rows = await tx.mfaRecoveryCode.findMany({ where: { userId, usedAt: null }, select: { id: true, codeHash: true } });
  let match: string | null = null;
  for (const r of rows) {
    const [salt, hash] = r.codeHash.split(':');
    if (!salt || !hash) continue;
    const a = Buffer.from(hashWithSalt(salt, code), 'hex');
    const b = Buffer.from(hash, 'hex');
    if (a.length === b.length && timingSafeEqual(a, b)) match = r.id;
  }
  if (!match) return false;
  const r = await tx.mfaRecoveryCode.updateMany({ where: { id: match, usedAt: null }, data: { usedAt: now } });
  return r.count === 1;
}

export async function remainingRecoveryCodes(tx: Pick<Tx, 'mfaRecoveryCode'>, userId: string): Promise<number> {
  return tx.mfaRecoveryCode.count({ where: { userId, usedAt: null } });
}
