/**
 * lib/envelopes against real PostgreSQL: create → documents → parties → send, sequential and
 * parallel order, idempotent send, void, resend, bad uploads (nothing half-created), field errors.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../lib/audit';
import { resetConfig } from '../../lib/config';
import {
  addDocument,
  createDraft,
  expireDueEnvelopes,
  getEnvelope,
  listEnvelopes,
  removeDocument,
  reorderDocuments,
  resendRequest,
  sendEnvelope,
  setRecipients,
  updateDraft,
  voidEnvelope,
} from '../../lib/envelopes';
import { AppError } from '../../lib/errors';
import { sealPdf } from '../../lib/pades';
import { hashToken } from '../../lib/security';
import { readBlob } from '../../lib/storage';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { createTestPki } from '../helpers/pades-test-pki';
import {
  createDraftEnvelope,
  createOrgWithStaff,
  createSentEnvelope,
  defaultEnvelopeInput,
  makeEncryptedPdf,
  makePdf,
  makeTruncatedPdf,
  municipalSigner,
  notAPdf,
  supplierSigner,
  testCtx,
  useTempDataDir,
} from '../helpers/fixtures';
import { signingTokenIn } from '../helpers/smtp';

let t: TestDatabase;
let data: Awaited<ReturnType<typeof useTempDataDir>>;
let s: Awaited<ReturnType<typeof createOrgWithStaff>>;

beforeAll(async () => {
  data = await useTempDataDir();
  t = await createTestDatabase();
  s = await createOrgWithStaff(t.prisma);
});
afterAll(async () => {
  await t?.drop();
  await data?.cleanup();
});

async function expectAppError(p: Promise<unknown>, code: string): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe(code);
    return e as AppError;
  }
  throw new Error(`expected AppError ${code}`);
}

async function storedFileCount(): Promise<number> {
  const walk = async (d: string): Promise<number> => {
    let n = 0;
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) n += e.isDirectory() ? await walk(path.join(d, e.name)) : 1;
    return n;
  };
  return walk(path.join(data.dir, 'storage'));
}

/** A PDF sealed by our own sealPdf (openssl test PKI + `openssl ts` TSA): it carries /Lock P 1. */
async function lockedPdf(): Promise<Uint8Array> {
  const pki = createTestPki();
  return sealPdf(await makePdf(), { reason: '封緘済み', keyProvider: pki.provider(), tsa: pki.tsa, revocation: pki.revocation });
}

