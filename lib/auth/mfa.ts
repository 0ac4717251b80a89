/**
 * Staff MFA with an authenticator app (TOTP, RFC 6238: SHA-1, 6 digits, 30 s, ±1 step).
 *
 * Enrolment: `startMfaEnrolment` makes a fresh secret and returns it (base32 + otpauth:// URI) with an
 * encrypted enrolment token; nothing is stored until `confirmMfaEnrolment` gets a current code for it.
 * Then users.mfa_secret holds the secret encrypted (mfa-crypto.ts) and users.mfa_last_step the step
 * used, so that code cannot be replayed. `disableMfa` needs a current (unused) code as well; wrong
 * codes there count towards the login lockout (auth.mfa_failed), so a stolen session cannot guess.
 * Sign-in with MFA is in sessions.ts (beginLogin → completeMfaLogin).
 */
import { recordAudit, type RequestContext, staffAuditFields } from '../audit';
import type { Db } from '../db';
import { AppError } from '../errors';
import { decryptMfaSecret, encryptMfaSecret, openEnrolment, sealEnrolment } from './mfa-crypto';
import { LOGIN_LOCKED_MESSAGE, MAX_FAILED_LOGINS, MFA_CODE_FAILED_MESSAGE, recentLoginFailures } from './sessions';
import { replaceRecoveryCodes } from './recovery';
import { base32Encode, matchTotp, newTotpSecret, normalizeTotpCode, otpauthUri } from './totp';
import type { StaffActor } from './types';

export const MFA_ISSUER = 'Tachiai Sign';
const ENROL_EXPIRED_MESSAGE = '登録の有効期限が切れました。ページを開き直して、表示される新しいキーで登録してください。';
const CODE_FORMAT_MESSAGE = '確認コードは6桁の数字で入力してください。';

export interface MfaEnrolment {
  /** Base32 secret to type into the authenticator app. Show it to this user only; never log it. */
  secret: string;
  otpauthUri: string;
  /** Encrypted, expiring carrier of the secret for the confirmation form. */
  enrolToken: string;
}

export async function getMfaStatus(db: Db, actor: StaffActor): Promise<{ enabled: boolean }> {
  const u = await db.user.findUniqueOrThrow({ where: { id: actor.userId }, select: { mfaSecret: true } });
  return { enabled: !!u.mfaSecret };
}

export async function startMfaEnrolment(actor: StaffActor, opts: { now?: Date } = {}): Promise<MfaEnrolment> {
  const raw = newTotpSecret();
  const secret = base32Encode(raw);
  const enrolToken = await sealEnrolment(actor.userId, raw, opts.now ?? new Date());
  raw.fill(0);
  return { secret, otpauthUri: otpauthUri(secret, actor.email, MFA_ISSUER), enrolToken };
}

function codeOrThrow(input: unknown): string {
  const code = normalizeTotpCode(input);
  if (!code) throw new AppError('validation', CODE_FORMAT_MESSAGE, { fieldErrors: { code: CODE_FORMAT_MESSAGE } });
  return code;
}


/**
 * Store the secret (encrypted) once a current code for it is entered. Returns the new recovery codes
 * (recovery.ts): show them to the user once; only their hashes are stored.
 */
