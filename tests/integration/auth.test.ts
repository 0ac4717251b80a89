import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../lib/audit';
import {
  createStaffUser,
  getSessionActor,
  ipAllowed,
  login,
  logout,
  MAX_FAILED_LOGINS,
  MAX_FAILED_LOGINS_PER_IP,
  resetLoginThrottle,
} from '../../lib/auth';
import { isAppError } from '../../lib/errors';
import { hashToken } from '../../lib/security';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

let t: TestDatabase;
let orgId: string;
const ctx = { ip: '192.0.2.10', userAgent: 'vitest' };
const PASSWORD = 'correct horse battery staple';

async function expectCode(p: Promise<unknown>, code: string) {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(isAppError(e), String(e)).toBe(true);
  expect((e as { code: string }).code).toBe(code);
  return e as Error;
}

beforeAll(async () => {
  t = await createTestDatabase();
  const org = await t.prisma.organization.create({ data: { name: '川口市', slug: 'kawaguchi' } });
  orgId = org.id;
  await createStaffUser(t.prisma, { organizationId: orgId, email: 'Staff@City.Example', name: '契約 太郎', password: PASSWORD });
});
afterAll(async () => {
  await t?.drop();
});

describe('staff sign-in', () => {
  it('logs in with the right password, stores only the token hash, and resolves the actor', async () => {
    const r = await login(t.prisma, { email: 'staff@city.example', password: PASSWORD }, ctx);
    expect(r.token.length).toBeGreaterThanOrEqual(43);
    expect(r.actor).toMatchObject({ organizationId: orgId, organizationName: '川口市', role: 'staff' });
    const row = await t.prisma.session.findUnique({ where: { tokenHash: hashToken(r.token) } });
    expect(row).not.toBeNull();
    expect(await t.prisma.session.count({ where: { tokenHash: r.token } })).toBe(0);
    const s = await getSessionActor(t.prisma, r.token, ctx);
    expect(s.status).toBe('ok');
    if (s.status === 'ok') expect(s.actor.email).toBe('staff@city.example');
    const events = await t.prisma.auditEvent.findMany({ where: { organizationId: orgId, action: 'auth.login' } });
    expect(events.length).toBeGreaterThan(0);
    expect(JSON.stringify(events, (_k, v) => (typeof v === "bigint" ? String(v) : v))).not.toContain(r.token);
  });

  it('refuses a wrong password and an unknown email with the same message, and audits the failure', async () => {
    const a = await expectCode(login(t.prisma, { email: 'staff@city.example', password: 'wrong password!' }, ctx), 'unauthorized');
    const b = await expectCode(login(t.prisma, { email: 'nobody@city.example', password: 'wrong password!' }, ctx), 'unauthorized');
    expect(a.message).toBe(b.message);
    expect(a.message).toMatch(/正しくありません/);
    expect(await t.prisma.auditEvent.count({ where: { organizationId: orgId, action: 'auth.login_failed' } })).toBeGreaterThan(0);
  });

  it('gives field messages for malformed input', async () => {
    const e = (await expectCode(login(t.prisma, { email: 'not-an-email', password: '' }, ctx), 'validation')) as Error & {
      fieldErrors?: Record<string, string>;
    };
    expect(e.fieldErrors?.email).toMatch(/メールアドレス/);
    expect(e.fieldErrors?.password).toMatch(/パスワード/);
  });

  it('expires sessions after the TTL and deletes them', async () => {
    const now = new Date('2026-11-27T00:00:00Z');
    const r = await login(t.prisma, { email: 'staff@city.example', password: PASSWORD }, ctx, { now, ttlHours: 1 });
    expect((await getSessionActor(t.prisma, r.token, ctx, { now: new Date(now.getTime() + 59 * 60_000) })).status).toBe('ok');
    expect((await getSessionActor(t.prisma, r.token, ctx, { now: new Date(now.getTime() + 61 * 60_000) })).status).toBe('expired');
    expect(await t.prisma.session.count({ where: { tokenHash: hashToken(r.token) } })).toBe(0);
  });

  it('logout deletes the session and records auth.logout', async () => {
    const r = await login(t.prisma, { email: 'staff@city.example', password: PASSWORD }, ctx);
    await logout(t.prisma, r.token, ctx);
    expect((await getSessionActor(t.prisma, r.token, ctx)).status).toBe('none');
    expect(await t.prisma.auditEvent.count({ where: { organizationId: orgId, action: 'auth.logout' } })).toBe(1);
    expect((await getSessionActor(t.prisma, 'garbage', ctx)).status).toBe('none');
  });

  it('locks the account after repeated failures, even for the right password, then unlocks after the window', async () => {
    const org = await t.prisma.organization.create({ data: { name: '別市', slug: 'lockout-city' } });
    await createStaffUser(t.prisma, { organizationId: org.id, email: 'lock@city.example', name: '鍵 花子', password: PASSWORD });
    const start = new Date(Date.now() - 60_000);
    for (let i = 0; i < MAX_FAILED_LOGINS; i++) {
      await expectCode(login(t.prisma, { email: 'lock@city.example', password: 'nope nope nope' }, ctx, { now: start }), 'unauthorized');
    }
    const locked = await expectCode(login(t.prisma, { email: 'lock@city.example', password: PASSWORD }, ctx, { now: start }), 'locked');
    expect(locked.message).toMatch(/しばらくログインできません/);
    const later = new Date(start.getTime() + 16 * 60_000);
    const r = await login(t.prisma, { email: 'lock@city.example', password: PASSWORD }, ctx, { now: later });
    expect(r.actor.email).toBe('lock@city.example');
  });

  it('holds the lockout under concurrency: parallel wrong passwords get at most MAX_FAILED_LOGINS guesses', async () => {
    const org = await t.prisma.organization.create({ data: { name: '並行市', slug: 'parallel-city' } });
    const user = await createStaffUser(t.prisma, { organizationId: org.id, email: 'race@city.example', name: '並行 次郎', password: PASSWORD });
    const attempts = 4 * MAX_FAILED_LOGINS;
    // Distinct client addresses, so the per-IP throttle is not what stops them.
    const results = await Promise.all(
      Array.from({ length: attempts }, (_, i) =>
        login(t.prisma, { email: 'race@city.example', password: `wrong guess ${i}` }, { ip: `203.0.113.${i + 1}`, userAgent: 'vitest' }).then(
          () => 'ok',
          (e: unknown) => (isAppError(e) ? e.code : String(e)),
        ),
      ),
    );
    expect(results.filter((r) => r === 'unauthorized').length).toBeLessThanOrEqual(MAX_FAILED_LOGINS);
    expect(results.filter((r) => r !== 'unauthorized').every((r) => r === 'locked')).toBe(true);
    const guesses = await t.prisma.auditEvent.count({
      where: { actorId: user.id, action: 'auth.login_failed', details: { path: ['reason'], equals: 'password' } },
    });
    expect(guesses).toBeLessThanOrEqual(MAX_FAILED_LOGINS);
    await expectCode(login(t.prisma, { email: 'race@city.example', password: PASSWORD }, ctx), 'locked');
    expect(await verifyAuditChain(t.prisma, org.id)).toBeNull();
  });

  it('enforces the organisation IP allowlist at login and on every request', async () => {
    const r = await login(t.prisma, { email: 'staff@city.example', password: PASSWORD }, ctx);
    await t.prisma.organization.update({ where: { id: orgId }, data: { ipAllowlist: ['198.51.100.0/24', '2001:db8::/32'] } });
    try {
      await expectCode(login(t.prisma, { email: 'staff@city.example', password: PASSWORD }, ctx), 'forbidden');
      expect((await getSessionActor(t.prisma, r.token, ctx)).status).toBe('ip_denied');
      expect((await getSessionActor(t.prisma, r.token, { ip: '198.51.100.7' })).status).toBe('ok');
      const ok = await login(t.prisma, { email: 'staff@city.example', password: PASSWORD }, { ip: '2001:db8::1' });
      expect(ok.actor.organizationId).toBe(orgId);
    } finally {
      await t.prisma.organization.update({ where: { id: orgId }, data: { ipAllowlist: [] } });
    }
    expect(await verifyAuditChain(t.prisma, orgId)).toBeNull();
  });
});

