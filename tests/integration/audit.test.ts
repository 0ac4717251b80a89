/**
 * The 操作ログ is tamper-evident against the database owner: the application's role cannot change
 * it, the chain is keyed (HMAC under a master-key subkey), the daily task verifies it and has the TSA
 * time-stamp its head, and `npm run audit:verify` verifies ranges. A superuser who switches the
 * trigger off and rewrites history is found — with plain SHA-256 (no key) at the first edited event,
 * with the stolen key at the next time-stamped head.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditChainKey,
  auditEventHash,
  getAuditVerificationStatus,
  recordAuditNow,
  verifyAndAnchorAuditChains,
  verifyAuditChain,
  verifyAuditChainRange,
} from '../../lib/audit';
import { getRootCertificate } from '../../lib/pki';
import { createTsaClient, startTsaServer, type TsaServer } from '../../lib/tsa';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { createOrg, useTempDataDir } from '../helpers/fixtures';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

let t: TestDatabase;
let data: Awaited<ReturnType<typeof useTempDataDir>>;
let tsa: TsaServer;
let trustAnchors: Uint8Array[];
let owner: pg.Client;

beforeAll(async () => {
  data = await useTempDataDir();
  t = await createTestDatabase();
  tsa = await startTsaServer();
  trustAnchors = [await getRootCertificate()];
  owner = new pg.Client({ connectionString: t.ownerUrl });
  await owner.connect();
});
afterAll(async () => {
  await owner?.end();
  await tsa?.close();
  await t?.drop();
  await data?.cleanup();
});

const tsaClient = () => createTsaClient({ url: tsa.url, retries: 0 });

async function events(orgId: string, n: number, tag = 'test.event') {
  for (let i = 0; i < n; i++) {
    await recordAuditNow(t.prisma, { organizationId: orgId, actorType: 'system', action: tag, details: { i, 名前: '𠮷田' } });
  }
}

interface Row {
  id: string;
  organization_id: string;
  envelope_id: string | null;
  actor_type: string;
  actor_id: string | null;
  actor_label: string | null;
  action: string;
  ip: string | null;
  user_agent: string | null;
  details: unknown;
  prev_hash: string | null;
  hash: string;
  hash_version: number;
  created_at: Date;
}

/**
 * What a superuser can do: switch the trigger off, edit event `targetId`, and recompute the chain from
 * there on with `rehash` (optionally also setting hash_version), then switch the trigger on again.
 */
async function superuserRewrite(
  orgId: string,
  targetId: bigint,
  edit: (r: Row) => void,
  rehash: (prev: string | null, r: Row) => string,
  opts: { version?: number; fromStart?: boolean } = {},
) {
  const { rows } = await owner.query<Row>('SELECT * FROM audit_events WHERE organization_id = $1 ORDER BY id', [orgId]);
  await owner.query('BEGIN');
  await owner.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete');
  let prev: string | null = null;
  let rewriting = false;
  for (const r of rows) {
    if (BigInt(r.id) === targetId) {
      edit(r);
      rewriting = true;
    }
    if (rewriting || opts.fromStart) {
      const hash = rehash(prev, r);
      await owner.query('UPDATE audit_events SET action = $2, details = $3, prev_hash = $4, hash = $5, hash_version = $6 WHERE id = $1', [
        r.id,
        r.action,
        JSON.stringify(r.details),
        prev,
        hash,
        opts.version ?? r.hash_version,
      ]);
      r.hash = hash;
    }
    prev = r.hash;
  }
  await owner.query('ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete');
  await owner.query('COMMIT');
}

const fields = (r: Row) => ({
  organizationId: r.organization_id,
  envelopeId: r.envelope_id,
  actorType: r.actor_type,
  actorId: r.actor_id,
  actorLabel: r.actor_label,
  action: r.action,
  ip: r.ip,
  userAgent: r.user_agent,
  details: r.details,
  createdAt: r.created_at,
});
/** The tester's tool: the documented formula with plain SHA-256. */
const plainSha256 = (prev: string | null, r: Row) => auditEventHash(1, null, prev, fields(r));
/** An attacker who stole the master key (or the derived chain key). */
const withStolenKey = (key: Buffer) => (prev: string | null, r: Row) => auditEventHash(2, key, prev, fields(r));

