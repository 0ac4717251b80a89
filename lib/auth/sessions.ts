/**
 * Staff sign-in: email + password (argon2id), server-side sessions in `sessions` (only the SHA-256 of
 * the cookie token is stored), account lockout after repeated failures (counted from the 操作ログ, so
 * it holds across web nodes), and the organisation's IP allowlist at login and on every request.
 * Staff with MFA (TOTP, see mfa.ts) get no session for the password alone: `beginLogin` returns a
 * short-lived signed "MFA pending" token and `completeMfaLogin` creates the session after a valid code.
 */
import { z } from 'zod';
import { recordAudit, type RequestContext } from '../audit';
import { getConfig } from '../config';
import type { Db } from '../db';
import { AppError } from '../errors';
import { hashToken, looksLikeToken, newToken } from '../security';
import type { Tx } from '../db';
import { ipAllowed } from './ip';
import { decryptMfaSecret, pendingMatches, signMfaPending, verifyMfaPending } from './mfa-crypto';
import { verifyDummy, verifyPassword } from './password';
import { consumeRecoveryCode, normalizeRecoveryCode } from './recovery';
import { matchTotp, normalizeTotpCode } from './totp';
import type { StaffActor } from './types';

export const SESSION_COOKIE = 'ts_session';
/** Failed attempts (since the last success) within LOCKOUT_WINDOW_MS that lock an account. */
export const MAX_FAILED_LOGINS = 5;
export const LOCKOUT_WINDOW_MS = 15 * 60 * 1000;

/** A staff sign-in email address (trimmed, lower-cased): the login form and account creation share it. */
export const staffEmailSchema = z
  .string({ error: 'メールアドレスを入力してください。' })
  .trim()
  .min(1, 'メールアドレスを入力してください。')
  .max(254, 'メールアドレスが長すぎます。')
  .email('メールアドレスの形式が正しくありません。')
  .transform((s) => s.toLowerCase());

export const loginSchema = z.object({
  email: staffEmailSchema,
  password: z
    .string({ error: 'パスワードを入力してください。' })
    .min(1, 'パスワードを入力してください。')
    .max(1024, 'パスワードが長すぎます。'),
});
export type LoginInput = z.input<typeof loginSchema>;

export interface LoginResult {
  /** The cookie value. Never log it. */
  token: string;
  expiresAt: Date;
  actor: StaffActor;
}

/** Password accepted for a user with MFA: no session yet, the 6-digit code comes next. */
export interface MfaChallenge {
  mfaRequired: true;
  /** Signed, short-lived (MFA_PENDING_TTL_MS); pass it back to `completeMfaLogin`. Never log it. */
  mfaToken: string;
  expiresAt: Date;
}

/** Failed attempts per client IP (any account, known or not) within LOCKOUT_WINDOW_MS before 429. */
export const MAX_FAILED_LOGINS_PER_IP = 20;
export const RATE_LIMITED_MESSAGE = 'ログインの試行回数が多すぎます。しばらく待ってから再度お試しください。';

/**
 * Per-IP throttle for guessing across accounts (including unknown emails, which have no organisation
 * to audit under). Best-effort and per process; the per-account lockout above is the durable one.
 */
const ipFailures = new Map<string, number[]>();

function ipThrottled(ip: string | null | undefined, now: number): boolean {
  if (!ip) return false;
  const recent = (ipFailures.get(ip) ?? []).filter((t) => now - t < LOCKOUT_WINDOW_MS);
  if (recent.length) ipFailures.set(ip, recent);
  else ipFailures.delete(ip);
  return recent.length >= MAX_FAILED_LOGINS_PER_IP;
}

function noteIpFailure(ip: string | null | undefined, now: number): void {
  if (!ip) return;
  if (ipFailures.size > 100_000) ipFailures.clear();
  ipFailures.set(ip, [...(ipFailures.get(ip) ?? []), now]);
}

/** Tests: forget the per-IP counters. */
export function resetLoginThrottle(): void {
  ipFailures.clear();
}

export const LOGIN_FAILED_MESSAGE = 'メールアドレスまたはパスワードが正しくありません。';
export const LOGIN_LOCKED_MESSAGE =
  'ログインの失敗が続いたため、しばらくログインできません。15分ほど待ってから再度お試しください。';
export const IP_DENIED_MESSAGE = 'この接続元（IPアドレス）からはログインできません。';
export const MFA_REQUIRED_MESSAGE = '確認コード（認証アプリ）の入力が必要です。';
export const MFA_CODE_FAILED_MESSAGE = '確認コードが正しくありません。認証アプリに表示されている最新の6桁を入力してください。';
export const MFA_PENDING_EXPIRED_MESSAGE = '確認コードの入力期限が切れました。もう一度メールアドレスとパスワードからログインしてください。';