describe('per-IP throttle', () => {
  it('refuses an IP that keeps failing across unknown accounts with rate_limited, other IPs unaffected', async () => {
    resetLoginThrottle();
    const attacker = { ip: '198.18.0.66', userAgent: 'vitest' };
    for (let i = 0; i < MAX_FAILED_LOGINS_PER_IP; i++) {
      await expectCode(login(t.prisma, { email: `guess${i}@city.example`, password: 'x' }, attacker), 'unauthorized');
    }
    const e = await expectCode(login(t.prisma, { email: 'staff@city.example', password: PASSWORD }, attacker), 'rate_limited');
    expect(e.message).toMatch(/試行回数が多すぎます/);
    const ok = await login(t.prisma, { email: 'staff@city.example', password: PASSWORD }, { ip: '198.18.0.67' });
    expect(ok.actor.organizationId).toBe(orgId);
    resetLoginThrottle();
  });
});

describe('ipAllowed', () => {
  it('matches IPv4, IPv6 and IPv4-mapped addresses; empty list allows all', () => {
    expect(ipAllowed('203.0.113.5', [])).toBe(true);
    expect(ipAllowed('203.0.113.5', ['203.0.113.0/24'])).toBe(true);
    expect(ipAllowed('::ffff:203.0.113.5', ['203.0.113.0/24'])).toBe(true);
    expect(ipAllowed('203.0.114.5', ['203.0.113.0/24'])).toBe(false);
    expect(ipAllowed('2001:db8:1::5', ['2001:db8::/32'])).toBe(true);
    expect(ipAllowed('127.0.0.1', ['127.0.0.1'])).toBe(true);
    expect(ipAllowed(null, ['127.0.0.1'])).toBe(false);
    expect(ipAllowed('garbage', ['127.0.0.1'])).toBe(false);
  });
});
