/**
 * Automatic signing reminders (sendDueReminders) against real PostgreSQL + real SMTP, with an
 * injected clock: REMINDER_DAYS after notification a pending signer gets one 【再送】 email with a
 * fresh link (old link revoked, deadline unchanged) — once per day even with concurrent runs; only
 * the party whose turn it is; nothing for finished, declined, voided or expired envelopes; off when
 * REMINDER_DAYS is empty.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listEnvelopeAudit } from '../../lib/audit';
import { loadConfig, resetConfig } from '../../lib/config';
import {
  completeSigning,
  declineSigning,
  expireDueEnvelopes,
  reminderDedupeKey,
  resolveSigningLink,
  sendDueReminders,
  voidEnvelope,
} from '../../lib/envelopes';
import { deliverDueEmails } from '../../lib/mail';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { createOrgWithStaff, createSentEnvelope, supplierSigner, testCtx, useTempDataDir } from '../helpers/fixtures';
import { signingTokenIn, startTestSmtp, type TestSmtpServer } from '../helpers/smtp';

const DAY = 86_400_000;
let tdb: TestDatabase;
let smtp: TestSmtpServer;
let data: { cleanup(): Promise<void> };
let s: Awaited<ReturnType<typeof createOrgWithStaff>>;

beforeAll(async () => {
  data = await useTempDataDir();
  tdb = await createTestDatabase();
  smtp = await startTestSmtp();
  s = await createOrgWithStaff(tdb.prisma);
});
afterAll(async () => {
  await smtp?.close();
  await tdb?.drop();
  await data?.cleanup();
});

/** The recipients of an envelope by email, and the time the first was notified. */
async function partiesOf(envelopeId: string) {
  const rs = await tdb.prisma.recipient.findMany({ where: { envelopeId }, orderBy: { order: 'asc' } });
  const notified = rs.filter((r) => r.notifiedAt).map((r) => r.notifiedAt!.getTime());
  return { rs, base: Math.min(...notified) };
}

/** Deliver the outbox and return the newest mail to `email` whose subject matches. */
async function mailTo(email: string, pred: (subject: string) => boolean) {
  await deliverDueEmails(tdb.prisma, { transport: smtp.transport() });
  await smtp.waitFor((m) => m.to.includes(email.toLowerCase()) && pred(m.subject));
  return smtp.messages.filter((m) => m.to.includes(email.toLowerCase()) && pred(m.subject));
}

/** A minimal environment for loadConfig. */
const envWith = (days?: string): NodeJS.ProcessEnv => ({ NODE_ENV: 'test', ...(days === undefined ? {} : { REMINDER_DAYS: days }) });

const forEnv = <T extends { envelopeId: string }>(sent: T[], id: string): T[] => sent.filter((x) => x.envelopeId === id);