/**
 * Failed attempts that count towards the lockout (wrong passwords and wrong MFA codes) since the last
 * successful login, within LOCKOUT_WINDOW_MS. Call with the user row locked (SELECT … FOR UPDATE).
 */
export async function recentLoginFailures(tx: Tx, user: { id: string; organizationId: string }, now: Date): Promise<number> {
  const fresh = await tx.user.findUniqueOrThrow({ where: { id: user.id }, select: { lastLoginAt: true } });
  const since = new Date(
    Math.max(now.getTime() - LOCKOUT_WINDOW_MS, fresh.lastLoginAt ? fresh.lastLoginAt.getTime() + 1 : 0),
  );
  return tx.auditEvent.count({
    where: {
      organizationId: user.organizationId,
      actorId: user.id,
      createdAt: { gte: since },
      OR: [
        { action: 'auth.login_failed', details: { path: ['reason'], equals: 'password' } },
        { action: 'auth.mfa_failed' },
      ],
    },
  });
}

function toActor(user: {
  id: string;
  organizationId: string;
  name: string;
  email: string;
  role: 'staff' | 'admin';
  organization: { name: string };
}): StaffActor {
  return {
    userId: user.id,
    organizationId: user.organizationId,
    organizationName: user.organization.name,
    name: user.name,
    email: user.email,
    role: user.role,
  };
}

const label = (u: { name: string; email: string }) => `${u.name} <${u.email}>`;

/**
 * Password-only sign-in (callers that cannot do the second step). A user with MFA gets no session:
 * `unauthorized` with MFA_REQUIRED_MESSAGE. The login page uses `beginLogin` + `completeMfaLogin`.
 */
export async function login(
  db: Db,
  input: LoginInput,
  ctx: RequestContext,
  opts: { now?: Date; ttlHours?: number } = {},
): Promise<LoginResult> {
  const r = await beginLogin(db, input, ctx, opts);
  if ('mfaRequired' in r) throw new AppError('unauthorized', MFA_REQUIRED_MESSAGE);
  return r;
}

/** Step 1: email + password. A session for users without MFA, an MfaChallenge for users with it. */
export async function beginLogin(
  db: Db,
  input: LoginInput,
  ctx: RequestContext,
  opts: { now?: Date; ttlHours?: number } = {},
): Promise<LoginResult | MfaChallenge> {
  const parsed = loginSchema.safeParse(input);
  if (!parsed.success) {
    const fieldErrors: Record<string, string> = {};
    for (const i of parsed.error.issues) fieldErrors[String(i.path[0])] ??= i.message;
    throw new AppError('validation', '入力内容を確認してください。', { fieldErrors });
  }
  const { email, password } = parsed.data;
  const now = opts.now ?? new Date();
  if (ipThrottled(ctx.ip, now.getTime())) throw new AppError('rate_limited', RATE_LIMITED_MESSAGE);
  const user = await db.user.findUnique({ where: { email }, include: { organization: true } });
  if (!user || user.disabledAt) {
    await verifyDummy(password);
    noteIpFailure(ctx.ip, now.getTime());
    throw new AppError('unauthorized', LOGIN_FAILED_MESSAGE);
  }
  const base = signInAudit(user, ctx, now);
  await refuseDisallowedIp(db, user, base, ctx);

  // One attempt at a time per account: the user row is locked while the recent failures are counted,
  // the password checked and the outcome recorded, so parallel guesses cannot all read "0 failures".
  const { token, expiresAt } = newSessionToken(now, opts.ttlHours);
  const outcome = await db.$transaction(
    async (tx) => {
      if (await lockedOut(tx, user, base, now)) return { kind: 'locked' } as const;
      const fresh = await tx.user.findUniqueOrThrow({
        where: { id: user.id },
        select: { passwordHash: true, mfaSecret: true, lastLoginAt: true },
      });
      if (!(await verifyPassword(fresh.passwordHash, password))) {
        await recordAudit(tx, { ...base, action: 'auth.login_failed', details: { reason: 'password' } });
        return { kind: 'wrong' } as const;
      }
      if (fresh.mfaSecret) {
        // No session and no lastLoginAt yet: the lockout window keeps counting until the code is right.
        return { kind: 'mfa', user: { id: user.id, ...fresh } } as const;
      }
      await createSession(tx, user.id, token, expiresAt, ctx, now);
      await recordAudit(tx, { ...base, action: 'auth.login' });
      return { kind: 'ok' } as const;
    },
    { maxWait: 15_000, timeout: 30_000 },
  );
  if (outcome.kind === 'locked') throw new AppError('locked', LOGIN_LOCKED_MESSAGE);
  if (outcome.kind === 'wrong') {
    noteIpFailure(ctx.ip, now.getTime());
    throw new AppError('unauthorized', LOGIN_FAILED_MESSAGE);
  }
  if (outcome.kind === 'mfa') {
    const p = await signMfaPending(outcome.user, now);
    return { mfaRequired: true, mfaToken: p.token, expiresAt: p.expiresAt };
  }
  return { token, expiresAt, actor: toActor(user) };
}

