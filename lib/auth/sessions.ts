/**
 * Staff sign-in: email + password (argon2id), server-side sessions in `sessions` (only the SHA-256 of
 * the cookie token is stored), account lockout after repeated failures (counted from the 操作ログ, so
 * it holds across web nodes), and the organisation's IP allowlist at login and on every request.
 */
import { z } from 'zod';
import { recordAudit, type RequestContext } from '../audit';
import { getConfig } from '../config';
import type { Db } from '../db';
import { AppError } from '../errors';
import { hashToken, looksLikeToken, newToken } from '../security';
import { ipAllowed } from './ip';
import { verifyDummy, verifyPassword } from './password';
import type { StaffActor } from './types';

export const SESSION_COOKIE = 'ts_session';
/** Failed attempts (since the last success) within LOCKOUT_WINDOW_MS that lock an account. */
export const MAX_FAILED_LOGINS = 5;
export const LOCKOUT_WINDOW_MS = 15 * 60 * 1000;

export const loginSchema = z.object({
  email: z
    .string({ error: 'メールアドレスを入力してください。' })
    .trim()
    .min(1, 'メールアドレスを入力してください。')
    .max(254, 'メールアドレスが長すぎます。')
    .email('メールアドレスの形式が正しくありません。')
    .transform((s) => s.toLowerCase()),
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

export async function login(
  db: Db,
  input: LoginInput,
  ctx: RequestContext,
  opts: { now?: Date; ttlHours?: number } = {},
): Promise<LoginResult> {
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
  const base = {
    organizationId: user.organizationId,
    actorType: 'user' as const,
    actorId: user.id,
    actorLabel: label(user),
    ip: ctx.ip,
    userAgent: ctx.userAgent,
    at: now,
  };

  if (!ipAllowed(ctx.ip, user.organization.ipAllowlist)) {
    await db.$transaction((tx) => recordAudit(tx, { ...base, action: 'auth.login_failed', details: { reason: 'ip_not_allowed' } }));
    throw new AppError('forbidden', IP_DENIED_MESSAGE);
  }

  // One attempt at a time per account: the user row is locked while the recent failures are counted,
  // the password checked and the outcome recorded, so parallel guesses cannot all read "0 failures".
  const token = newToken();
  const ttlHours = opts.ttlHours ?? getConfig().SESSION_TTL_HOURS;
  const expiresAt = new Date(now.getTime() + ttlHours * 3600_000);
  const outcome = await db.$transaction(
    async (tx) => {
      await tx.$queryRaw`SELECT id FROM users WHERE id = ${user.id}::uuid FOR UPDATE`;
      const fresh = await tx.user.findUniqueOrThrow({ where: { id: user.id }, select: { lastLoginAt: true } });
      const since = new Date(
        Math.max(now.getTime() - LOCKOUT_WINDOW_MS, fresh.lastLoginAt ? fresh.lastLoginAt.getTime() + 1 : 0),
      );
      const failures = await tx.auditEvent.count({
        where: {
          organizationId: user.organizationId,
          actorId: user.id,
          action: 'auth.login_failed',
          createdAt: { gte: since },
          details: { path: ['reason'], equals: 'password' },
        },
      });
      if (failures >= MAX_FAILED_LOGINS) {
        await recordAudit(tx, { ...base, action: 'auth.login_blocked', details: { reason: 'locked' } });
        return 'locked' as const;
      }
      if (!(await verifyPassword(user.passwordHash, password))) {
        await recordAudit(tx, { ...base, action: 'auth.login_failed', details: { reason: 'password' } });
        return 'wrong' as const;
      }
      await tx.session.create({
        data: {
          userId: user.id,
          tokenHash: hashToken(token),
          expiresAt,
          ip: ctx.ip ?? null,
          userAgent: ctx.userAgent?.slice(0, 512) ?? null,
          createdAt: now,
          lastSeenAt: now,
        },
      });
      await tx.user.update({ where: { id: user.id }, data: { lastLoginAt: now } });
      await recordAudit(tx, { ...base, action: 'auth.login' });
      return 'ok' as const;
    },
    { maxWait: 15_000, timeout: 30_000 },
  );
  if (outcome === 'locked') throw new AppError('locked', LOGIN_LOCKED_MESSAGE);
  if (outcome === 'wrong') {
    noteIpFailure(ctx.ip, now.getTime());
    throw new AppError('unauthorized', LOGIN_FAILED_MESSAGE);
  }
  return { token, expiresAt, actor: toActor(user) };
}

export type SessionCheck =
  | { status: 'ok'; actor: StaffActor; expiresAt: Date }
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
  return { status: 'ok', actor: toActor(session.user), expiresAt: session.expiresAt };
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