describe('automatic signing reminders', () => {
  it('day 6: nothing; day 7: one 【再送】 per pending signer with a working new link; again on day 7: nothing; day 14: the next one', async () => {
    const db = tdb.prisma;
    const a = supplierSigner({ name: '甲 太郎' });
    const b = supplierSigner({ name: '乙 花子', company: '乙商事' });
    const env = await createSentEnvelope(db, s.actor, { recipients: [a, b] });
    const { rs, base } = await partiesOf(env.id);
    const oldTokens = new Map<string, string>();
    for (const p of [a, b]) {
      const [first] = await mailTo(p.email, (subj) => !subj.startsWith('【再送】'));
      oldTokens.set(p.email, signingTokenIn(first.text)!);
    }

    expect(forEnv(await sendDueReminders(db, { now: new Date(base + 7 * DAY - 60_000) }), env.id)).toEqual([]);

    const day7 = new Date(base + 7 * DAY + 60_000);
    const sent = forEnv(await sendDueReminders(db, { now: day7 }), env.id);
    expect(sent.map((x) => [x.recipientId, x.day]).sort()).toEqual(rs.map((r) => [r.id, 7]).sort());

    for (const p of [a, b]) {
      const reminders = await mailTo(p.email, (subj) => subj.startsWith('【再送】'));
      expect(reminders).toHaveLength(1);
      const token = signingTokenIn(reminders[0].text)!;
      expect(token).toBeTruthy();
      expect(token).not.toBe(oldTokens.get(p.email));
      const link = await resolveSigningLink(db, token, day7);
      expect(link.ok).toBe(true);
      // The link lasts until the (unchanged) signing deadline.
      if (link.ok) expect(link.access.request.expiresAt.getTime()).toBe(env.expiresAt!.getTime());
      expect(await resolveSigningLink(db, oldTokens.get(p.email)!, day7)).toEqual({ ok: false, problem: 'revoked' });
    }
    const after = await db.envelope.findUniqueOrThrow({ where: { id: env.id } });
    expect(after.expiresAt!.getTime()).toBe(env.expiresAt!.getTime());
    expect(after.status).toBe('sent');
    // notifiedAt is kept: the reminder days count from the original notification.
    const rsAfter = await db.recipient.findMany({ where: { envelopeId: env.id } });
    for (const r of rsAfter) expect(r.notifiedAt!.getTime()).toBe(rs.find((x) => x.id === r.id)!.notifiedAt!.getTime());

    const audit = (await listEnvelopeAudit(db, s.org.id, env.id)).filter((e) => e.action === 'signing.reminder_sent');
    expect(audit).toHaveLength(2);
    expect(audit.map((e) => (e.details as { day: number }).day)).toEqual([7, 7]);

    // Same day again (an hour later, and a day later): nothing more.
    expect(forEnv(await sendDueReminders(db, { now: new Date(day7.getTime() + 3_600_000) }), env.id)).toEqual([]);
    expect(forEnv(await sendDueReminders(db, { now: new Date(base + 13 * DAY) }), env.id)).toEqual([]);
    expect(await db.outboxEmail.count({ where: { envelopeId: env.id, subject: { startsWith: '【再送】' } } })).toBe(2);

    const day14 = forEnv(await sendDueReminders(db, { now: new Date(base + 14 * DAY + 60_000) }), env.id);
    expect(day14.map((x) => x.day)).toEqual([14, 14]);
  });

  it('concurrent runs send one reminder per signer and day', async () => {
    const db = tdb.prisma;
    const p = supplierSigner();
    const env = await createSentEnvelope(db, s.actor, { recipients: [p] });
    const { rs, base } = await partiesOf(env.id);
    const now = new Date(base + 7 * DAY + 60_000);
    const runs = await Promise.all([1, 2, 3, 4].map(() => sendDueReminders(db, { now })));
    expect(runs.flatMap((r) => forEnv(r, env.id))).toHaveLength(1);
    expect(await db.outboxEmail.count({ where: { dedupeKey: reminderDedupeKey(rs[0].id, 7) } })).toBe(1);
    // the original link + exactly one reminder link; only the newest is valid
    const requests = await db.signingRequest.findMany({ where: { recipientId: rs[0].id } });
    expect(requests).toHaveLength(2);
    expect(requests.filter((r) => !r.revokedAt)).toHaveLength(1);
    const audit = (await listEnvelopeAudit(db, s.org.id, env.id)).filter((e) => e.action === 'signing.reminder_sent');
    expect(audit).toHaveLength(1);
  });

  it('sequential order: only the party whose turn it is; a signer who completed gets none', async () => {
    const db = tdb.prisma;
    const first = supplierSigner({ order: 1 });
    const second = supplierSigner({ order: 2 });
    const env = await createSentEnvelope(db, s.actor, { recipients: [first, second] });
    expect(env.signingOrder).toBe('sequential');
    const { rs, base } = await partiesOf(env.id);
    const sent = forEnv(await sendDueReminders(db, { now: new Date(base + 7 * DAY + 60_000) }), env.id);
    expect(sent.map((x) => x.recipientId)).toEqual([rs[0].id]);

    // The first party signs (with the reminder's link) on day 8; the second is notified then.
    const [reminder] = await mailTo(first.email, (subj) => subj.startsWith('【再送】'));
    const day8 = new Date(base + 8 * DAY);
    await completeSigning(db, signingTokenIn(reminder.text)!, { ...testCtx, now: day8 });
    const second2 = await db.recipient.findUniqueOrThrow({ where: { id: rs[1].id } });
    expect(second2.notifiedAt!.getTime()).toBe(day8.getTime());
    // Day 14 after the first notification: the first party is done, the second is only 6 days in.
    expect(forEnv(await sendDueReminders(db, { now: new Date(base + 14 * DAY + 60_000) }), env.id)).toEqual([]);
    const later = forEnv(await sendDueReminders(db, { now: new Date(day8.getTime() + 7 * DAY + 60_000) }), env.id);
    expect(later.map((x) => [x.recipientId, x.day])).toEqual([[rs[1].id, 7]]);
  });

  it('nothing for completed (all signed), declined, voided or expired envelopes', async () => {
    const db = tdb.prisma;
    // all signed → sealing
    const done = supplierSigner();
    const envDone = await createSentEnvelope(db, s.actor, { recipients: [done] });
    const [m] = await mailTo(done.email, () => true);
    await completeSigning(db, signingTokenIn(m.text)!, testCtx);
    expect((await db.envelope.findUniqueOrThrow({ where: { id: envDone.id } })).status).toBe('sealing');
    // declined by one of two signers
    const dec = supplierSigner();
    const envDeclined = await createSentEnvelope(db, s.actor, { recipients: [dec, supplierSigner()] });
    const [dm] = await mailTo(dec.email, () => true);
    await declineSigning(db, signingTokenIn(dm.text)!, '金額が違います', testCtx);
    expect((await db.envelope.findUniqueOrThrow({ where: { id: envDeclined.id } })).status).toBe('declined');
    // voided
    const envVoided = await createSentEnvelope(db, s.actor);
    await voidEnvelope(db, s.actor, envVoided.id, '内容に誤りがあるため', testCtx);
    // past the deadline: before and after expireDueEnvelopes marks it
    const envExpired = await createSentEnvelope(db, s.actor);
    const ids = [envDone.id, envDeclined.id, envVoided.id, envExpired.id];
    const pastDeadline = new Date(envExpired.expiresAt!.getTime() + 60_000);

    for (const now of [new Date(Date.now() + 7 * DAY + 60_000), new Date(Date.now() + 28 * DAY + 60_000)]) {
      const sent = await sendDueReminders(db, { now });
      expect(sent.filter((x) => ids.includes(x.envelopeId) && x.envelopeId !== envExpired.id)).toEqual([]);
    }
    // past the deadline (not yet marked expired, then marked): nothing
    expect(forEnv(await sendDueReminders(db, { now: pastDeadline, days: [29, 30, 31] }), envExpired.id)).toEqual([]);
    await expireDueEnvelopes(db, { now: pastDeadline });
    expect((await db.envelope.findUniqueOrThrow({ where: { id: envExpired.id } })).status).toBe('expired');
    expect(forEnv(await sendDueReminders(db, { now: pastDeadline, days: [29, 30, 31] }), envExpired.id)).toEqual([]);
    const reminded = await db.outboxEmail.findMany({ where: { envelopeId: { in: ids }, dedupeKey: { startsWith: 'signing-reminder:' } } });
    // only envExpired (days 7 and 28, while still within its deadline)
    expect(reminded.map((o) => [o.envelopeId, o.dedupeKey.replace(/^.*:/, '')]).sort()).toEqual([
      [envExpired.id, 'day28'],
      [envExpired.id, 'day7'],
    ]);
  });

  it('REMINDER_DAYS empty turns reminders off; the setting is parsed and validated', async () => {
    const db = tdb.prisma;
    const env = await createSentEnvelope(db, s.actor);
    const { base } = await partiesOf(env.id);
    process.env.REMINDER_DAYS = '';
    resetConfig();
    try {
      expect(await sendDueReminders(db, { now: new Date(base + 7 * DAY + 60_000) })).toEqual([]);
      expect(await sendDueReminders(db, { now: new Date(base + 29 * DAY) })).toEqual([]);
    } finally {
      delete process.env.REMINDER_DAYS;
      resetConfig();
    }
    expect(forEnv(await sendDueReminders(db, { now: new Date(base + 7 * DAY + 60_000) }), env.id)).toHaveLength(1);

    expect(loadConfig(envWith()).REMINDER_DAYS).toEqual([7, 14, 21, 28]);
    expect(loadConfig(envWith('')).REMINDER_DAYS).toEqual([]);
    expect(loadConfig(envWith(' 10, 3 ,3')).REMINDER_DAYS).toEqual([3, 10]);
    expect(() => loadConfig(envWith('7,x'))).toThrow(/REMINDER_DAYS/);
    expect(() => loadConfig(envWith('0'))).toThrow(/REMINDER_DAYS/);
  });
});
