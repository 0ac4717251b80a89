/**
 * lib/records against real PostgreSQL: paper contracts (書面契約) found by the search, append-only
 * corrections of the search fields, and the refusal to replace or delete a completed contract's
 * files — through lib/records and through direct SQL hitting the database triggers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StaffActor } from '../../lib/auth/types';
import type { Db } from '../../lib/db';
import { removeDocument } from '../../lib/envelopes';
import { AppError } from '../../lib/errors';
import {
  assertFilesMutable,
  correctEnvelopeFields,
  guardSealedFiles,
  isSealedFileViolation,
  listCorrections,
  registerPaperContract,
  SEALED_FILE_MESSAGE,
} from '../../lib/records';
import { searchEnvelopes } from '../../lib/search';
import { deleteBlob, putBlob, readBlob } from '../../lib/storage';
import { createDraftEnvelope, createOrgWithStaff, createStaff, makePdf, notAPdf, testCtx, useTempDataDir } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

let t: TestDatabase;
let db: Db;
let data: Awaited<ReturnType<typeof useTempDataDir>>;
let admin: StaffActor;
let staff: StaffActor;
let otherOrgAdmin: StaffActor;

const paperInput = {
  title: '令和7年度 庁舎清掃業務委託契約（書面）',
  counterparty: '㈱川口ビルメンテナンス',
  transactionDate: '2025-04-01',
  amount: '3,300,000',
  amountTaxIncluded: true,
  taxAmount: '300,000',
  contractNumber: '川契第2025-118号',
};

async function expectRefused(p: Promise<unknown>) {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e, 'the database should have refused').not.toBeNull();
  expect(isSealedFileViolation(e), String((e as Error)?.message)).toBe(true);
}

beforeAll(async () => {
  data = await useTempDataDir();
  t = await createTestDatabase();
  db = t.prisma;
  const a = await createOrgWithStaff(db, { role: 'admin', staffName: '管理 花子' });
  admin = a.actor;
  staff = (await createStaff(db, a.org, { name: '職員 次郎' })).actor;
  otherOrgAdmin = (await createOrgWithStaff(db, { orgName: '蕨市', role: 'admin' })).actor;
});
afterAll(async () => {
  await t?.drop();
  await data?.cleanup();
});

describe('書面契約 (paper contracts)', () => {
  it('registers a completed paper contract with its scan, found by the same search', async () => {
    const scan = await makePdf({ pages: 2 });
    const env = await registerPaperContract(db, staff, paperInput, { fileName: 'scan.pdf', bytes: scan }, testCtx);
    expect(env).toMatchObject({ isPaper: true, status: 'completed', counterparty: '㈱川口ビルメンテナンス', amount: 3_300_000n, createdById: staff.userId });
    expect(env.completedAt).toBeInstanceOf(Date);
    const docs = await db.document.findMany({ where: { envelopeId: env.id } });
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({ kind: 'paper_scan', fileName: 'scan.pdf', pageCount: 2, sizeBytes: BigInt(scan.length) });
    expect(Buffer.compare(await readBlob(db, docs[0].originalBlobId), Buffer.from(scan))).toBe(0);

    const found = await searchEnvelopes(db, admin, { counterparty: '株式会社川口', isPaper: true, dateFrom: '2025-04-01', dateTo: '2025-04-01', amountMin: 3_300_000 });
    expect(found.rows.map((r) => r.id)).toEqual([env.id]);
    expect(found.rows[0]).toMatchObject({ isPaper: true, status: 'completed' });
    expect((await searchEnvelopes(db, otherOrgAdmin, { isPaper: true })).rows).toEqual([]);

    const ev = await db.auditEvent.findFirst({ where: { envelopeId: env.id, action: 'paper.registered' } });
    expect(ev).toMatchObject({ actorId: staff.userId, ip: testCtx.ip });
    expect(ev?.details).toMatchObject({ fileName: 'scan.pdf', pageCount: 2 });
  });

  it('requires the fields and a real PDF', async () => {
    const e1 = await registerPaperContract(db, staff, { ...paperInput, counterparty: '' }, { fileName: 'a.pdf', bytes: await makePdf() }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(AppError);
    expect((e1 as AppError).fieldErrors?.counterparty).toBe('取引先を入力してください。');
    const e2 = await registerPaperContract(db, staff, paperInput, null).catch((e: unknown) => e);
    expect((e2 as AppError).fieldErrors?.file).toContain('PDF');
    const e3 = await registerPaperContract(db, staff, paperInput, { fileName: 'x.pdf', bytes: notAPdf() }).catch((e: unknown) => e);
    expect(e3).toBeInstanceOf(AppError);
    expect((e3 as AppError).code).toBe('pdf_invalid');
  });
});

describe('corrections of the search fields (append-only history)', () => {
  it('records one row per changed field (who, when, old → new, reason), updates the envelope and the search', async () => {
    const env = await registerPaperContract(db, staff, { ...paperInput, contractNumber: null }, { fileName: 's.pdf', bytes: await makePdf() });
    const t1 = new Date('2026-11-20T01:00:00Z');
    const r = await correctEnvelopeFields(
      db,
      admin,
      env.id,
      { counterparty: '株式会社 川口総合管理', amount: '3,520,000', transactionDate: '2025-04-02', contractNumber: '川契第2025-119号', title: paperInput.title },
      '契約書原本との照合により誤記を訂正',
      { ...testCtx, now: t1 },
    );
    expect(r.corrections.map((c) => [c.field, c.oldValue, c.newValue])).toEqual([
      ['counterparty', '㈱川口ビルメンテナンス', '株式会社 川口総合管理'],
      ['transactionDate', '2025-04-01', '2025-04-02'],
      ['amount', '3300000', '3520000'],
      ['contractNumber', null, '川契第2025-119号'],
    ]); // title unchanged → no row
    expect(r.envelope).toMatchObject({ counterparty: '株式会社 川口総合管理', counterpartyNormalized: '株式会社川口総合管理', amount: 3_520_000n });

    expect((await searchEnvelopes(db, admin, { counterparty: '総合管理' })).rows.map((x) => x.id)).toEqual([env.id]);
    expect((await searchEnvelopes(db, admin, { counterparty: 'ビルメンテナンス', dateFrom: '2025-04-01', dateTo: '2025-04-01' })).rows.map((x) => x.id)).not.toContain(env.id);

    const t2 = new Date('2026-11-21T01:00:00Z');
    await correctEnvelopeFields(db, staff, env.id, { amount: 3_500_000, amountTaxIncluded: false }, '税抜金額に訂正', { now: t2 });

    const history = await listCorrections(db, admin, env.id);
    expect(history.map((h) => [h.fieldLabel, h.oldValue, h.newValue, h.userName, h.reason])).toEqual([
      ['取引先', '㈱川口ビルメンテナンス', '株式会社 川口総合管理', '管理 花子', '契約書原本との照合により誤記を訂正'],
      ['取引年月日', '2025-04-01', '2025-04-02', '管理 花子', '契約書原本との照合により誤記を訂正'],
      ['取引金額', '3300000', '3520000', '管理 花子', '契約書原本との照合により誤記を訂正'],
      ['契約番号', null, '川契第2025-119号', '管理 花子', '契約書原本との照合により誤記を訂正'],
      ['取引金額', '3520000', '3500000', '職員 次郎', '税抜金額に訂正'],
      ['税込/税抜', 'true', 'false', '職員 次郎', '税抜金額に訂正'],
    ]);
    expect(history.slice(0, 4).every((h) => h.createdAt.getTime() === t1.getTime())).toBe(true);
    expect(history.slice(4).every((h) => h.createdAt.getTime() === t2.getTime())).toBe(true);
    expect(await listCorrections(db, otherOrgAdmin, env.id)).toEqual([]);

    const audits = await db.auditEvent.findMany({ where: { envelopeId: env.id, action: 'envelope.corrected' }, orderBy: { id: 'asc' } });
    expect(audits).toHaveLength(2);
    expect(audits[0].details).toMatchObject({ reason: '契約書原本との照合により誤記を訂正' });
  });

  it('refuses no-op corrections, a missing reason, other staff’s envelopes and other organisations', async () => {
    const env = await registerPaperContract(db, admin, paperInput, { fileName: 's.pdf', bytes: await makePdf() });
    const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (e as AppError).code);
    expect(await code(correctEnvelopeFields(db, admin, env.id, { counterparty: paperInput.counterparty }, '理由'))).toBe('validation');
    expect(await code(correctEnvelopeFields(db, admin, env.id, { amount: 1 }, '  '))).toBe('validation');
    expect(await code(correctEnvelopeFields(db, admin, env.id, { counterparty: '' }, '空にする'))).toBe('validation');
    expect(await code(correctEnvelopeFields(db, staff, env.id, { amount: 1 }, '作成者ではない職員'))).toBe('forbidden');
    expect(await code(correctEnvelopeFields(db, otherOrgAdmin, env.id, { amount: 1 }, '他の自治体'))).toBe('not_found');
    expect(await db.envelopeCorrection.count({ where: { envelopeId: env.id } })).toBe(0);
  });

  it('the history cannot be edited or deleted, even with direct SQL', async () => {
    const env = await registerPaperContract(db, admin, paperInput, { fileName: 's.pdf', bytes: await makePdf() });
    const { corrections } = await correctEnvelopeFields(db, admin, env.id, { amount: 1_000 }, '訂正');
    const id = corrections[0].id;
    // The app's role has no UPDATE/DELETE/TRUNCATE privilege; the owner is stopped by the trigger.
    for (const sql of [`UPDATE envelope_corrections SET new_value = '999' WHERE id = '${id}'`, `DELETE FROM envelope_corrections WHERE id = '${id}'`, 'TRUNCATE envelope_corrections']) {
      await expect(db.$executeRawUnsafe(sql)).rejects.toThrow(/permission denied/);
      await expect(t.owner.$executeRawUnsafe(sql)).rejects.toThrow(/append-only/);
    }
    await expect(db.envelopeCorrection.delete({ where: { id } })).rejects.toThrow();
    expect((await db.envelopeCorrection.findUniqueOrThrow({ where: { id } })).newValue).toBe('1000');
  });

  it('a completed envelope’s search fields cannot change silently (no correction row → refused)', async () => {
    const env = await registerPaperContract(db, admin, paperInput, { fileName: 's.pdf', bytes: await makePdf() });
    await expectRefused(db.$executeRawUnsafe(`UPDATE envelopes SET amount = 1 WHERE id = '${env.id}'`));
    await expectRefused(db.envelope.update({ where: { id: env.id }, data: { counterparty: '別の会社' } }));
    await expectRefused(db.$executeRawUnsafe(`UPDATE envelopes SET transaction_date = NULL WHERE id = '${env.id}'`));
    await expectRefused(db.$executeRawUnsafe(`UPDATE envelopes SET status = 'draft' WHERE id = '${env.id}'`));
    // other columns (e.g. updated_at) are not search fields
    await db.envelope.update({ where: { id: env.id }, data: { message: 'メモ' } });
  });
});

describe('a completed contract’s files can be neither replaced nor deleted', () => {
  it('via lib/records: assertFilesMutable and guardSealedFiles', async () => {
    const env = await registerPaperContract(db, admin, paperInput, { fileName: 's.pdf', bytes: await makePdf() });
    const doc = await db.document.findFirstOrThrow({ where: { envelopeId: env.id } });
    const e = await assertFilesMutable(db, env.id).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe('invalid_state');
    expect((e as AppError).message).toBe(SEALED_FILE_MESSAGE);
    const e2 = await guardSealedFiles(() => db.document.delete({ where: { id: doc.id } })).catch((x: unknown) => x);
    expect((e2 as AppError).code).toBe('invalid_state');
    const e3 = await guardSealedFiles(() => deleteBlob(db, doc.originalBlobId)).catch((x: unknown) => x);
    expect((e3 as AppError).code).toBe('invalid_state');
    expect(Buffer.byteLength(await readBlob(db, doc.originalBlobId))).toBeGreaterThan(0); // still there

    const draft = await createDraftEnvelope(db, admin);
    await expect(assertFilesMutable(db, draft.id)).resolves.toBeUndefined();
    const draftDoc = await db.document.findFirstOrThrow({ where: { envelopeId: draft.id } });
    await removeDocument(db, admin, draft.id, draftDoc.id, testCtx); // drafts stay editable
    expect(await db.document.count({ where: { envelopeId: draft.id } })).toBe(0);
  });

  it('via direct SQL: the triggers refuse deleting or replacing documents, blobs, certificates and envelopes', async () => {
    const env = await registerPaperContract(db, admin, paperInput, { fileName: 's.pdf', bytes: await makePdf() });
    const doc = await db.document.findFirstOrThrow({ where: { envelopeId: env.id } });
    const other = await putBlob(db, await makePdf(), { contentType: 'application/pdf' });

    await expectRefused(db.$executeRawUnsafe(`DELETE FROM documents WHERE id = '${doc.id}'`));
    await expectRefused(db.$executeRawUnsafe(`UPDATE documents SET original_blob_id = '${other.id}', sha256 = '${other.sha256}' WHERE id = '${doc.id}'`));
    await expectRefused(
      db.$executeRawUnsafe(
        `INSERT INTO documents (envelope_id, position, file_name, size_bytes, page_count, sha256, original_blob_id) VALUES ('${env.id}', 2, 'x.pdf', 1, 1, 'ab', '${other.id}')`,
      ),
    );
    await expectRefused(db.$executeRawUnsafe(`DELETE FROM stored_blobs WHERE id = '${doc.originalBlobId}'`));
    await expectRefused(db.$executeRawUnsafe(`UPDATE stored_blobs SET sha256 = 'tampered' WHERE id = '${doc.originalBlobId}'`));
    await expectRefused(db.$executeRawUnsafe(`DELETE FROM envelopes WHERE id = '${env.id}'`));
    // Re-wrapping the data key (master key rotation) is not a replacement of the content.
    await db.$executeRawUnsafe(`UPDATE stored_blobs SET master_key_id = master_key_id WHERE id = '${doc.originalBlobId}'`);

    const cert = await db.completionCertificate.create({ data: { envelopeId: env.id, blobId: other.id, sha256: other.sha256, pageCount: 1 } });
    await expectRefused(db.$executeRawUnsafe(`DELETE FROM completion_certificates WHERE id = '${cert.id}'`));
    await expectRefused(db.$executeRawUnsafe(`UPDATE completion_certificates SET sha256 = 'x' WHERE id = '${cert.id}'`));
    await expectRefused(db.$executeRawUnsafe(`DELETE FROM stored_blobs WHERE id = '${other.id}'`));
  });

  it('a sealed document cannot be re-sealed with other bytes, even before the envelope completes', async () => {
    const draft = await createDraftEnvelope(db, admin);
    const doc = await db.document.findFirstOrThrow({ where: { envelopeId: draft.id } });
    const sealed = await putBlob(db, await makePdf(), { contentType: 'application/pdf' });
    const again = await putBlob(db, await makePdf(), { contentType: 'application/pdf' });
    await db.document.update({ where: { id: doc.id }, data: { sealedBlobId: sealed.id, sealedSha256: sealed.sha256, sealedAt: new Date() } }); // first seal: allowed
    await expectRefused(db.document.update({ where: { id: doc.id }, data: { sealedBlobId: again.id, sealedSha256: again.sha256 } }));
    await expectRefused(db.$executeRawUnsafe(`UPDATE documents SET sealed_blob_id = NULL WHERE id = '${doc.id}'`));
    await expectRefused(db.$executeRawUnsafe(`DELETE FROM stored_blobs WHERE id = '${sealed.id}'`));
    expect(await assertFilesMutable(db, draft.id).catch((e: unknown) => (e as AppError).code)).toBe('invalid_state');
  });
});
