/**
 * Staff MFA (TOTP) with real PostgreSQL: enrolment stores the secret encrypted, sign-in needs the code
 * after the password, wrong codes count towards the lockout (also in parallel), codes cannot be replayed,
 * and turning MFA off needs a current code. Users without MFA keep the password-only flow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../lib/audit';
import {
  base32Decode,
  beginLogin,
  completeMfaLogin,
  confirmMfaEnrolment,
  createStaffUser,
  disableMfa,
  getMfaStatus,
  getSessionActor,
  login,
  MAX_FAILED_LOGINS,
  resetLoginThrottle,
  startMfaEnrolment,
  totp,
  type LoginResult,
  type MfaChallenge,
  type StaffActor,
} from '../../lib/auth';
import { decryptMfaSecret } from '../../lib/auth/mfa-crypto';
import { isAppError } from '../../lib/errors';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

let t: TestDatabase;
let orgId: string;
const ctx = { ip: '192.0.2.20', userAgent: 'vitest' };
const PASSWORD = 'correct horse battery staple';
// Start of a 30-second step, a little in the past (audit times stay plausible).
const T0 = Math.floor((Date.now() - 3600_000) / 30_000) * 30_000;
const at = (steps: number, extraMs = 0) => new Date(T0 + steps * 30_000 + extraMs);

async function expectCode(p: Promise<unknown>, code: string) {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(isAppError(e), String(e)).toBe(true);
  expect((e as { code: string }).code).toBe(code);
  return e as Error;
}

async function newUser(email: string): Promise<StaffActor> {
  const u = await createStaffUser(t.prisma, { organizationId: orgId, email, name: `職員 ${email}`, password: PASSWORD });
  return { userId: u.id, organizationId: orgId, organizationName: '二要素市', name: u.name, email: u.email, role: 'staff' };
}

/** Enrol at step 0 and return the raw secret (as the user's app would hold it). */
async function enrol(actor: StaffActor): Promise<Buffer> {
  const e = await startMfaEnrolment(actor, { now: at(0) });
  const secret = base32Decode(e.secret);
  await confirmMfaEnrolment(t.prisma, actor, { enrolToken: e.enrolToken, code: totp(secret, at(0)) }, ctx, { now: at(0) });
  return secret;
}

async function challenge(email: string, now: Date): Promise<MfaChallenge> {
  const r = await beginLogin(t.prisma, { email, password: PASSWORD }, ctx, { now });
  expect('mfaRequired' in r).toBe(true);
  return r as MfaChallenge;
}

beforeAll(async () => {
  t = await createTestDatabase();
  orgId = (await t.prisma.organization.create({ data: { name: '二要素市', slug: 'mfa-city' } })).id;
  resetLoginThrottle();
});
afterAll(async () => {
  await t?.drop();
});