describe('create → send', () => {
  it('creates a draft with two PDFs and two parties, then sends it', async () => {
    const env = await createDraft(t.prisma, s.actor, defaultEnvelopeInput({ amount: '１２，３４５，０００円' }), testCtx);
    expect(env.status).toBe('draft');
    expect(env.documentNumber).toMatch(/^TS-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/);
    expect(env.amount).toBe(12_345_000n);
    expect(env.counterpartyNormalized).toBe('株式会社川口建設');
    expect(env.transactionDate?.toISOString()).toBe('2026-04-01T00:00:00.000Z');

    const pdf1 = await makePdf({ pages: 3 });
    const d1 = await addDocument(t.prisma, s.actor, env.id, { fileName: '契約書.pdf', bytes: pdf1 }, testCtx);
    const d2 = await addDocument(t.prisma, s.actor, env.id, { fileName: '仕様書.pdf', bytes: await makePdf() }, testCtx);
    expect(d1.pageCount).toBe(3);
    expect([d1.position, d2.position]).toEqual([1, 2]);
    expect(Buffer.from(await readBlob(t.prisma, d1.originalBlobId)).equals(Buffer.from(pdf1))).toBe(true);

    const sup = supplierSigner({ order: 1 });
    const mun = municipalSigner({ order: 1 });
    const recipients = await setRecipients(t.prisma, s.actor, env.id, [sup, mun, { role: 'cc', name: '経理 花子', email: 'cc@city.example.jp' }], testCtx);
    expect(recipients).toHaveLength(3);

    const res = await sendEnvelope(t.prisma, s.actor, env.id, testCtx);
    expect(res.alreadySent).toBe(false);
    expect(res.envelope.status).toBe('sent');
    expect(res.envelope.signingOrder).toBe('parallel');
    expect(res.envelope.sentAt).toBeInstanceOf(Date);
    const days = (res.envelope.expiresAt!.getTime() - res.envelope.sentAt!.getTime()) / 86_400_000;
    expect(days).toBe(30);
    expect(res.notifiedRecipientIds).toHaveLength(2); // both signers, not the cc

    const requests = await t.prisma.signingRequest.findMany({ where: { recipient: { envelopeId: env.id } }, include: { recipient: true } });
    expect(requests.map((r) => r.recipient.email).sort()).toEqual([sup.email, mun.email].sort());
    const outbox = await t.prisma.outboxEmail.findMany({ where: { envelopeId: env.id } });
    expect(outbox).toHaveLength(2);
    for (const row of outbox) {
      expect(row.kind).toBe('signing_request');
      expect(row.status).toBe('pending');
      expect(row.subject).toBe(`【川口市】 ${s.actor.name}様より「${env.title}」への署名依頼が届いています`);
      const token = signingTokenIn(row.textBody)!;
      expect(token).toBeDefined();
      expect(Buffer.from(token, 'base64url').length).toBe(32); // 256-bit
      const req = requests.find((r) => r.recipient.email === row.toAddress)!;
      expect(req.tokenHash).toBe(hashToken(token));
      expect(req.tokenHash).not.toContain(token);
      expect(req.expiresAt.getTime()).toBe(res.envelope.expiresAt!.getTime());
      expect(row.htmlBody).toContain(`/sign/${token}`);
    }
    const detail = await getEnvelope(t.prisma, s.actor, env.id);
    expect(detail.recipients.map((r) => r.status)).toEqual(['waiting', 'waiting', 'pending']);
    expect(detail.documents.map((d) => d.fileName)).toEqual(['契約書.pdf', '仕様書.pdf']);
    expect('accessCodeHash' in detail.recipients[0]).toBe(false);

    const actions = (await t.prisma.auditEvent.findMany({ where: { envelopeId: env.id }, orderBy: { id: 'asc' } })).map((a) => a.action);
    expect(actions).toEqual([
      'envelope.created',
      'document.added',
      'document.added',
      'recipients.updated',
      'envelope.sent',
      'signing_request.created',
      'signing_request.created',
    ]);
    expect(await verifyAuditChain(t.prisma, s.org.id)).toBeNull();

    // sent envelopes cannot be edited
    await expectAppError(updateDraft(t.prisma, s.actor, env.id, defaultEnvelopeInput(), testCtx), 'invalid_state');
    await expectAppError(addDocument(t.prisma, s.actor, env.id, { fileName: 'x.pdf', bytes: await makePdf() }, testCtx), 'invalid_state');
    await expectAppError(setRecipients(t.prisma, s.actor, env.id, [supplierSigner()], testCtx), 'invalid_state');
  });

  it('sequential order (orders differ): only the first order is emailed', async () => {
    const env = await createSentEnvelope(t.prisma, s.actor, {
      recipients: [supplierSigner({ order: 1 }), supplierSigner({ order: 1, name: '佐藤 次郎' }), municipalSigner({ order: 2 })],
    });
    expect(env.signingOrder).toBe('sequential');
    const rs = await t.prisma.recipient.findMany({ where: { envelopeId: env.id }, include: { signingRequests: true }, orderBy: { order: 'asc' } });
    expect(rs.map((r) => [r.order, r.signingRequests.length, r.notifiedAt !== null])).toEqual([
      [1, 1, true],
      [1, 1, true],
      [2, 0, false],
    ]);
    expect(await t.prisma.outboxEmail.count({ where: { envelopeId: env.id } })).toBe(2);
    // the later party cannot be re-sent before their turn
    await expectAppError(resendRequest(t.prisma, s.actor, env.id, rs[2].id, testCtx), 'invalid_state');
  });

  it('parallel order (same order): every signer is emailed', async () => {
    const env = await createSentEnvelope(t.prisma, s.actor, {
      recipients: [supplierSigner({ order: 2 }), municipalSigner({ order: 2 }), municipalSigner({ order: 2, name: '副市長' })],
    });
    expect(env.signingOrder).toBe('parallel');
    expect(await t.prisma.signingRequest.count({ where: { recipient: { envelopeId: env.id } } })).toBe(3);
    expect(await t.prisma.outboxEmail.count({ where: { envelopeId: env.id } })).toBe(3);
  });

  it('sending twice at once (double click, two tabs) sends once', async () => {
    const env = await createDraftEnvelope(t.prisma, s.actor, { recipients: [supplierSigner(), municipalSigner()] });
    const results = await Promise.all([
      sendEnvelope(t.prisma, s.actor, env.id, testCtx),
      sendEnvelope(t.prisma, s.actor, env.id, testCtx),
      sendEnvelope(t.prisma, s.actor, env.id, testCtx),
    ]);
    expect(results.filter((r) => !r.alreadySent)).toHaveLength(1);
    expect(await t.prisma.signingRequest.count({ where: { recipient: { envelopeId: env.id } } })).toBe(2);
    expect(await t.prisma.outboxEmail.count({ where: { envelopeId: env.id } })).toBe(2);
    expect(await t.prisma.auditEvent.count({ where: { envelopeId: env.id, action: 'envelope.sent' } })).toBe(1);
  });

  it('refuses to send without documents or signers (field-level)', async () => {
    const env = await createDraft(t.prisma, s.actor, defaultEnvelopeInput(), testCtx);
    await setRecipients(t.prisma, s.actor, env.id, [{ role: 'cc', name: '経理', email: 'cc@city.example.jp' }], testCtx);
    const e = await expectAppError(sendEnvelope(t.prisma, s.actor, env.id, testCtx), 'validation');
    expect(e.fieldErrors).toEqual({
      documents: '文書（PDF）を1つ以上追加してください。',
      recipients: '署名者を1人以上追加してください。',
    });
    expect((await t.prisma.envelope.findUniqueOrThrow({ where: { id: env.id } })).status).toBe('draft');
  });
});

