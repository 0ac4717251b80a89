/**
 * lib/admin — the organisation administrator's settings (DESIGN §1): staff accounts (list, create with a
 * one-time initial password, disable/enable, role, password reset) and organisation settings (和暦表示,
 * IP allowlist). Admin-only and organisation-scoped (another organisation's user is not_found); every
 * change runs in one transaction with its 操作ログ event. Changes that could leave the organisation
 * without an active admin are serialised per organisation (advisory lock) and refused.
 */
import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { recordAudit, type RequestContext, staffAuditFields } from '../audit';
import { createStaffUser, hashPassword, ipAllowed, MIN_PASSWORD_LENGTH, parseCidr, staffEmailSchema, type StaffActor } from '../auth';
import type { Db, Tx } from '../db';
import { Prisma } from '../db';
import { AppError } from '../errors';

export type UserRole = 'staff' | 'admin';

export interface AdminUserRow {
  id: string;
  email: string;
  name: string;
  title: string | null;
  role: UserRole;
  disabledAt: Date | null;
  lastLoginAt: Date | null;
  createdAt: Date;
}

/** A row of the users table: also whether two-factor authentication is on (never the secret). */
export type AdminUserListRow = AdminUserRow & { mfaEnabled: boolean };

export const LAST_ADMIN_MESSAGE = '有効な管理者が一人もいなくなるため、この変更はできません。先に別の職員を管理者にしてください。';
export const SELF_DISABLE_MESSAGE = '自分自身のアカウントは無効にできません。';
export const SELF_RESET_MESSAGE = '自分自身のパスワードはここでは再設定できません。別の管理者に依頼してください。';
export const SELF_MFA_RESET_MESSAGE = '自分自身の二要素認証はここでは解除できません。「二要素認証」の画面から、または別の管理者に依頼してください。';
export const NO_MFA_MESSAGE = 'この職員は二要素認証を設定していません。';
export const EMAIL_TAKEN_MESSAGE = 'このメールアドレスは既に登録されています。';
export const MAX_ALLOWLIST_ENTRIES = 200;

export function ipLockoutMessage(ip: string | null | undefined): string {
  return `この設定を保存すると、現在の接続元（IPアドレス: ${ip || '不明'}）からログインできなくなります。現在の接続元を含む範囲を追加してください。`;
}

const USER_SELECT = {
  id: true,
  email: true,
  name: true,
  title: true,
  role: true,
  disabledAt: true,
  lastLoginAt: true,
  createdAt: true,
} as const;

function assertAdmin(actor: StaffActor): void {
  if (actor.role !== 'admin') throw new AppError('forbidden', 'この操作は管理者のみ行えます。');
}

function validationError(error: z.ZodError): AppError {
  const fieldErrors: Record<string, string> = {};
  for (const i of error.issues) fieldErrors[String(i.path[0] ?? 'form')] ??= i.message;
  return new AppError('validation', '入力内容を確認してください。', { fieldErrors });
}

function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) throw validationError(r.error);
  return r.data;
}

/** Inside the change's transaction: the actor is still an active admin of the organisation (not demoted or disabled meanwhile). */
async function assertStillAdmin(tx: Tx, actor: StaffActor): Promise<void> {
  const me = await tx.user.findFirst({
    where: { id: actor.userId, organizationId: actor.organizationId, role: 'admin', disabledAt: null },
    select: { id: true },
  });
  if (!me) throw new AppError('forbidden', 'この操作は管理者のみ行えます。');
}

const userNotFound = () => new AppError('not_found', '職員が見つかりません。');
const userIdSchema = z.string().uuid();