type SignInUser = { id: string; organizationId: string; name: string; email: string; organization: { ipAllowlist: string[] } };
type SignInAudit = ReturnType<typeof signInAudit>;

/** The audit fields of every event about a user's own sign-in (both steps). */
function signInAudit(user: SignInUser, ctx: RequestContext, now: Date) {
  return {
    organizationId: user.organizationId,
    actorType: 'user' as const,
    actorId: user.id,
    actorLabel: label(user),
    ip: ctx.ip,
    userAgent: ctx.userAgent,
    at: now,
  };
}

/** The organisation's IP allowlist, checked at both sign-in steps; a refusal is audited. */
async function refuseDisallowedIp(db: Db, user: SignInUser, base: SignInAudit, ctx: RequestContext): Promise<void> {
  if (ipAllowed(ctx.ip, user.organization.ipAllowlist)) return;
  await db.$transaction((tx) => recordAudit(tx, { ...base, action: 'auth.login_failed', details: { reason: 'ip_not_allowed' } }));
  throw new AppError('forbidden', IP_DENIED_MESSAGE);
}

/**
 * Inside a sign-in transaction: lock the user row (one attempt at a time per account, so parallel
 * guesses cannot all read "0 failures"), then report — and audit — a lock-out.
 */
async function lockedOut(tx: Tx, user: SignInUser, base: SignInAudit, now: Date): Promise<boolean> {
  await tx.$queryRaw`SELECT id FROM users WHERE id = ${user.id}::uuid FOR UPDATE`;
  if ((await recentLoginFailures(tx, user, now)) < MAX_FAILED_LOGINS) return false;
  await recordAudit(tx, { ...base, action: 'auth.login_blocked', details: { reason: 'locked' } });
  return true;
}

function newSessionToken(now: Date, ttlHours = getConfig().SESSION_TTL_HOURS): { token: string; expiresAt: Date } {
  return { token: newToken(), expiresAt: new Date(now.getTime() + ttlHours * 3600_000) };
}

async function createSession(tx: Tx, userId: string, token: string, expiresAt: Date, ctx: RequestContext, now: Date) {
  await tx.session.create({
    data: {
      userId,
      tokenHash: hashToken(token),
      expiresAt,
      ip: ctx.ip ?? null,
      userAgent: ctx.userAgent?.slice(0, 512) ?? null,
      createdAt: now,
      lastSeenAt: now,
    },
  });
  await tx.user.update({ where: { id: userId }, data: { lastLoginAt: now } });
}

/**
 * Step 2 for users with MFA: the pending token from `beginLogin` and the current 6-digit code.
 * Under the user row lock: lockout (wrong codes count like wrong passwords), the code must match within
 * ±1 step and be newer than the last accepted step (replay), then the session is created.
 */