describe('void', () => {
  it('voids with a reason, revokes links and notifies the parties who were emailed', async () => {
    const first = supplierSigner({ order: 1 });
    const second = municipalSigner({ order: 2 });
    const env = await createSentEnvelope(t.prisma, s.actor, { recipients: [first, second] });
    await expectAppError(voidEnvelope(t.prisma, s.actor, env.id, '   ', testCtx), 'validation');
    const voided = await voidEnvelope(t.prisma, s.actor, env.id, '契約金額の誤りのため', testCtx);
    expect(voided.status).toBe('voided');
    expect(voided.voidReason).toBe('契約金額の誤りのため');
    expect(voided.voidedAt).toBeInstanceOf(Date);
    const reqs = await t.prisma.signingRequest.findMany({ where: { recipient: { envelopeId: env.id } } });
    expect(reqs.length).toBe(1);
    expect(reqs.every((r) => r.revokedAt !== null)).toBe(true);
    const notices = await t.prisma.outboxEmail.findMany({ where: { envelopeId: env.id, kind: 'void_notice' } });
    expect(notices.map((n) => n.toAddress)).toEqual([first.email]); // the 2nd party was never emailed
    expect(notices[0].subject).toBe(`【川口市】 「${env.title}」の署名依頼は取り消されました`);
    expect(notices[0].textBody).toContain('取消理由：契約金額の誤りのため');
    const audit = await t.prisma.auditEvent.findFirstOrThrow({ where: { envelopeId: env.id, action: 'envelope.voided' } });
    expect(audit.details).toMatchObject({ reason: '契約金額の誤りのため', previousStatus: 'sent', notified: [first.email] });
    // idempotent, and a voided envelope cannot be sent or re-sent
    await voidEnvelope(t.prisma, s.actor, env.id, 'もう一度', testCtx);
    expect(await t.prisma.outboxEmail.count({ where: { envelopeId: env.id, kind: 'void_notice' } })).toBe(1);
    await expectAppError(sendEnvelope(t.prisma, s.actor, env.id, testCtx), 'invalid_state');
    const r = await t.prisma.recipient.findFirstOrThrow({ where: { envelopeId: env.id, email: first.email } });
    await expectAppError(resendRequest(t.prisma, s.actor, env.id, r.id, testCtx), 'invalid_state');
  });

  it('voids a draft without emailing anyone', async () => {
    const env = await createDraftEnvelope(t.prisma, s.actor);
    const v = await voidEnvelope(t.prisma, s.actor, env.id, '不要になったため', testCtx);
    expect(v.status).toBe('voided');
    expect(await t.prisma.outboxEmail.count({ where: { envelopeId: env.id } })).toBe(0);
  });
});