async function firstEventId(orgId: string, nth: number): Promise<bigint> {
  const e = await t.prisma.auditEvent.findMany({ where: { organizationId: orgId }, orderBy: { id: 'asc' }, skip: nth, take: 1 });
  return e[0].id;
}

describe('the keyed chain', () => {
  it('hashes new events with HMAC-SHA-256 (version 2), which plain SHA-256 does not reproduce', async () => {
    const org = await createOrg(t.prisma);
    await events(org.id, 3);
    const rows = await t.prisma.auditEvent.findMany({ where: { organizationId: org.id }, orderBy: { id: 'asc' } });
    expect(rows.map((r) => r.hashVersion)).toEqual([2, 2, 2]);
    const key = await auditChainKey(t.prisma);
    const { createHmac } = await import('node:crypto');
    const msg = [
      '', org.id, '', 'system', '', '', 'test.event', '', '', '{"i":0,"名前":"𠮷田"}', rows[0].createdAt.toISOString(),
    ].join('\u001f');
    // Independent recomputation of the documented formula.
    expect(rows[0].hash).toBe(createHmac('sha256', key).update(`v2\u001f${msg}`).digest('hex'));
    expect(rows[0].hash).not.toBe(createHash('sha256').update(msg).digest('hex'));
    expect(rows[1].prevHash).toBe(rows[0].hash);
    expect(await verifyAuditChain(t.prisma, org.id)).toBeNull();
  });

  it('the tester’s attack: trigger off, one event edited, every later hash recomputed with SHA-256 → found at the edited event', async () => {
    const org = await createOrg(t.prisma);
    await events(org.id, 55);
    const target = await firstEventId(org.id, 3);
    expect(await verifyAuditChain(t.prisma, org.id)).toBeNull();
    await superuserRewrite(org.id, target, (r) => (r.action = 'forged'), plainSha256);
    const r = await verifyAuditChainRange(t.prisma, { organizationId: org.id });
    expect(r.ok).toBe(false);
    expect(r.breaks[0]).toEqual({ eventId: target, problem: 'hash_mismatch' });
    expect(r.breaks).toHaveLength(52); // every rewritten event fails its keyed hash
  });

  it('…and when the forger also marks the rewritten events unkeyed (hash_version 1) → a downgrade at the edited event', async () => {
    const org = await createOrg(t.prisma);
    await events(org.id, 10);
    const target = await firstEventId(org.id, 4);
    await superuserRewrite(org.id, target, (r) => (r.details = { i: 999 }), plainSha256, { version: 1 });
    expect((await verifyAuditChainRange(t.prisma, { organizationId: org.id })).breaks[0]).toEqual({ eventId: target, problem: 'version_downgrade' });
  });

  it('a deleted event breaks the link of the next one', async () => {
    const org = await createOrg(t.prisma);
    await events(org.id, 5);
    const victim = await firstEventId(org.id, 2);
    await owner.query('BEGIN');
    await owner.query('ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete');
    await owner.query('DELETE FROM audit_events WHERE id = $1', [victim.toString()]);
    await owner.query('ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete');
    await owner.query('COMMIT');
    expect(await verifyAuditChain(t.prisma, org.id)).toBe(await firstEventId(org.id, 2));
  });

  it('events written before the keyed chain (unkeyed, version 1) stay verifiable, and new events continue the chain keyed', async () => {
    const org = await createOrg(t.prisma);
    // Rows as the previous release wrote them (plain SHA-256), inserted by the owner.
    let prev: string | null = null;
    for (let i = 0; i < 4; i++) {
      const e = {
        organizationId: org.id, envelopeId: null, actorType: 'system', actorId: null, actorLabel: null,
        action: 'legacy.event', ip: null, userAgent: null, details: { i }, createdAt: new Date(Date.UTC(2026, 10, 1, 0, i)),
      };
      const hash = auditEventHash(1, null, prev, e);
      await owner.query(
        `INSERT INTO audit_events (organization_id, actor_type, action, details, prev_hash, hash, hash_version, created_at)
         VALUES ($1, 'system', 'legacy.event', $2, $3, $4, 1, $5)`,
        [org.id, JSON.stringify(e.details), prev, hash, e.createdAt],
      );
      prev = hash;
    }
    await events(org.id, 3);
    const r = await verifyAuditChainRange(t.prisma, { organizationId: org.id });
    expect(r).toMatchObject({ ok: true, eventsChecked: 7, legacyEvents: 4 });
  });
});