export async function confirmMfaEnrolment(
  db: Db,
  actor: StaffActor,
  input: { enrolToken: unknown; code: unknown },
  ctx: RequestContext,
  opts: { now?: Date } = {},
): Promise<{ recoveryCodes: string[] }> {
  const now = opts.now ?? new Date();
  const code = codeOrThrow(input.code);
  const secret = typeof input.enrolToken === 'string' ? await openEnrolment(actor.userId, input.enrolToken, now) : null;
  if (!secret) throw new AppError('link_expired', ENROL_EXPIRED_MESSAGE);
  try {
    const step = matchTotp(secret, code, now);
    if (step === null) throw new AppError('validation', MFA_CODE_FAILED_MESSAGE, { fieldErrors: { code: MFA_CODE_FAILED_MESSAGE } });
    const stored = await encryptMfaSecret(actor.userId, secret);
    const recoveryCodes = await db.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM users WHERE id = ${actor.userId}::uuid FOR UPDATE`;
      const u = await tx.user.findUniqueOrThrow({ where: { id: actor.userId }, select: { mfaSecret: true } });
      if (u.mfaSecret) throw new AppError('conflict', '二要素認証はすでに有効です。');
      await tx.user.update({ where: { id: actor.userId }, data: { mfaSecret: stored, mfaLastStep: BigInt(step) } });
      const codes = await replaceRecoveryCodes(tx, actor.userId, now);
      await recordAudit(tx, { ...staffAuditFields(actor, { ...ctx, now: now }), action: 'auth.mfa_enabled', details: { method: 'totp' } });
      return codes;
    });
    return { recoveryCodes };
  } finally {
    secret.fill(0);
  }
}

/** Turn MFA off; requires a current, not yet used code (wrong codes count towards the lockout). */
export async function disableMfa(
  db: Db,
  actor: StaffActor,
  input: { code: unknown },
  ctx: RequestContext,
  opts: { now?: Date } = {},
): Promise<void> {
  const now = opts.now ?? new Date();
  const code = codeOrThrow(input.code);
  const base = staffAuditFields(actor, { ...ctx, now: now });
  const outcome = await db.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT id FROM users WHERE id = ${actor.userId}::uuid FOR UPDATE`;
    const u = await tx.user.findUniqueOrThrow({
      where: { id: actor.userId },
      select: { id: true, organizationId: true, mfaSecret: true, mfaLastStep: true },
    });
    if (!u.mfaSecret) return 'off' as const;
    if ((await recentLoginFailures(tx, u, now)) >= MAX_FAILED_LOGINS) return 'locked' as const;
    const secret = await decryptMfaSecret(u.id, u.mfaSecret);
    const step = matchTotp(secret, code, now, u.mfaLastStep === null ? null : Number(u.mfaLastStep));
    secret.fill(0);
    if (step === null) {
      await recordAudit(tx, { ...base, action: 'auth.mfa_failed', details: { stage: 'disable' } });
      return 'wrong' as const;
    }
    await tx.user.update({ where: { id: u.id }, data: { mfaSecret: null, mfaLastStep: null } });
    await tx.mfaRecoveryCode.deleteMany({ where: { userId: u.id } });
    await recordAudit(tx, { ...base, action: 'auth.mfa_disabled' });
    return 'ok' as const;
  });
  if (outcome === 'off') throw new AppError('invalid_state', '二要素認証は有効になっていません。');
  if (outcome === 'locked') throw new AppError('locked', LOGIN_LOCKED_MESSAGE);
  if (outcome === 'wrong') throw new AppError('validation', MFA_CODE_FAILED_MESSAGE, { fieldErrors: { code: MFA_CODE_FAILED_MESSAGE } });
}

/**
 * New set of recovery codes (the old set stops working). Requires a current, unused TOTP code; wrong
 * codes count towards the lockout like in `disableMfa`. Returns the codes to show once.
 */
export async function regenerateRecoveryCodes(
  db: Db,
  actor: StaffActor,
  input: { code: unknown },
  ctx: RequestContext,
  opts: { now?: Date } = {},
): Promise<{ recoveryCodes: string[] }> {
  const now = opts.now ?? new Date();
  const code = codeOrThrow(input.code);
  const base = staffAuditFields(actor, { ...ctx, now: now });
  const outcome = await db.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT id FROM users WHERE id = ${actor.userId}::uuid FOR UPDATE`;
    const u = await tx.user.findUniqueOrThrow({
      where: { id: actor.userId },
      select: { id: true, organizationId: true, mfaSecret: true, mfaLastStep: true },
    });
    if (!u.mfaSecret) return { kind: 'off' } as const;
    if ((await recentLoginFailures(tx, u, now)) >= MAX_FAILED_LOGINS) return { kind: 'locked' } as const;
    const secret = await decryptMfaSecret(u.id, u.mfaSecret);
    const step = matchTotp(secret, code, now, u.mfaLastStep === null ? null : Number(u.mfaLastStep));
    secret.fill(0);
    if (step === null) {
      await recordAudit(tx, { ...base, action: 'auth.mfa_failed', details: { stage: 'recovery_codes' } });
      return { kind: 'wrong' } as const;
    }
    await tx.user.update({ where: { id: u.id }, data: { mfaLastStep: BigInt(step) } });
    const codes = await replaceRecoveryCodes(tx, u.id, now);
    await recordAudit(tx, { ...base, action: 'auth.recovery_codes_regenerated' });
    return { kind: 'ok', codes } as const;
  });
  if (outcome.kind === 'off') throw new AppError('invalid_state', '二要素認証は有効になっていません。');
  if (outcome.kind === 'locked') throw new AppError('locked', LOGIN_LOCKED_MESSAGE);
  if (outcome.kind === 'wrong') throw new AppError('validation', MFA_CODE_FAILED_MESSAGE, { fieldErrors: { code: MFA_CODE_FAILED_MESSAGE } });
  return { recoveryCodes: outcome.codes };
}