export async function completeMfaLogin(
  db: Db,
  input: { mfaToken: unknown; code: unknown },
  ctx: RequestContext,
  opts: { now?: Date; ttlHours?: number } = {},
): Promise<LoginResult> {
  const now = opts.now ?? new Date();
  if (ipThrottled(ctx.ip, now.getTime())) throw new AppError('rate_limited', RATE_LIMITED_MESSAGE);
  const pending = await verifyMfaPending(input.mfaToken, now);
  if (!pending) throw new AppError('link_expired', MFA_PENDING_EXPIRED_MESSAGE);
  const user = await db.user.findUnique({ where: { id: pending.userId }, include: { organization: true } });
  if (!user || user.disabledAt || !pendingMatches(pending.fingerprint, user)) {
    throw new AppError('link_expired', MFA_PENDING_EXPIRED_MESSAGE);
  }
  const base = signInAudit(user, ctx, now);
  await refuseDisallowedIp(db, user, base, ctx);
  const code = normalizeTotpCode(input.code);
  // Not a 6-digit code: maybe a recovery code (single use; wrong ones count like wrong codes).
  const recovery = code ? null : normalizeRecoveryCode(input.code);
  const { token, expiresAt } = newSessionToken(now, opts.ttlHours);
  const outcome = await db.$transaction(
    async (tx) => {
      if (await lockedOut(tx, user, base, now)) return 'locked' as const;
      const fresh = await tx.user.findUniqueOrThrow({
        where: { id: user.id },
        select: { passwordHash: true, mfaSecret: true, mfaLastStep: true, lastLoginAt: true },
      });
      if (!pendingMatches(pending.fingerprint, fresh) || !fresh.mfaSecret) return 'stale' as const;
      if (recovery) {
        if (!(await consumeRecoveryCode(tx, user.id, recovery, now))) {
          await recordAudit(tx, { ...base, action: 'auth.mfa_failed', details: { stage: 'login', method: 'recovery_code' } });
          return 'wrong' as const;
        }
        await createSession(tx, user.id, token, expiresAt, ctx, now);
        await recordAudit(tx, { ...base, action: 'auth.recovery_code_used' });
        await recordAudit(tx, { ...base, action: 'auth.login', details: { mfa: 'recovery_code' } });
        return 'ok' as const;
      }
      const secret = await decryptMfaSecret(user.id, fresh.mfaSecret);
      const last = fresh.mfaLastStep === null ? null : Number(fresh.mfaLastStep);
      const step = code ? matchTotp(secret, code, now, last) : null;
      secret.fill(0);
      if (step === null) {
        await recordAudit(tx, { ...base, action: 'auth.mfa_failed', details: { stage: 'login' } });
        return 'wrong' as const;
      }
      await tx.user.update({ where: { id: user.id }, data: { mfaLastStep: BigInt(step) } });
      await createSession(tx, user.id, token, expiresAt, ctx, now);
      await recordAudit(tx, { ...base, action: 'auth.login', details: { mfa: 'totp' } });
      return 'ok' as const;
    },
    { maxWait: 15_000, timeout: 30_000 },
  );
  if (outcome === 'locked') throw new AppError('locked', LOGIN_LOCKED_MESSAGE);
  if (outcome === 'stale') throw new AppError('link_expired', MFA_PENDING_EXPIRED_MESSAGE);
  if (outcome === 'wrong') {
    noteIpFailure(ctx.ip, now.getTime());
    throw new AppError('unauthorized', MFA_CODE_FAILED_MESSAGE);
  }
  return { token, expiresAt, actor: toActor(user) };
}

export type SessionCheck =
  /** mfaSetupRequired: the organisation requires MFA and this user has not enrolled yet. */
  | { status: 'ok'; actor: StaffActor; expiresAt: Date; mfaSetupRequired: boolean }
  | { status: 'none' }
  | { status: 'expired' }
  | { status: 'ip_denied' };

/** Turn a cookie value into the signed-in staff member (checks expiry, disabled user, IP allowlist). */
export async function getSessionActor(
  db: Db,
  token: string | null | undefined,
  ctx: RequestContext,
  opts: { now?: Date } = {},
): Promise<SessionCheck> {
  if (!token || !looksLikeToken(token)) return { status: 'none' };
  const now = opts.now ?? new Date();
  const session = await db.session.findUnique({
    where: { tokenHash: hashToken(token) },
    include: { user: { include: { organization: true } } },
  });
  if (!session) return { status: 'none' };
  if (session.expiresAt.getTime() <= now.getTime()) {
    await db.session.deleteMany({ where: { id: session.id } });
    return { status: 'expired' };
  }
  if (session.user.disabledAt) return { status: 'none' };
  if (!ipAllowed(ctx.ip, session.user.organization.ipAllowlist)) return { status: 'ip_denied' };
  if (now.getTime() - session.lastSeenAt.getTime() > 60_000) {
    await db.session.updateMany({ where: { id: session.id }, data: { lastSeenAt: now } });
  }
  return {
    status: 'ok',
    actor: toActor(session.user),
    expiresAt: session.expiresAt,
    mfaSetupRequired: session.user.organization.requireMfa && !session.user.mfaSecret,
  };
}

/** Delete the session (if any) and record auth.logout. */
export async function logout(db: Db, token: string | null | undefined, ctx: RequestContext): Promise<void> {
  if (!token || !looksLikeToken(token)) return;
  const session = await db.session.findUnique({ where: { tokenHash: hashToken(token) }, include: { user: true } });
  if (!session) return;
  await db.$transaction(async (tx) => {
    await tx.session.deleteMany({ where: { id: session.id } });
    await recordAudit(tx, {
      organizationId: session.user.organizationId,
      actorType: 'user',
      actorId: session.user.id,
      actorLabel: label(session.user),
      action: 'auth.logout',
      ip: ctx.ip,
      userAgent: ctx.userAgent,
    });
  });
}

/** Remove expired sessions (called by the dev runner / a scheduled job). */
export async function purgeExpiredSessions(db: Db, now = new Date()): Promise<number> {
  const r = await db.session.deleteMany({ where: { expiresAt: { lte: now } } });
  return r.count;
}