describe('resend', () => {
  it('issues a new token and revokes the old one', async () => {
    const signer = supplierSigner();
    const env = await createSentEnvelope(t.prisma, s.actor, { recipients: [signer] });
    const r = await t.prisma.recipient.findFirstOrThrow({ where: { envelopeId: env.id } });
    const firstRow = await t.prisma.outboxEmail.findFirstOrThrow({ where: { envelopeId: env.id } });
    const oldToken = signingTokenIn(firstRow.textBody)!;

    const later = new Date(Date.now() + 5 * 86_400_000);
    const res = await resendRequest(t.prisma, s.actor, env.id, r.id, { ...testCtx, now: later });
    expect(res.expiresAt.getTime()).toBe(later.getTime() + 30 * 86_400_000);

    const old = await t.prisma.signingRequest.findUniqueOrThrow({ where: { tokenHash: hashToken(oldToken) } });
    expect(old.revokedAt).not.toBeNull();
    const rows = await t.prisma.outboxEmail.findMany({ where: { envelopeId: env.id }, orderBy: { createdAt: 'asc' } });
    expect(rows).toHaveLength(2);
    const resent = rows.find((x) => x.id !== firstRow.id)!;
    expect(resent.subject.startsWith('【再送】【川口市】')).toBe(true);
    const newToken = signingTokenIn(resent.textBody)!;
    expect(newToken).not.toBe(oldToken);
    const fresh = await t.prisma.signingRequest.findUniqueOrThrow({ where: { tokenHash: hashToken(newToken) } });
    expect(fresh.id).toBe(res.signingRequestId);
    expect(fresh.revokedAt).toBeNull();
    expect(fresh.recipientId).toBe(r.id);
    const envAfter = await t.prisma.envelope.findUniqueOrThrow({ where: { id: env.id } });
    expect(envAfter.expiresAt!.getTime()).toBe(res.expiresAt.getTime());
    expect(await t.prisma.auditEvent.count({ where: { envelopeId: env.id, action: 'signing_request.resent' } })).toBe(1);
  });
});

