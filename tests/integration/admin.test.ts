/**
 * lib/admin against real PostgreSQL: staff accounts (create → sign in, disable → refused and signed out,
 * role, password reset), the last-admin guard, organisation isolation, and the organisation settings
 * (IP allowlist validation, self-lockout refusal, audited).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createUser,
  LAST_ADMIN_MESSAGE,
  listUsers,
  resetUserMfa,
  resetUserPassword,
  setUserDisabled,
  setUserRole,
  updateOrganizationSettings,
} from '../../lib/admin';
import { verifyAuditChain } from '../../lib/audit';
import {
  base32Decode,
  confirmMfaEnrolment,
  createStaffUser,
  getMfaStatus,
  getSessionActor,
  ipAllowed,
  login,
  parseCidr,
  resetLoginThrottle,
  startMfaEnrolment,
  totp,
  type StaffActor,
} from '../../lib/auth';
import { isAppError } from '../../lib/errors';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

let t: TestDatabase;
let orgId: string;
let otherOrgId: string;
let admin: StaffActor;
let otherAdmin: StaffActor;
const ctx = { ip: '192.0.2.10', userAgent: 'vitest' };

async function expectCode(p: Promise<unknown>, code: string) {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(isAppError(e), String(e)).toBe(true);
  expect((e as { code: string }).code).toBe(code);
  return e as Error & { fieldErrors?: Record<string, string> };
}

function actorOf(u: { id: string; organizationId: string; name: string; email: string; role: 'staff' | 'admin' }, orgName: string): StaffActor {
  return { userId: u.id, organizationId: u.organizationId, organizationName: orgName, name: u.name, email: u.email, role: u.role };
}

beforeAll(async () => {
  t = await createTestDatabase();
  const org = await t.prisma.organization.create({ data: { name: '川口市', slug: 'kawaguchi' } });
  const other = await t.prisma.organization.create({ data: { name: '蕨市', slug: 'warabi' } });
  orgId = org.id;
  otherOrgId = other.id;
  const a = await createStaffUser(t.prisma, { organizationId: orgId, email: 'admin@kawaguchi.example', name: '管理 花子', password: 'admin-password-1234', role: 'admin' });
  admin = actorOf(a, '川口市');
  const b = await createStaffUser(t.prisma, { organizationId: otherOrgId, email: 'admin@warabi.example', name: '蕨 管理者', password: 'admin-password-1234', role: 'admin' });
  otherAdmin = actorOf(b, '蕨市');
});
afterAll(async () => {
  await t?.drop();
});

describe('staff accounts', () => {
  it('creates a user with a one-time initial password they can sign in with (audited)', async () => {
    const r = await createUser(t.prisma, admin, { email: ' New.Staff@Kawaguchi.Example ', name: '新人 太郎', title: '契約課', role: 'staff' }, ctx);
    expect(r.user).toMatchObject({ email: 'new.staff@kawaguchi.example', name: '新人 太郎', title: '契約課', role: 'staff', disabledAt: null });
    expect(r.initialPassword.length).toBeGreaterThanOrEqual(12);
    const row = await t.prisma.user.findUniqueOrThrow({ where: { id: r.user.id } });
    expect(row.organizationId).toBe(orgId);
    expect(row.passwordHash).not.toContain(r.initialPassword);
    const s = await login(t.prisma, { email: 'new.staff@kawaguchi.example', password: r.initialPassword }, ctx);
    expect(s.actor).toMatchObject({ userId: r.user.id, role: 'staff', organizationId: orgId });
    const ev = await t.prisma.auditEvent.findFirstOrThrow({ where: { organizationId: orgId, action: 'user.created' } });
    expect(ev.actorId).toBe(admin.userId);
    expect(JSON.stringify(ev.details)).not.toContain(r.initialPassword);
    expect((await listUsers(t.prisma, admin)).map((u) => u.email)).toContain('new.staff@kawaguchi.example');
  });

  it('refuses a duplicate email, bad input and a non-admin actor', async () => {
    const e = await expectCode(createUser(t.prisma, admin, { email: 'admin@warabi.example', name: 'x', role: 'staff' }, ctx), 'conflict');
    expect(e.message).toMatch(/既に登録/);
    const v = await expectCode(createUser(t.prisma, admin, { email: 'nope', name: '', role: 'staff' }, ctx), 'validation');
    expect(v.fieldErrors?.email).toMatch(/メールアドレス/);
    expect(v.fieldErrors?.name).toMatch(/氏名/);
    await expectCode(createUser(t.prisma, admin, { email: 'x@kawaguchi.example', name: 'x', role: 'owner' as 'admin' }, ctx), 'validation');
    const staff = (await listUsers(t.prisma, admin)).find((u) => u.role === 'staff')!;
    const staffActor = { ...admin, userId: staff.id, role: 'staff' as const };
    await expectCode(createUser(t.prisma, staffActor, { email: 'y@kawaguchi.example', name: 'y', role: 'admin' }, ctx), 'forbidden');
    await expectCode(listUsers(t.prisma, staffActor), 'forbidden');
    await expectCode(updateOrganizationSettings(t.prisma, staffActor, { showWareki: true, ipAllowlist: [] }, ctx), 'forbidden');
  });

  it('disabling refuses sign-in and ends existing sessions; enabling lets the user back in', async () => {
    const { user, initialPassword } = await createUser(t.prisma, admin, { email: 'leaver@kawaguchi.example', name: '退職 予定', role: 'staff' }, ctx);
    const s = await login(t.prisma, { email: user.email, password: initialPassword }, ctx);
    expect((await getSessionActor(t.prisma, s.token, ctx)).status).toBe('ok');

    const d = await setUserDisabled(t.prisma, admin, user.id, true, ctx);
    expect(d.disabledAt).not.toBeNull();
    expect(await t.prisma.session.count({ where: { userId: user.id } })).toBe(0);
    expect((await getSessionActor(t.prisma, s.token, ctx)).status).not.toBe('ok');
    await expectCode(login(t.prisma, { email: user.email, password: initialPassword }, ctx), 'unauthorized');
    const ev = await t.prisma.auditEvent.findFirstOrThrow({ where: { organizationId: orgId, action: 'user.disabled' }, orderBy: { id: 'desc' } });
    expect(ev.details).toMatchObject({ userId: user.id, sessionsRevoked: 1 });

    await setUserDisabled(t.prisma, admin, user.id, false, ctx);
    expect((await login(t.prisma, { email: user.email, password: initialPassword }, ctx)).actor.userId).toBe(user.id);
    expect(await t.prisma.auditEvent.count({ where: { organizationId: orgId, action: 'user.enabled' } })).toBe(1);
  });

  it('resets a password: the old one stops working, sessions end, the new one works', async () => {
    const { user, initialPassword } = await createUser(t.prisma, admin, { email: 'forgetful@kawaguchi.example', name: '忘れ 物子', role: 'staff' }, ctx);
    const s = await login(t.prisma, { email: user.email, password: initialPassword }, ctx);
    const { password } = await resetUserPassword(t.prisma, admin, user.id, ctx);
    expect(password).not.toBe(initialPassword);
    expect((await getSessionActor(t.prisma, s.token, ctx)).status).toBe('none');
    await expectCode(login(t.prisma, { email: user.email, password: initialPassword }, ctx), 'unauthorized');
    expect((await login(t.prisma, { email: user.email, password }, ctx)).actor.userId).toBe(user.id);
    expect(await t.prisma.auditEvent.count({ where: { organizationId: orgId, action: 'user.password_reset' } })).toBe(1);
    await expectCode(resetUserPassword(t.prisma, admin, admin.userId, ctx), 'invalid_state');
  });

  it('turns off a lost-phone user’s two-factor authentication: sessions end, password sign-in works, audited', async () => {
    const { user, initialPassword } = await createUser(t.prisma, admin, { email: 'lostphone@kawaguchi.example', name: '紛失 太郎', role: 'staff' }, ctx);
    const first = await login(t.prisma, { email: user.email, password: initialPassword }, ctx);
    const enrol = await startMfaEnrolment(first.actor);
    await confirmMfaEnrolment(t.prisma, first.actor, { enrolToken: enrol.enrolToken, code: totp(base32Decode(enrol.secret), new Date()) }, ctx);
    expect((await getMfaStatus(t.prisma, first.actor)).enabled).toBe(true);
    expect((await listUsers(t.prisma, admin)).find((u) => u.id === user.id)?.mfaEnabled).toBe(true);
    await expect(login(t.prisma, { email: user.email, password: initialPassword }, ctx)).rejects.toBeTruthy(); // password alone is not enough

    await expectCode(resetUserMfa(t.prisma, otherAdmin, user.id, ctx), 'not_found');
    await expectCode(resetUserMfa(t.prisma, admin, admin.userId, ctx), 'invalid_state');
    await resetUserMfa(t.prisma, admin, user.id, ctx);
    expect((await getMfaStatus(t.prisma, first.actor)).enabled).toBe(false);
    expect((await getSessionActor(t.prisma, first.token, ctx)).status).toBe('none');
    expect((await login(t.prisma, { email: user.email, password: initialPassword }, ctx)).actor.userId).toBe(user.id);
    expect((await listUsers(t.prisma, admin)).find((u) => u.id === user.id)?.mfaEnabled).toBe(false);
    await expectCode(resetUserMfa(t.prisma, admin, user.id, ctx), 'invalid_state'); // nothing to reset
    const events = await t.prisma.auditEvent.findMany({ where: { organizationId: orgId, action: 'user.mfa_reset' } });
    expect(events).toHaveLength(1);
    expect(JSON.stringify(events[0].details)).not.toMatch(/secret/i);
  });

  it('guards the last active admin (role and disable) and refuses disabling oneself', async () => {
    await expectCode(setUserDisabled(t.prisma, admin, admin.userId, true, ctx), 'invalid_state');
    const e = await expectCode(setUserRole(t.prisma, admin, admin.userId, 'staff', ctx), 'invalid_state');
    expect(e.message).toBe(LAST_ADMIN_MESSAGE);

    // A second admin: now the first may step down, but the second (now the only one) may not be disabled or demoted.
    const { user: second } = await createUser(t.prisma, admin, { email: 'second.admin@kawaguchi.example', name: '副 管理者', role: 'staff' }, ctx);
    const promoted = await setUserRole(t.prisma, admin, second.id, 'admin', ctx);
    expect(promoted.role).toBe('admin');
    const secondActor = { ...admin, userId: second.id, email: second.email, name: second.name };
    await setUserRole(t.prisma, secondActor, admin.userId, 'staff', ctx);
    // The demoted admin's actor (taken from a session before the change) can no longer change anything.
    await expectCode(createUser(t.prisma, admin, { email: 'stale@kawaguchi.example', name: 'x', role: 'admin' }, ctx), 'forbidden');
    await expectCode(setUserRole(t.prisma, admin, admin.userId, 'admin', ctx), 'forbidden');
    await expectCode(updateOrganizationSettings(t.prisma, admin, { showWareki: true, ipAllowlist: [] }, ctx), 'forbidden');
    await expectCode(setUserDisabled(t.prisma, { ...admin, role: 'staff' }, second.id, true, ctx), 'forbidden');
    await expectCode(setUserRole(t.prisma, secondActor, second.id, 'staff', ctx), 'invalid_state');
    // A disabled admin does not count: make the first admin again, disable them, the second is still the last active one.
    await setUserRole(t.prisma, secondActor, admin.userId, 'admin', ctx);
    await setUserDisabled(t.prisma, secondActor, admin.userId, true, ctx);
    const staffActor2 = await t.prisma.user.findUniqueOrThrow({ where: { id: admin.userId } });
    expect(staffActor2.disabledAt).not.toBeNull();
    await expectCode(setUserRole(t.prisma, secondActor, second.id, 'staff', ctx), 'invalid_state');
    await setUserDisabled(t.prisma, secondActor, admin.userId, false, ctx);
    const changes = await t.prisma.auditEvent.findMany({ where: { organizationId: orgId, action: 'user.role_changed' } });
    expect(changes.map((c) => (c.details as { to: string }).to)).toEqual(['admin', 'staff', 'admin']);
  });

  it('two admins demoting each other at the same time: exactly one succeeds (the guard is serialised)', async () => {
    const org = await t.prisma.organization.create({ data: { name: '戸田市', slug: 'toda' } });
    const mk = async (email: string) =>
      actorOf(await createStaffUser(t.prisma, { organizationId: org.id, email, name: email, password: 'admin-password-1234', role: 'admin' }), '戸田市');
    const [a, b] = await Promise.all([mk('a@toda.example'), mk('b@toda.example')]);
    const results = await Promise.allSettled([setUserRole(t.prisma, a, b.userId, 'staff', ctx), setUserRole(t.prisma, b, a.userId, 'staff', ctx)]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(await t.prisma.user.count({ where: { organizationId: org.id, role: 'admin', disabledAt: null } })).toBe(1);
    // Same for disabling each other (another organisation with exactly two admins).
    const org2 = await t.prisma.organization.create({ data: { name: '北本市', slug: 'kitamoto' } });
    const mk2 = async (email: string) =>
      actorOf(await createStaffUser(t.prisma, { organizationId: org2.id, email, name: email, password: 'admin-password-1234', role: 'admin' }), '北本市');
    const [c, d] = await Promise.all([mk2('c@kitamoto.example'), mk2('d@kitamoto.example')]);
    const disables = await Promise.allSettled([setUserDisabled(t.prisma, c, d.userId, true, ctx), setUserDisabled(t.prisma, d, c.userId, true, ctx)]);
    expect(disables.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(await t.prisma.user.count({ where: { organizationId: org2.id, role: 'admin', disabledAt: null } })).toBe(1);
  });

  it('keeps organisations apart: another organisation’s user is not_found, and lists are scoped', async () => {
    const theirs = await t.prisma.user.findFirstOrThrow({ where: { organizationId: otherOrgId } });
    await expectCode(setUserDisabled(t.prisma, admin, theirs.id, true, ctx), 'not_found');
    await expectCode(setUserRole(t.prisma, admin, theirs.id, 'staff', ctx), 'not_found');
    await expectCode(resetUserPassword(t.prisma, admin, theirs.id, ctx), 'not_found');
    await expectCode(setUserDisabled(t.prisma, admin, 'not-a-uuid', true, ctx), 'not_found');
    const mine = (await listUsers(t.prisma, admin)).map((u) => u.email);
    expect(mine).not.toContain('admin@warabi.example');
    expect((await listUsers(t.prisma, otherAdmin)).map((u) => u.email)).toEqual(['admin@warabi.example']);
    expect((await t.prisma.user.findUniqueOrThrow({ where: { id: theirs.id } })).disabledAt).toBeNull();
    expect(await t.prisma.auditEvent.count({ where: { organizationId: otherOrgId, action: { startsWith: 'user.' } } })).toBe(0);
  });
});

describe('organisation settings', () => {
  it('validates CIDRs (IPv4/IPv6) and names the bad lines', async () => {
    for (const bad of ['10.0.0.0/33', '2001:db8::/129', 'example.com', '10.0.0.1/', '10.0.0.0/0x8', '10.0.0.0/8/8', '300.1.1.1']) {
      const e = await expectCode(updateOrganizationSettings(t.prisma, admin, { showWareki: false, ipAllowlist: ['192.0.2.0/24', bad] }, ctx), 'validation');
      expect(e.fieldErrors?.ipAllowlist, bad).toContain(bad);
    }
    // A trailing "/" used to parse as /0 (allow everyone); "0x8" as 8.
    expect(parseCidr('10.0.0.1/')).toBeNull();
    expect(parseCidr('10.0.0.0/0x8')).toBeNull();
    expect(ipAllowed('203.0.113.5', ['10.0.0.1/'])).toBe(false);
    const org = await t.prisma.organization.findUniqueOrThrow({ where: { id: orgId } });
    expect(org.ipAllowlist).toEqual([]);
  });

  it('refuses a list that would lock out the admin making the change (clear Japanese message)', async () => {
    const e = await expectCode(updateOrganizationSettings(t.prisma, admin, { showWareki: false, ipAllowlist: ['198.51.100.0/24'] }, ctx), 'validation');
    expect(e.message).toContain('192.0.2.10');
    expect(e.message).toMatch(/ログインできなくなります/);
    await expectCode(updateOrganizationSettings(t.prisma, admin, { showWareki: false, ipAllowlist: ['2001:db8::/32'] }, ctx), 'validation');
    await expectCode(updateOrganizationSettings(t.prisma, admin, { showWareki: false, ipAllowlist: ['192.0.2.0/24'] }, { ip: null }), 'validation');
    expect((await t.prisma.organization.findUniqueOrThrow({ where: { id: orgId } })).ipAllowlist).toEqual([]);
  });

  it('saves 和暦表示 and the allowlist (trimmed, blank lines and duplicates dropped), audited with before/after; enforced at login', async () => {
    const r = await updateOrganizationSettings(
      t.prisma,
      admin,
      { showWareki: true, ipAllowlist: [' 192.0.2.0/24 ', '', '2001:db8::/32', '192.0.2.0/24'] },
      ctx,
    );
    expect(r).toEqual({ showWareki: true, ipAllowlist: ['192.0.2.0/24', '2001:db8::/32'], requireMfa: false });
    const ev = await t.prisma.auditEvent.findFirstOrThrow({ where: { organizationId: orgId, action: 'organization.settings_updated' } });
    expect(ev.details).toEqual({
      before: { showWareki: false, ipAllowlist: [], requireMfa: false },
      after: { showWareki: true, ipAllowlist: ['192.0.2.0/24', '2001:db8::/32'], requireMfa: false },
    });
    expect(ev.actorId).toBe(admin.userId);
    resetLoginThrottle();
    await expectCode(login(t.prisma, { email: 'admin@kawaguchi.example', password: 'admin-password-1234' }, { ip: '203.0.113.9' }), 'forbidden');
    expect((await login(t.prisma, { email: 'admin@kawaguchi.example', password: 'admin-password-1234' }, { ip: '2001:db8::5' })).actor.role).toBe('admin');
    // Other organisation untouched; clearing the list is always allowed.
    expect((await t.prisma.organization.findUniqueOrThrow({ where: { id: otherOrgId } })).showWareki).toBe(false);
    await updateOrganizationSettings(t.prisma, admin, { showWareki: true, ipAllowlist: [] }, { ip: '203.0.113.9' });
    expect(await verifyAuditChain(t.prisma, orgId)).toBeNull();
  });
});