describe('the daily verification and its RFC 3161 anchors', () => {
  it('verifies, time-stamps the head, keeps the token append-only and records the run in the log', async () => {
    const org = await createOrg(t.prisma);
    await events(org.id, 5);
    const now = new Date();
    const res = await verifyAndAnchorAuditChains(t.prisma, { organizationId: org.id, tsa: tsaClient(), trustAnchors, now });
    expect(res).toMatchObject({ organizations: 1, verified: 1, broken: 0, anchored: 1, anchorFailed: 0 });
    const v = await t.prisma.auditVerification.findFirstOrThrow({ where: { organizationId: org.id } });
    const head = await t.prisma.auditEvent.findFirstOrThrow({ where: { organizationId: org.id, action: 'test.event' }, orderBy: { id: 'desc' } });
    expect(v).toMatchObject({ ok: true, eventsChecked: 5, headEventId: head.id, headHash: head.hash });
    expect(v.timestampToken?.length).toBeGreaterThan(500);
    const last = await t.prisma.auditEvent.findFirstOrThrow({ where: { organizationId: org.id }, orderBy: { id: 'desc' } });
    expect(last.action).toBe('audit.chain_verified');
    expect(last.details).toMatchObject({ source: 'daily', verificationId: v.id.toString(), imprint: v.imprint, headEventId: head.id.toString() });

    // Not due again the same day; due again a day later (then the anchor is checked too).
    expect((await verifyAndAnchorAuditChains(t.prisma, { organizationId: org.id, tsa: tsaClient(), trustAnchors, now })).skipped).toBe(1);
    const later = new Date(now.getTime() + 24 * 3600_000 + 1000);
    const again = await verifyAndAnchorAuditChains(t.prisma, { organizationId: org.id, tsa: tsaClient(), trustAnchors, now: later });
    expect(again).toMatchObject({ verified: 1, anchored: 1 });
    expect(again.reports[0].anchorsChecked).toBe(1);

    // The app's role cannot change or remove an anchor; the owner is stopped by the trigger.
    await expect(t.prisma.$executeRawUnsafe(`UPDATE audit_verifications SET head_hash = 'x'`)).rejects.toThrow(/permission denied/);
    await expect(t.prisma.$executeRawUnsafe(`DELETE FROM audit_verifications`)).rejects.toThrow(/permission denied/);
    await expect(owner.query(`DELETE FROM audit_verifications WHERE id = $1`, [v.id.toString()])).rejects.toThrow(/append-only/);

    const status = await getAuditVerificationStatus(t.prisma, org.id);
    expect(status.last).toMatchObject({ ok: true });
    expect(status.lastAnchored?.timestampedAt).toBeInstanceOf(Date);
    expect(status.firstBroken).toBeNull();
    expect(status.roleProblems).toEqual([]);
  });

  it('a rewrite recomputed WITH the stolen key passes the chain check but not the time-stamped head', async () => {
    const org = await createOrg(t.prisma);
    await events(org.id, 20);
    const now = new Date();
    await verifyAndAnchorAuditChains(t.prisma, { organizationId: org.id, tsa: tsaClient(), trustAnchors, now });
    const anchor = await t.prisma.auditVerification.findFirstOrThrow({ where: { organizationId: org.id } });
    await events(org.id, 5);
    const target = await firstEventId(org.id, 7);
    const key = await auditChainKey(t.prisma);
    await superuserRewrite(org.id, target, (r) => (r.details = { i: 'changed' }), withStolenKey(key));

    const r = await verifyAuditChainRange(t.prisma, { organizationId: org.id, trustAnchors });
    // Every link and keyed hash is consistent again…
    expect(r.breaks.filter((b) => b.problem === 'hash_mismatch' || b.problem === 'prev_hash_mismatch')).toEqual([]);
    // …but the head time-stamped before the rewrite no longer has its hash.
    expect(r.breaks[0]).toEqual({ eventId: anchor.headEventId, problem: 'anchor_mismatch', verificationId: anchor.id });

    // The forger also "fixes" the anchor row: the TSA token does not cover the new hash.
    const newHead = await t.prisma.auditEvent.findUniqueOrThrow({ where: { id: anchor.headEventId! } });
    const { anchorImprint } = await import('../../lib/audit');
    await owner.query('BEGIN');
    await owner.query('ALTER TABLE audit_verifications DISABLE TRIGGER audit_verifications_no_update_delete');
    await owner.query('UPDATE audit_verifications SET head_hash = $2, imprint = $3 WHERE id = $1', [
      anchor.id.toString(),
      newHead.hash,
      anchorImprint(org.id, newHead.id, newHead.hash).toString('hex'),
    ]);
    await owner.query('ALTER TABLE audit_verifications ENABLE TRIGGER audit_verifications_no_update_delete');
    await owner.query('COMMIT');
    const r2 = await verifyAuditChainRange(t.prisma, { organizationId: org.id, trustAnchors });
    expect(r2.breaks.map((b) => b.problem)).toContain('anchor_token_invalid');
    expect(r2.ok).toBe(false);

    // …or deletes it: the log itself still names the anchor.
    await owner.query('BEGIN');
    await owner.query('ALTER TABLE audit_verifications DISABLE TRIGGER audit_verifications_no_update_delete');
    await owner.query('DELETE FROM audit_verifications WHERE id = $1', [anchor.id.toString()]);
    await owner.query('ALTER TABLE audit_verifications ENABLE TRIGGER audit_verifications_no_update_delete');
    await owner.query('COMMIT');
    const r3 = await verifyAuditChainRange(t.prisma, { organizationId: org.id, trustAnchors });
    expect(r3.breaks.map((b) => b.problem)).toEqual(['anchor_removed']);

    // The daily task reports the break (no new anchor over a broken chain) and 管理 shows it.
    const daily = await verifyAndAnchorAuditChains(t.prisma, { organizationId: org.id, tsa: tsaClient(), trustAnchors, force: true });
    expect(daily).toMatchObject({ broken: 1, anchored: 0 });
    const status = await getAuditVerificationStatus(t.prisma, org.id);
    expect(status.last).toMatchObject({ ok: false });
    expect(status.firstBroken).toMatchObject({ problem: 'anchor_removed' });
    const logged = await t.prisma.auditEvent.findFirstOrThrow({ where: { organizationId: org.id }, orderBy: { id: 'desc' } });
    expect(logged.action).toBe('audit.chain_broken');
  });

  it('a downgrade of the whole chain to plain SHA-256 is caught by the anchor', async () => {
    const org = await createOrg(t.prisma);
    await events(org.id, 6);
    await verifyAndAnchorAuditChains(t.prisma, { organizationId: org.id, tsa: tsaClient(), trustAnchors });
    const first = await firstEventId(org.id, 0);
    await superuserRewrite(org.id, first, () => undefined, plainSha256, { version: 1, fromStart: true });
    const r = await verifyAuditChainRange(t.prisma, { organizationId: org.id, trustAnchors });
    expect(r.breaks.map((b) => b.problem)).toEqual(['anchor_mismatch']);
  });

  it('a TSA outage: the verification is recorded without an anchor and retried an hour later', async () => {
    const org = await createOrg(t.prisma);
    await events(org.id, 2);
    const now = new Date();
    const down = createTsaClient({ url: 'http://127.0.0.1:9/tsa', retries: 0, timeoutMs: 1000 });
    const r = await verifyAndAnchorAuditChains(t.prisma, { organizationId: org.id, tsa: down, trustAnchors, now });
    expect(r).toMatchObject({ verified: 1, anchored: 0, anchorFailed: 1 });
    const status = await getAuditVerificationStatus(t.prisma, org.id);
    expect(status.last).toMatchObject({ ok: true, timestampedAt: null });
    expect(status.last?.timestampError).toBeTruthy();
    expect((await verifyAndAnchorAuditChains(t.prisma, { organizationId: org.id, tsa: tsaClient(), trustAnchors, now: new Date(now.getTime() + 30 * 60_000) })).skipped).toBe(1);
    expect(
      await verifyAndAnchorAuditChains(t.prisma, { organizationId: org.id, tsa: tsaClient(), trustAnchors, now: new Date(now.getTime() + 61 * 60_000) }),
    ).toMatchObject({ verified: 1, anchored: 1 });
  });

  it('two workers at once: one verification per organisation', async () => {
    const org = await createOrg(t.prisma);
    await events(org.id, 3);
    const now = new Date();
    const [a, b] = await Promise.all([
      verifyAndAnchorAuditChains(t.prisma, { organizationId: org.id, tsa: tsaClient(), trustAnchors, now }),
      verifyAndAnchorAuditChains(t.prisma, { organizationId: org.id, tsa: tsaClient(), trustAnchors, now }),
    ]);
    expect(a.verified + b.verified).toBe(1);
    expect(await t.prisma.auditVerification.count({ where: { organizationId: org.id } })).toBe(1);
  });
});