/** Serialise admin-count-changing operations of one organisation. */
async function lockOrgUsers(tx: Tx, organizationId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${'admin-users:' + organizationId}, 0))`;
}

/** The target user of this organisation, or not_found (also for a malformed id or another organisation's user). */
async function findOrgUser(tx: Tx, actor: StaffActor, userId: unknown) {
  const id = userIdSchema.safeParse(userId);
  if (!id.success) throw userNotFound();
  const user = await tx.user.findFirst({ where: { id: id.data, organizationId: actor.organizationId }, select: USER_SELECT });
  if (!user) throw userNotFound();
  return user;
}

async function otherActiveAdmins(tx: Tx, organizationId: string, exceptUserId: string): Promise<number> {
  return tx.user.count({ where: { organizationId, role: 'admin', disabledAt: null, id: { not: exceptUserId } } });
}

/** A random password (no look-alike characters), shown to the admin once. */
export function generatePassword(length = 16): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  let s = '';
  for (let i = 0; i < Math.max(length, MIN_PASSWORD_LENGTH); i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

export async function listUsers(db: Db, actor: StaffActor): Promise<AdminUserListRow[]> {
  assertAdmin(actor);
  const rows = await db.user.findMany({
    where: { organizationId: actor.organizationId },
    orderBy: [{ disabledAt: { sort: 'asc', nulls: 'first' } }, { createdAt: 'asc' }],
    select: { ...USER_SELECT, mfaSecret: true },
  });
  return rows.map(({ mfaSecret, ...u }) => ({ ...u, mfaEnabled: mfaSecret !== null }));
}

export const createUserSchema = z.object({
  email: staffEmailSchema,
  name: z
    .string({ error: '氏名を入力してください。' })
    .trim()
    .min(1, '氏名を入力してください。')
    .max(100, '氏名は100文字以内で入力してください。'),
  title: z
    .string()
    .trim()
    .max(100, '所属・役職は100文字以内で入力してください。')
    .nullish()
    .transform((s) => (s ? s : null)),
  role: z.enum(['staff', 'admin'], { error: '権限を選択してください。' }),
});
export type CreateUserInput = z.input<typeof createUserSchema>;

export async function createUser(
  db: Db,
  actor: StaffActor,
  input: CreateUserInput,
  ctx: RequestContext,
): Promise<{ user: AdminUserRow; initialPassword: string }> {
  assertAdmin(actor);
  const data = parse(createUserSchema, input);
  const initialPassword = generatePassword();
  try {
    const user = await db.$transaction(async (tx) => {
      await assertStillAdmin(tx, actor);
      const created = await createStaffUser(tx, { organizationId: actor.organizationId, ...data, password: initialPassword });
      await recordAudit(tx, {
        ...staffAuditFields(actor, ctx),
        action: 'user.created',
        details: { userId: created.id, email: created.email, name: created.name, role: created.role },
      });
      return created;
    });
    const { id, email, name, title, role, disabledAt, lastLoginAt, createdAt } = user;
    return { user: { id, email, name, title, role, disabledAt, lastLoginAt, createdAt }, initialPassword };
  } catch (e) {
    if (e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002') {
      throw new AppError('conflict', EMAIL_TAKEN_MESSAGE, { fieldErrors: { email: EMAIL_TAKEN_MESSAGE } });
    }
    throw e;
  }
}

/** Disable (and sign out everywhere) or re-enable a user. Not oneself; never the last active admin. */
export async function setUserDisabled(
  db: Db,
  actor: StaffActor,
  userId: string,
  disabled: boolean,
  ctx: RequestContext,
): Promise<AdminUserRow> {
  assertAdmin(actor);
  if (typeof disabled !== 'boolean') throw new AppError('validation', '入力内容を確認してください。');
  return db.$transaction(async (tx) => {
    await lockOrgUsers(tx, actor.organizationId);
    await assertStillAdmin(tx, actor);
    const user = await findOrgUser(tx, actor, userId);
    if (disabled && user.id === actor.userId) throw new AppError('invalid_state', SELF_DISABLE_MESSAGE);
    if (disabled && user.role === 'admin' && !user.disabledAt && (await otherActiveAdmins(tx, actor.organizationId, user.id)) === 0) {
      throw new AppError('invalid_state', LAST_ADMIN_MESSAGE);
    }
    if (Boolean(user.disabledAt) === disabled) return user;
    const updated = await tx.user.update({
      where: { id: user.id },
      data: { disabledAt: disabled ? new Date() : null },
      select: USER_SELECT,
    });
    const sessions = disabled ? (await tx.session.deleteMany({ where: { userId: user.id } })).count : 0;
    await recordAudit(tx, {
      ...staffAuditFields(actor, ctx),
      action: disabled ? 'user.disabled' : 'user.enabled',
      details: { userId: user.id, email: user.email, ...(disabled ? { sessionsRevoked: sessions } : {}) },
    });
    return updated;
  });
}

/** Make a user staff or admin. The last active admin cannot be made staff. */
export async function setUserRole(
  db: Db,
  actor: StaffActor,
  userId: string,
  role: UserRole,
  ctx: RequestContext,
): Promise<AdminUserRow> {
  assertAdmin(actor);
  const newRole = parse(z.enum(['staff', 'admin'], { error: '権限を選択してください。' }), role);
  return db.$transaction(async (tx) => {
    await lockOrgUsers(tx, actor.organizationId);
    await assertStillAdmin(tx, actor);
    const user = await findOrgUser(tx, actor, userId);
    if (user.role === newRole) return user;
    if (newRole === 'staff' && !user.disabledAt && (await otherActiveAdmins(tx, actor.organizationId, user.id)) === 0) {
      throw new AppError('invalid_state', LAST_ADMIN_MESSAGE);
    }
    const updated = await tx.user.update({ where: { id: user.id }, data: { role: newRole }, select: USER_SELECT });
    await recordAudit(tx, {
      ...staffAuditFields(actor, ctx),
      action: 'user.role_changed',
      details: { userId: user.id, email: user.email, from: user.role, to: newRole },
    });
    return updated;
  });
}

/** A new random password for another user (shown once); all their sessions end. */
export async function resetUserPassword(
  db: Db,
  actor: StaffActor,
  userId: string,
  ctx: RequestContext,
): Promise<{ password: string }> {
  assertAdmin(actor);
  const password = generatePassword();
  const passwordHash = await hashPassword(password);
  await db.$transaction(async (tx) => {
    await assertStillAdmin(tx, actor);
    const user = await findOrgUser(tx, actor, userId);
    if (user.id === actor.userId) throw new AppError('invalid_state', SELF_RESET_MESSAGE);
    await tx.user.update({ where: { id: user.id }, data: { passwordHash } });
    const sessions = await tx.session.deleteMany({ where: { userId: user.id } });
    await recordAudit(tx, {
      ...staffAuditFields(actor, ctx),
      action: 'user.password_reset',
      details: { userId: user.id, email: user.email, sessionsRevoked: sessions.count },
    });
  });
  return { password };
}

/**
 * Turn off a staff member's two-factor authentication (lost phone). Their sessions end; they sign in
 * with the password and can enrol again. Audited; an admin cannot do it for themself here.
 */
export async function resetUserMfa(db: Db, actor: StaffActor, userId: string, ctx: RequestContext): Promise<void> {
  assertAdmin(actor);
  await db.$transaction(async (tx) => {
    await assertStillAdmin(tx, actor);
    const user = await findOrgUser(tx, actor, userId);
    if (user.id === actor.userId) throw new AppError('invalid_state', SELF_MFA_RESET_MESSAGE);
    const cleared = await tx.user.updateMany({
      where: { id: user.id, mfaSecret: { not: null } },
      data: { mfaSecret: null, mfaLastStep: null },
    });
    if (cleared.count !== 1) throw new AppError('invalid_state', NO_MFA_MESSAGE);
    await tx.mfaRecoveryCode.deleteMany({ where: { userId: user.id } });
    const sessions = await tx.session.deleteMany({ where: { userId: user.id } });
    await recordAudit(tx, {
      ...staffAuditFields(actor, ctx),
      action: 'user.mfa_reset',
      details: { userId: user.id, email: user.email, sessionsRevoked: sessions.count },
    });
  });
}

export interface OrganizationSettings {
  showWareki: boolean;
  ipAllowlist: string[];
  /** Every staff member must enrol MFA before using staff pages (app/_lib/server.ts requireStaff). */
  requireMfa: boolean;
}

export async function getOrganizationSettings(db: Db, actor: StaffActor): Promise<OrganizationSettings> {
  assertAdmin(actor);
  const org = await db.organization.findUniqueOrThrow({
    where: { id: actor.organizationId },
    select: { showWareki: true, ipAllowlist: true, requireMfa: true },
  });
  return org;
}

export const organizationSettingsSchema = z.object({
  showWareki: z.boolean({ error: '和暦表示の指定が正しくありません。' }),
  /** Omitted = unchanged. */
  requireMfa: z.boolean({ error: '二要素認証の必須化の指定が正しくありません。' }).optional(),
  ipAllowlist: z
    .array(z.string().max(100, 'IPアドレスの範囲が長すぎます。'), { error: 'IPアドレスの範囲を確認してください。' })
    .transform((list) => [...new Set(list.map((s) => s.trim()).filter(Boolean))])
    .refine((list) => list.length <= MAX_ALLOWLIST_ENTRIES, `IPアドレスの範囲は${MAX_ALLOWLIST_ENTRIES}件までです。`)
    .superRefine((list, c) => {
      const bad = list.filter((s) => !parseCidr(s));
      if (bad.length) {
        c.addIssue({
          code: 'custom',
          message: `IPアドレスの範囲の形式が正しくありません: ${bad.slice(0, 5).join('、')}（例: 192.0.2.0/24、2001:db8::/32）`,
        });
      }
    }),
});
export type OrganizationSettingsInput = z.input<typeof organizationSettingsSchema>;

/**
 * Save 和暦表示 and the IP allowlist (CIDRs, IPv4/IPv6; empty = anyone). A list that would refuse the
 * request's own address (the admin making the change) is refused, so an admin cannot lock themself out.
 */
export async function updateOrganizationSettings(
  db: Db,
  actor: StaffActor,
  input: OrganizationSettingsInput,
  ctx: RequestContext,
): Promise<OrganizationSettings> {
  assertAdmin(actor);
  const data = parse(organizationSettingsSchema, input);
  if (!ipAllowed(ctx.ip, data.ipAllowlist)) {
    const message = ipLockoutMessage(ctx.ip);
    throw new AppError('validation', message, { fieldErrors: { ipAllowlist: message } });
  }
  return db.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT id FROM organizations WHERE id = ${actor.organizationId}::uuid FOR UPDATE`;
    await assertStillAdmin(tx, actor);
    const before = await tx.organization.findUniqueOrThrow({
      where: { id: actor.organizationId },
      select: { showWareki: true, ipAllowlist: true, requireMfa: true },
    });
    const after = await tx.organization.update({
      where: { id: actor.organizationId },
      data: { showWareki: data.showWareki, ipAllowlist: data.ipAllowlist, requireMfa: data.requireMfa ?? before.requireMfa },
      select: { showWareki: true, ipAllowlist: true, requireMfa: true },
    });
    await recordAudit(tx, {
      ...staffAuditFields(actor, ctx),
      action: 'organization.settings_updated',
      details: { before, after },
    });
    return after;
  });
}
