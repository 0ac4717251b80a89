/**
 * MFA recovery codes and the organisation's "require MFA" policy, with real PostgreSQL: enrolment
 * returns 10 codes stored only as salted hashes; a code signs in once (also under parallel use), wrong
 * codes count towards the lockout, regenerating invalidates the old set, turning MFA off (or an admin
 * reset) deletes them. organizations.require_mfa is saved and audited by updateOrganizationSettings and
 * makes getSessionActor report mfaSetupRequired for staff without MFA.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetUserMfa, updateOrganizationSettings } from '../../lib/admin';
import { verifyAuditChain } from '../../lib/audit';
import {
  base32Decode,
  beginLogin,
  completeMfaLogin,
  confirmMfaEnrolment,
  createStaffUser,
  disableMfa,
  getSessionActor,
  login,
  MAX_FAILED_LOGINS,
  RECOVERY_CODE_COUNT,
  regenerateRecoveryCodes,
  resetLoginThrottle,
  startMfaEnrolment,
  totp,
  type MfaChallenge,
  type StaffActor,
} from '../../lib/auth';
import { isAppError } from '../../lib/errors';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

let t: TestDatabase;
let orgId: string;
const ctx = { ip: '192.0.2.30', userAgent: 'vitest' };
const PASSWORD = 'correct horse battery staple';
const T0 = Math.floor((Date.now() - 3600_000) / 30_000) * 30_000;
const at = (steps: number) => new Date(T0 + steps * 30_000);

async function expectCode(p: Promise<unknown>, code: string) {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(isAppError(e), String(e)).toBe(true);
  expect((e as { code: string }).code).toBe(code);
}

async function newUser(email: string, role: 'staff' | 'admin' = 'staff'): Promise<StaffActor> {
  const u = await createStaffUser(t.prisma, { organizationId: orgId, email, name: `職員 ${email}`, password: PASSWORD, role });
  return { userId: u.id, organizationId: orgId, organizationName: '回復市', name: u.name, email: u.email, role };
}

async function enrol(actor: StaffActor): Promise<{ secret: Buffer; codes: string[] }> {
  const e = await startMfaEnrolment(actor, { now: at(0) });
  const secret = base32Decode(e.secret);
  const r = await confirmMfaEnrolment(t.prisma, actor, { enrolToken: e.enrolToken, code: totp(secret, at(0)) }, ctx, { now: at(0) });
  return { secret, codes: r.recoveryCodes };
}

async function challenge(email: string, now: Date): Promise<MfaChallenge> {
  const r = await beginLogin(t.prisma, { email, password: PASSWORD }, ctx, { now });
  expect('mfaRequired' in r).toBe(true);
  return r as MfaChallenge;
}

const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: unknown) => (isAppError(e) ? e.code : String(e)),
  );

beforeAll(async () => {
  t = await createTestDatabase();
  orgId = (await t.prisma.organization.create({ data: { name: '回復市', slug: 'recovery-city' } })).id;
  resetLoginThrottle();
});
afterAll(async () => {
  await t?.drop();
});

describe('MFA recovery codes', () => {
  it('enrolment returns 10 distinct codes, stored only as salted hashes', async () => {
    const actor = await newUser('codes@city.example');
    const { codes } = await enrol(actor);
    expect(codes).toHaveLength(RECOVERY_CODE_COUNT);
    expect(new Set(codes).size).toBe(RECOVERY_CODE_COUNT);
    for (const c of codes) expect(c).toMatch(/^[A-Z2-7]{5}-[A-Z2-7]{5}$/);
    const rows = await t.prisma.mfaRecoveryCode.findMany({ where: { userId: actor.userId } });
    expect(rows).toHaveLength(RECOVERY_CODE_COUNT);
    const stored = rows.map((r) => r.codeHash).join('\n');
    for (const c of codes) {
      expect(stored).not.toContain(c);
      expect(stored).not.toContain(c.replace('-', ''));
    }
    for (const r of rows) expect(r.codeHash).toMatch(/^[0-9a-f]{32}:[0-9a-f]{64}$/);
  });

  it('a recovery code signs in instead of the TOTP code, once; audited as auth.recovery_code_used', async () => {
    const actor = await newUser('once@city.example');
    const { codes } = await enrol(actor);
    const now = at(2);
    const c1 = await challenge(actor.email, now);
    // Lower case, no hyphen: still accepted.
    const r = await completeMfaLogin(t.prisma, { mfaToken: c1.mfaToken, code: codes[0]!.replace('-', '').toLowerCase() }, ctx, { now });
    expect((await getSessionActor(t.prisma, r.token, ctx, { now })).status).toBe('ok');
    expect(await t.prisma.auditEvent.count({ where: { actorId: actor.userId, action: 'auth.recovery_code_used' } })).toBe(1);
    expect(await t.prisma.mfaRecoveryCode.count({ where: { userId: actor.userId, usedAt: null } })).toBe(RECOVERY_CODE_COUNT - 1);

    const later = at(3);
    const c2 = await challenge(actor.email, later);
    await expectCode(completeMfaLogin(t.prisma, { mfaToken: c2.mfaToken, code: codes[0] }, ctx, { now: later }), 'unauthorized');
    expect(await t.prisma.auditEvent.count({ where: { actorId: actor.userId, action: 'auth.mfa_failed' } })).toBe(1);
    // Another unused code still works.
    await completeMfaLogin(t.prisma, { mfaToken: c2.mfaToken, code: codes[1] }, ctx, { now: later });
  });

  it('the same code used twice in parallel signs in exactly once', async () => {
    const actor = await newUser('parallel@city.example');
    const { codes } = await enrol(actor);
    const now = at(4);
    const a = await challenge(actor.email, now);
    const b = await challenge(actor.email, now);
    const results = await Promise.all([
      outcome(completeMfaLogin(t.prisma, { mfaToken: a.mfaToken, code: codes[5] }, ctx, { now })),
      outcome(completeMfaLogin(t.prisma, { mfaToken: b.mfaToken, code: codes[5] }, ctx, { now })),
    ]);
    expect(results.filter((x) => x === 'ok')).toHaveLength(1);
    expect(await t.prisma.session.count({ where: { userId: actor.userId } })).toBe(1);
    expect(await t.prisma.auditEvent.count({ where: { actorId: actor.userId, action: 'auth.recovery_code_used' } })).toBe(1);
    expect(await verifyAuditChain(t.prisma, orgId)).toBeNull();
  });

  it('wrong recovery codes count towards the lockout; then even a valid one is refused', async () => {
    const actor = await newUser('guess@city.example');
    const { codes } = await enrol(actor);
    const now = at(5);
    const c = await challenge(actor.email, now);
    for (let i = 0; i < MAX_FAILED_LOGINS; i++) {
      await expectCode(completeMfaLogin(t.prisma, { mfaToken: c.mfaToken, code: `AAAAA-AAAA${'BCDEFG'[i]}` }, { ip: `198.51.100.${i + 1}` }, { now }), 'unauthorized');
    }
    await expectCode(completeMfaLogin(t.prisma, { mfaToken: c.mfaToken, code: codes[0] }, ctx, { now }), 'locked');
    expect(await t.prisma.mfaRecoveryCode.count({ where: { userId: actor.userId, usedAt: null } })).toBe(RECOVERY_CODE_COUNT);
    expect(await t.prisma.auditEvent.count({ where: { actorId: actor.userId, action: 'auth.mfa_failed' } })).toBe(MAX_FAILED_LOGINS);
    expect(await t.prisma.session.count({ where: { userId: actor.userId } })).toBe(0);
  });

  it('regenerating needs a current TOTP code and invalidates the old set', async () => {
    const actor = await newUser('regen@city.example');
    const { secret, codes } = await enrol(actor);
    const now = at(6);
    await expectCode(regenerateRecoveryCodes(t.prisma, actor, { code: codes[0] }, ctx, { now }), 'validation');
    const right = totp(secret, now);
    await expectCode(regenerateRecoveryCodes(t.prisma, actor, { code: right === '123456' ? '654321' : '123456' }, ctx, { now }), 'validation');
    const fresh = await regenerateRecoveryCodes(t.prisma, actor, { code: right }, ctx, { now });
    expect(fresh.recoveryCodes).toHaveLength(RECOVERY_CODE_COUNT);
    expect(fresh.recoveryCodes.filter((c) => codes.includes(c))).toHaveLength(0);
    expect(await t.prisma.mfaRecoveryCode.count({ where: { userId: actor.userId } })).toBe(RECOVERY_CODE_COUNT);
    expect(await t.prisma.auditEvent.count({ where: { actorId: actor.userId, action: 'auth.recovery_codes_regenerated' } })).toBe(1);
    // The same TOTP code cannot be replayed for another regeneration.
    await expectCode(regenerateRecoveryCodes(t.prisma, actor, { code: right }, ctx, { now }), 'validation');

    const later = at(7);
    const c = await challenge(actor.email, later);
    await expectCode(completeMfaLogin(t.prisma, { mfaToken: c.mfaToken, code: codes[0] }, ctx, { now: later }), 'unauthorized');
    await completeMfaLogin(t.prisma, { mfaToken: c.mfaToken, code: fresh.recoveryCodes[0] }, ctx, { now: later });
  });

  it('turning MFA off (or an admin reset) deletes the codes', async () => {
    const actor = await newUser('off@city.example');
    const { secret } = await enrol(actor);
    const now = at(8);
    await disableMfa(t.prisma, actor, { code: totp(secret, now) }, ctx, { now });
    expect(await t.prisma.mfaRecoveryCode.count({ where: { userId: actor.userId } })).toBe(0);

    const admin = await newUser('admin-reset@city.example', 'admin');
    const other = await newUser('reset@city.example');
    await enrol(other);
    expect(await t.prisma.mfaRecoveryCode.count({ where: { userId: other.userId } })).toBe(RECOVERY_CODE_COUNT);
    await resetUserMfa(t.prisma, admin, other.userId, ctx);
    expect(await t.prisma.mfaRecoveryCode.count({ where: { userId: other.userId } })).toBe(0);
  });
});

describe('organisation policy: require MFA', () => {
  it('is stored and audited (before/after); staff without MFA are reported as needing setup', async () => {
    const admin = await newUser('policy-admin@city.example', 'admin');
    const plain = await newUser('policy-plain@city.example');
    const withMfa = await newUser('policy-mfa@city.example');
    await enrol(withMfa);
    const s = await login(t.prisma, { email: plain.email, password: PASSWORD }, ctx);
    const before = await getSessionActor(t.prisma, s.token, ctx);
    expect(before.status === 'ok' && before.mfaSetupRequired).toBe(false);

    const saved = await updateOrganizationSettings(t.prisma, admin, { showWareki: false, ipAllowlist: [], requireMfa: true }, ctx);
    expect(saved.requireMfa).toBe(true);
    expect((await t.prisma.organization.findUniqueOrThrow({ where: { id: orgId } })).requireMfa).toBe(true);
    const ev = await t.prisma.auditEvent.findFirstOrThrow({ where: { organizationId: orgId, action: 'organization.settings_updated' }, orderBy: { id: 'desc' } });
    expect(ev.details).toMatchObject({ before: { requireMfa: false }, after: { requireMfa: true } });

    const after = await getSessionActor(t.prisma, s.token, ctx);
    expect(after.status === 'ok' && after.mfaSetupRequired).toBe(true);
    // Omitting requireMfa leaves it unchanged.
    expect((await updateOrganizationSettings(t.prisma, admin, { showWareki: true, ipAllowlist: [] }, ctx)).requireMfa).toBe(true);

    // Once enrolled, nothing is required any more.
    await enrol(plain);
    const enrolled = await getSessionActor(t.prisma, s.token, ctx);
    expect(enrolled.status === 'ok' && enrolled.mfaSetupRequired).toBe(false);
    expect(await verifyAuditChain(t.prisma, orgId)).toBeNull();
  });
});