describe('MFA enrolment', () => {
  it('shows a base32 secret + otpauth URI, needs a current code for it, and stores it encrypted', async () => {
    const actor = await newUser('enrol@city.example');
    const e = await startMfaEnrolment(actor, { now: at(0) });
    expect(e.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(e.otpauthUri).toContain(`secret=${e.secret}`);
    expect(e.enrolToken).not.toContain(e.secret);
    const secret = base32Decode(e.secret);
    const wrong = totp(secret, at(0)) === '000000' ? '111111' : '000000';
    await expectCode(confirmMfaEnrolment(t.prisma, actor, { enrolToken: e.enrolToken, code: wrong }, ctx, { now: at(0) }), 'validation');
    await expectCode(confirmMfaEnrolment(t.prisma, actor, { enrolToken: e.enrolToken, code: 'abc' }, ctx, { now: at(0) }), 'validation');
    // The enrolment token belongs to this user only and expires.
    const other = await newUser('other@city.example');
    await expectCode(confirmMfaEnrolment(t.prisma, other, { enrolToken: e.enrolToken, code: totp(secret, at(0)) }, ctx, { now: at(0) }), 'link_expired');
    await expectCode(
      confirmMfaEnrolment(t.prisma, actor, { enrolToken: e.enrolToken, code: totp(secret, at(40)) }, ctx, { now: at(40) }),
      'link_expired',
    );
    expect((await getMfaStatus(t.prisma, actor)).enabled).toBe(false);

    await confirmMfaEnrolment(t.prisma, actor, { enrolToken: e.enrolToken, code: totp(secret, at(0)) }, ctx, { now: at(0) });
    expect((await getMfaStatus(t.prisma, actor)).enabled).toBe(true);
    const row = await t.prisma.user.findUniqueOrThrow({ where: { id: actor.userId } });
    expect(row.mfaSecret).toMatch(/^v1:/);
    expect(row.mfaSecret).not.toContain(e.secret);
    expect(Buffer.from(row.mfaSecret!.slice(3), 'base64url').includes(secret)).toBe(false);
    expect((await decryptMfaSecret(actor.userId, row.mfaSecret!)).equals(secret)).toBe(true);
    // Bound to the user: the ciphertext copied to another account does not decrypt.
    await expect(decryptMfaSecret(other.userId, row.mfaSecret!)).rejects.toThrow();
    // A second enrolment while enabled is refused.
    const again = await startMfaEnrolment(actor, { now: at(1) });
    await expectCode(
      confirmMfaEnrolment(t.prisma, actor, { enrolToken: again.enrolToken, code: totp(base32Decode(again.secret), at(1)) }, ctx, { now: at(1) }),
      'conflict',
    );
    const events = await t.prisma.auditEvent.findMany({ where: { actorId: actor.userId } });
    expect(events.map((x) => x.action)).toContain('auth.mfa_enabled');
    const dump = JSON.stringify(events, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
    expect(dump).not.toContain(e.secret);
    expect(dump).not.toContain(row.mfaSecret);
  });
});

describe('sign-in with MFA', () => {
  it('gives no session for the password alone; the code completes the sign-in', async () => {
    const actor = await newUser('login@city.example');
    const secret = await enrol(actor);
    const before = await t.prisma.session.count({ where: { userId: actor.userId } });
    await expectCode(login(t.prisma, { email: 'login@city.example', password: PASSWORD }, ctx, { now: at(2) }), 'unauthorized');
    const c = await challenge('login@city.example', at(2));
    expect(c.mfaToken).toBeTruthy();
    expect(await t.prisma.session.count({ where: { userId: actor.userId } })).toBe(before);
    // A wrong password still fails as before.
    await expectCode(beginLogin(t.prisma, { email: 'login@city.example', password: 'wrong password!' }, ctx, { now: at(2) }), 'unauthorized');

    const r: LoginResult = await completeMfaLogin(t.prisma, { mfaToken: c.mfaToken, code: totp(secret, at(2)) }, ctx, { now: at(2) });
    expect(r.actor.userId).toBe(actor.userId);
    const s = await getSessionActor(t.prisma, r.token, ctx, { now: at(2) });
    expect(s.status).toBe('ok');
    const ev = await t.prisma.auditEvent.findFirst({ where: { actorId: actor.userId, action: 'auth.login' } });
    expect(ev?.details).toMatchObject({ mfa: 'totp' });
    // The pending token is single-use: it cannot complete a second sign-in, even with a fresh code.
    await expectCode(completeMfaLogin(t.prisma, { mfaToken: c.mfaToken, code: totp(secret, at(3)) }, ctx, { now: at(3) }), 'link_expired');
  });

  it('refuses a code that was already accepted (replay), also within its ±1-step window', async () => {
    const actor = await newUser('replay@city.example');
    const secret = await enrol(actor);
    // The enrolment code (step 0) cannot be used to sign in, even while still inside the window.
    const c0 = await challenge('replay@city.example', at(1));
    await expectCode(completeMfaLogin(t.prisma, { mfaToken: c0.mfaToken, code: totp(secret, at(0)) }, ctx, { now: at(1) }), 'unauthorized');
    const code = totp(secret, at(1));
    await completeMfaLogin(t.prisma, { mfaToken: c0.mfaToken, code }, ctx, { now: at(1) });
    const c1 = await challenge('replay@city.example', at(1, 10_000));
    const e = await expectCode(completeMfaLogin(t.prisma, { mfaToken: c1.mfaToken, code }, ctx, { now: at(1, 10_000) }), 'unauthorized');
    expect(e.message).toMatch(/確認コードが正しくありません/);
    // The next step's code works.
    const r = await completeMfaLogin(t.prisma, { mfaToken: c1.mfaToken, code: totp(secret, at(2)) }, ctx, { now: at(2) });
    expect(r.token).toBeTruthy();
    // The same fresh code submitted in parallel (e.g. an intercepted one) signs in once only.
    const cs = await Promise.all([0, 1, 2, 3].map(() => challenge('replay@city.example', at(3))));
    const results = await Promise.all(
      cs.map((c) =>
        completeMfaLogin(t.prisma, { mfaToken: c.mfaToken, code: totp(secret, at(3)) }, ctx, { now: at(3) }).then(
          () => 'ok',
          (e: unknown) => (isAppError(e) ? e.code : String(e)),
        ),
      ),
    );
    expect(results.filter((x) => x === 'ok')).toHaveLength(1);
  });

  it('counts wrong codes towards the lockout: after MAX_FAILED_LOGINS even the right code and password are refused', async () => {
    const actor = await newUser('wrongcode@city.example');
    const secret = await enrol(actor);
    const now = at(3);
    const right = totp(secret, now);
    const wrong = right === '123456' ? '654321' : '123456';
    const c = await challenge('wrongcode@city.example', now);
    for (let i = 0; i < MAX_FAILED_LOGINS; i++) {
      await expectCode(completeMfaLogin(t.prisma, { mfaToken: c.mfaToken, code: wrong }, { ip: `198.51.100.${i + 1}` }, { now }), 'unauthorized');
    }
    await expectCode(completeMfaLogin(t.prisma, { mfaToken: c.mfaToken, code: right }, ctx, { now }), 'locked');
    await expectCode(beginLogin(t.prisma, { email: 'wrongcode@city.example', password: PASSWORD }, ctx, { now }), 'locked');
    expect(await t.prisma.session.count({ where: { userId: actor.userId } })).toBe(0);
    expect(await t.prisma.auditEvent.count({ where: { actorId: actor.userId, action: 'auth.mfa_failed' } })).toBe(MAX_FAILED_LOGINS);
  });

  it('holds the code lockout under concurrency', async () => {
    const actor = await newUser('race-mfa@city.example');
    const secret = await enrol(actor);
    const now = at(4);
    const right = totp(secret, now);
    const c = await challenge('race-mfa@city.example', now);
    const results = await Promise.all(
      Array.from({ length: 4 * MAX_FAILED_LOGINS }, (_, i) => {
        const guess = String(100000 + i * 7919);
        return completeMfaLogin(t.prisma, { mfaToken: c.mfaToken, code: guess === right ? '000001' : guess }, { ip: `203.0.113.${i + 1}` }, { now }).then(
          () => 'ok',
          (e: unknown) => (isAppError(e) ? e.code : String(e)),
        );
      }),
    );
    expect(results.filter((r) => r === 'unauthorized').length).toBeLessThanOrEqual(MAX_FAILED_LOGINS);
    expect(results.filter((r) => r !== 'unauthorized').every((r) => r === 'locked')).toBe(true);
    expect(await t.prisma.auditEvent.count({ where: { actorId: actor.userId, action: 'auth.mfa_failed' } })).toBeLessThanOrEqual(MAX_FAILED_LOGINS);
    expect(await verifyAuditChain(t.prisma, orgId)).toBeNull();
  });

  it('refuses forged, expired or foreign pending tokens', async () => {
    const actor = await newUser('pending@city.example');
    const secret = await enrol(actor);
    const c = await challenge('pending@city.example', at(5));
    const [body, mac] = c.mfaToken.split('.');
    const forged = `${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), u: '00000000-0000-0000-0000-000000000000' })).toString('base64url')}.${mac}`;
    await expectCode(completeMfaLogin(t.prisma, { mfaToken: forged, code: totp(secret, at(5)) }, ctx, { now: at(5) }), 'link_expired');
    await expectCode(completeMfaLogin(t.prisma, { mfaToken: 'garbage', code: totp(secret, at(5)) }, ctx, { now: at(5) }), 'link_expired');
    // Pending tokens live 5 minutes.
    await expectCode(completeMfaLogin(t.prisma, { mfaToken: c.mfaToken, code: totp(secret, at(16)) }, ctx, { now: at(16) }), 'link_expired');
    // A password change invalidates outstanding pending tokens.
    const c2 = await challenge('pending@city.example', at(6));
    await t.prisma.user.update({ where: { id: actor.userId }, data: { passwordHash: (await t.prisma.user.findUniqueOrThrow({ where: { email: 'login@city.example' } })).passwordHash } });
    await expectCode(completeMfaLogin(t.prisma, { mfaToken: c2.mfaToken, code: totp(secret, at(6)) }, ctx, { now: at(6) }), 'link_expired');
  });
});

describe('turning MFA off', () => {
  it('needs a current unused code; wrong ones are refused and counted; afterwards the password alone signs in', async () => {
    const actor = await newUser('disable@city.example');
    const secret = await enrol(actor);
    const now = at(7);
    const right = totp(secret, now);
    await expectCode(disableMfa(t.prisma, actor, { code: right === '111111' ? '222222' : '111111' }, ctx, { now }), 'validation');
    await expectCode(disableMfa(t.prisma, actor, { code: totp(secret, at(0)) }, ctx, { now: at(0, 5_000) }), 'validation'); // replay of the enrolment code
    expect(await t.prisma.auditEvent.count({ where: { actorId: actor.userId, action: 'auth.mfa_failed' } })).toBe(2);
    expect((await getMfaStatus(t.prisma, actor)).enabled).toBe(true);
    await disableMfa(t.prisma, actor, { code: right }, ctx, { now });
    expect((await getMfaStatus(t.prisma, actor)).enabled).toBe(false);
    const row = await t.prisma.user.findUniqueOrThrow({ where: { id: actor.userId } });
    expect(row.mfaSecret).toBeNull();
    expect(row.mfaLastStep).toBeNull();
    expect(await t.prisma.auditEvent.count({ where: { actorId: actor.userId, action: 'auth.mfa_disabled' } })).toBe(1);
    await expectCode(disableMfa(t.prisma, actor, { code: right }, ctx, { now }), 'invalid_state');
    const r = await login(t.prisma, { email: 'disable@city.example', password: PASSWORD }, ctx, { now: at(8) });
    expect(r.token).toBeTruthy();
    expect(await verifyAuditChain(t.prisma, orgId)).toBeNull();
  });

  it('users without MFA still get a session from beginLogin directly', async () => {
    await newUser('plain@city.example');
    const r = await beginLogin(t.prisma, { email: 'plain@city.example', password: PASSWORD }, ctx);
    expect('token' in r && r.token.length).toBeGreaterThanOrEqual(43);
  });
});