describe('documents', () => {
  it('removes and reorders documents of a draft', async () => {
    const env = await createDraftEnvelope(t.prisma, s.actor, { documents: 3 });
    const docs = await t.prisma.document.findMany({ where: { envelopeId: env.id }, orderBy: { position: 'asc' } });
    const files = await storedFileCount();
    await removeDocument(t.prisma, s.actor, env.id, docs[0].id, testCtx);
    expect(await storedFileCount()).toBe(files - 1);
    expect(await t.prisma.storedBlob.count({ where: { id: docs[0].originalBlobId } })).toBe(0);
    const after = await reorderDocuments(t.prisma, s.actor, env.id, [docs[2].id, docs[1].id], testCtx);
    expect(after.map((d) => [d.id, d.position])).toEqual([
      [docs[2].id, 1],
      [docs[1].id, 2],
    ]);
    await expectAppError(reorderDocuments(t.prisma, s.actor, env.id, [docs[2].id], testCtx), 'validation');
  });

  it('refuses bad uploads with a Japanese message naming the file, leaving nothing behind', async () => {
    const env = await createDraft(t.prisma, s.actor, defaultEnvelopeInput(), testCtx);
    const good = await makePdf();
    await addDocument(t.prisma, s.actor, env.id, { fileName: '本契約書.pdf', bytes: good }, testCtx);
    const blobs = await t.prisma.storedBlob.count();
    const files = await storedFileCount();

    const cases: { name: string; bytes: Uint8Array; code: string; message: RegExp }[] = [
      { name: 'メモ.pdf', bytes: notAPdf(), code: 'pdf_invalid', message: /「メモ\.pdf」は.*PDF/ },
      { name: '空.pdf', bytes: new Uint8Array(0), code: 'pdf_empty', message: /「空\.pdf」は.*空/ },
      { name: '途中まで.pdf', bytes: await makeTruncatedPdf(), code: 'pdf_invalid', message: /「途中まで\.pdf」は/ },
      { name: '暗号化.pdf', bytes: await makeEncryptedPdf(), code: 'pdf_encrypted', message: /「暗号化\.pdf」は.*パスワード/ },
      { name: 'コピー.pdf', bytes: good, code: 'pdf_duplicate', message: /「コピー\.pdf」は.*「本契約書\.pdf」/ },
      // Already sealed (its /Lock P 1 forbids changes): our seal would break that signature.
      { name: '封緘済み.pdf', bytes: await lockedPdf(), code: 'pdf_locked', message: /「封緘済み\.pdf」は.*変更を禁止する電子署名/ },
    ];
    for (const c of cases) {
      const e = await expectAppError(addDocument(t.prisma, s.actor, env.id, { fileName: c.name, bytes: c.bytes }, testCtx), c.code);
      expect(e.message).toMatch(c.message);
    }

    // over the size limit, by declared size and by actual bytes (stream)
    process.env.MAX_UPLOAD_MB = '0.01';
    resetConfig();
    try {
      const big = await makePdf({ pages: 60 });
      expect(big.length).toBeGreaterThan(0.01 * 1024 * 1024);
      let e = await expectAppError(addDocument(t.prisma, s.actor, env.id, { fileName: '大きい.pdf', size: 200 * 1024 * 1024, bytes: big }, testCtx), 'pdf_too_large');
      expect(e.message).toMatch(/「大きい\.pdf」は大きすぎます（上限 0 MB）|「大きい\.pdf」は大きすぎます/);
      const { Readable } = await import('node:stream');
      e = await expectAppError(addDocument(t.prisma, s.actor, env.id, { fileName: '大きい2.pdf', stream: Readable.from([Buffer.from(big)]) }, testCtx), 'pdf_too_large');
      expect(e.message).toContain('「大きい2.pdf」');
    } finally {
      delete process.env.MAX_UPLOAD_MB;
      resetConfig();
    }

    expect(await t.prisma.document.count({ where: { envelopeId: env.id } })).toBe(1);
    expect(await t.prisma.storedBlob.count()).toBe(blobs);
    expect(await storedFileCount()).toBe(files);
  });

  it('two concurrent uploads of the same PDF store it once', async () => {
    const env = await createDraft(t.prisma, s.actor, defaultEnvelopeInput(), testCtx);
    const pdf = await makePdf();
    const blobs = await t.prisma.storedBlob.count();
    const files = await storedFileCount();
    const results = await Promise.allSettled([
      addDocument(t.prisma, s.actor, env.id, { fileName: 'a.pdf', bytes: pdf }, testCtx),
      addDocument(t.prisma, s.actor, env.id, { fileName: 'b.pdf', bytes: pdf }, testCtx),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((rejected.reason as AppError).code).toBe('pdf_duplicate');
    expect(await t.prisma.storedBlob.count()).toBe(blobs + 1);
    expect(await storedFileCount()).toBe(files + 1);
  });
});

describe('validation', () => {
  it('reports field-level Japanese messages', async () => {
    const e = await expectAppError(
      createDraft(t.prisma, s.actor, { title: '', counterparty: '  ', amount: '-100', transactionDate: '2026-02-30', taxAmount: '1.5' }, testCtx),
      'validation',
    );
    expect(e.fieldErrors).toEqual({
      title: '案件名を入力してください。',
      counterparty: '取引先を入力してください。',
      amount: '取引金額は0以上の金額を入力してください。',
      transactionDate: '取引年月日を正しい日付（例: 2026-04-01）で入力してください。',
      taxAmount: '消費税額は1円単位の整数で入力してください。',
    });
    const env = await createDraft(t.prisma, s.actor, defaultEnvelopeInput(), testCtx);
    const r = await expectAppError(
      setRecipients(
        t.prisma,
        s.actor,
        env.id,
        [
          { name: '', email: 'not-an-email' },
          { name: '山田', email: 'dup@example.jp' },
          { name: '山田2', email: 'DUP@example.jp', accessCode: 'ab' },
          { name: '順番', email: 'o@example.jp', order: 0 },
        ],
        testCtx,
      ),
      'validation',
    );
    expect(r.fieldErrors).toEqual({
      'recipients.0.name': '氏名を入力してください。',
      'recipients.0.email': 'メールアドレスの形式が正しくありません（例: keiyaku@example.co.jp）。',
      'recipients.2.accessCode': 'アクセスコードは4〜40文字の半角英数字・記号で入力してください。',
      'recipients.2.email': 'このメールアドレスは既に追加されています。',
      'recipients.3.order': '順番は1以上の整数で入力してください。',
    });
  });

  it('re-saving the same parties changes nothing; the submitted order is kept', async () => {
    const env = await createDraft(t.prisma, s.actor, defaultEnvelopeInput(), testCtx);
    const list = [supplierSigner({ name: '一人目' }), supplierSigner({ name: '二人目' }), municipalSigner({ name: '三人目' })];
    const a = await setRecipients(t.prisma, s.actor, env.id, list, testCtx);
    const b = await setRecipients(t.prisma, s.actor, env.id, list, testCtx);
    expect(b.map((r) => r.id)).toEqual(a.map((r) => r.id));
    expect(await t.prisma.auditEvent.count({ where: { envelopeId: env.id, action: 'recipients.updated' } })).toBe(1);
    expect((await getEnvelope(t.prisma, s.actor, env.id)).recipients.map((r) => r.name)).toEqual(['一人目', '二人目', '三人目']);
    const c = await setRecipients(t.prisma, s.actor, env.id, [list[1], list[0]], testCtx);
    expect(c.map((r) => r.name)).toEqual(['二人目', '一人目']);
    expect(await t.prisma.auditEvent.count({ where: { envelopeId: env.id, action: 'recipients.updated' } })).toBe(2);
  });

  it('stores access codes only as argon2 hashes', async () => {
    const env = await createDraft(t.prisma, s.actor, defaultEnvelopeInput(), testCtx);
    await setRecipients(t.prisma, s.actor, env.id, [supplierSigner({ accessCode: 'Kawaguchi-2026!' })], testCtx);
    const r = await t.prisma.recipient.findFirstOrThrow({ where: { envelopeId: env.id } });
    expect(r.accessCodeHash).toMatch(/^\$argon2id\$/);
    const audit = await t.prisma.auditEvent.findFirstOrThrow({ where: { envelopeId: env.id, action: 'recipients.updated' } });
    expect(JSON.stringify(audit.details)).not.toContain('Kawaguchi-2026!');
    const detail = await getEnvelope(t.prisma, s.actor, env.id);
    expect(detail.recipients[0].hasAccessCode).toBe(true);
  });
});

describe('list', () => {
  it('pages newest first with a cursor and filters by status', async () => {
    const other = await createOrgWithStaff(t.prisma, { orgName: '蕨市' });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createDraft(t.prisma, other.actor, defaultEnvelopeInput({ title: `案件${i}` }), testCtx)).id);
    const p1 = await listEnvelopes(t.prisma, other.actor, { limit: 2 });
    const p2 = await listEnvelopes(t.prisma, other.actor, { limit: 2, cursor: p1.nextCursor! });
    const p3 = await listEnvelopes(t.prisma, other.actor, { limit: 2, cursor: p2.nextCursor! });
    expect([...p1.items, ...p2.items, ...p3.items].map((e) => e.id)).toEqual([...ids].reverse());
    expect(p3.nextCursor).toBeNull();
    expect((await listEnvelopes(t.prisma, other.actor, { status: 'sent' })).items).toHaveLength(0);
    expect((await listEnvelopes(t.prisma, other.actor, { status: 'draft' })).items).toHaveLength(5);
  });
});