describe('npm run audit:verify', () => {
  it('verifies a range (and the anchored heads in it), records the verification, and exits 1 on a break', async () => {
    const org = await createOrg(t.prisma);
    await events(org.id, 12);
    await verifyAndAnchorAuditChains(t.prisma, { organizationId: org.id, tsa: tsaClient(), trustAnchors });
    await events(org.id, 12);
    const ids = (await t.prisma.auditEvent.findMany({ where: { organizationId: org.id }, orderBy: { id: 'asc' }, select: { id: true } })).map((e) => e.id);
    const env = { ...process.env, DATABASE_URL: t.url };
    const cli = (...args: string[]) =>
      run('npx', ['tsx', 'scripts/audit-verify.ts', '--org', org.slug, ...args], { cwd: ROOT, env, encoding: 'utf8' }).then(
        (r) => ({ code: 0, out: r.stdout }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
      );

    const whole = await cli();
    expect(whole.code, whole.out).toBe(0);
    expect(whole.out).toMatch(/25 checked \(0 unkeyed\), 1 time-stamped heads: OK/);

    // Edit an event in the second half without the key.
    await superuserRewrite(org.id, ids[18], (r) => (r.action = 'forged'), plainSha256);
    const first = await cli('--from', ids[0].toString(), '--to', ids[15].toString());
    expect(first.code, first.out).toBe(0);
    expect(first.out).toMatch(/16 checked.*1 time-stamped heads: OK/);
    const second = await cli('--from', ids[16].toString());
    expect(second.code).toBe(1);
    expect(second.out).toContain(`event ${ids[18]}: hash_mismatch — 記録の内容がハッシュ値と一致しません`);
    const bad = await cli('--from', 'x');
    expect(bad.code).toBe(2);

    const recorded = await t.prisma.auditEvent.findMany({ where: { organizationId: org.id, details: { path: ['source'], equals: 'command' } }, orderBy: { id: 'asc' } });
    expect(recorded.map((e) => e.action)).toEqual(['audit.chain_verified', 'audit.chain_verified', 'audit.chain_broken']);
    expect(recorded[2].details).toMatchObject({ fromId: ids[16].toString(), firstBrokenEventId: ids[18].toString(), problem: 'hash_mismatch' });
  });
});