describe('expiry', () => {
  it('marks sent envelopes past their deadline expired (once, with an audit event)', async () => {
    const env = await createSentEnvelope(t.prisma, s.actor);
    const draft = await createDraftEnvelope(t.prisma, s.actor);
    await expireDueEnvelopes(t.prisma, { now: new Date(env.expiresAt!.getTime() - 1000) }); // (earlier envelopes of this file may expire)
    expect((await t.prisma.envelope.findUniqueOrThrow({ where: { id: env.id } })).status).toBe('sent');
    const after = new Date(env.expiresAt!.getTime() + 1000);
    const [a, b] = await Promise.all([expireDueEnvelopes(t.prisma, { now: after }), expireDueEnvelopes(t.prisma, { now: after })]);
    expect(a + b).toBeGreaterThanOrEqual(1);
    expect((await t.prisma.envelope.findUniqueOrThrow({ where: { id: env.id } })).status).toBe('expired');
    expect((await t.prisma.envelope.findUniqueOrThrow({ where: { id: draft.id } })).status).toBe('draft');
    expect(await t.prisma.auditEvent.count({ where: { envelopeId: env.id, action: 'envelope.expired' } })).toBe(1);
    await expectAppError(voidEnvelope(t.prisma, s.actor, env.id, '期限切れ後', testCtx), 'invalid_state');
    expect(await verifyAuditChain(t.prisma, s.org.id)).toBeNull();
  });
});
