/**
 * Staff of another organisation get not_found (never forbidden) from every envelope function,
 * and nothing changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addDocument,
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
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import {
  createDraftEnvelope,
  createOrgWithStaff,
  createSentEnvelope,
  defaultEnvelopeInput,
  makePdf,
  supplierSigner,
  testCtx,
  useTempDataDir,
} from '../helpers/fixtures';

let t: TestDatabase;
let data: Awaited<ReturnType<typeof useTempDataDir>>;

beforeAll(async () => {
  data = await useTempDataDir();
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
  await data?.cleanup();
});

async function expectNotFound(p: Promise<unknown>) {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AppError);
  expect((e as AppError).code).toBe('not_found');
  expect((e as AppError).httpStatus).toBe(404);
}

describe('organisation isolation', () => {
  it('every envelope function answers not_found to another organisation', async () => {
    const kawaguchi = await createOrgWithStaff(t.prisma, { orgName: '川口市' });
    const warabi = await createOrgWithStaff(t.prisma, { orgName: '蕨市', role: 'admin' });
    const draft = await createDraftEnvelope(t.prisma, kawaguchi.actor, { documents: 2 });
    const sent = await createSentEnvelope(t.prisma, kawaguchi.actor);
    const docs = await t.prisma.document.findMany({ where: { envelopeId: draft.id }, orderBy: { position: 'asc' } });
    const sentRecipient = await t.prisma.recipient.findFirstOrThrow({ where: { envelopeId: sent.id } });
    const snapshot = async () =>
      JSON.stringify(
        await t.prisma.envelope.findMany({ orderBy: { id: 'asc' }, include: { documents: true, recipients: { include: { signingRequests: true } } } }),
        (_k, v) => (typeof v === 'bigint' ? v.toString() : v),
      );
    const before = await snapshot();
    const outboxBefore = await t.prisma.outboxEmail.count();
    const other = warabi.actor;

    await expectNotFound(getEnvelope(t.prisma, other, draft.id));
    await expectNotFound(getEnvelope(t.prisma, other, sent.id));
    await expectNotFound(updateDraft(t.prisma, other, draft.id, defaultEnvelopeInput({ title: '乗っ取り' }), testCtx));
    await expectNotFound(addDocument(t.prisma, other, draft.id, { fileName: 'x.pdf', bytes: await makePdf() }, testCtx));
    await expectNotFound(removeDocument(t.prisma, other, draft.id, docs[0].id, testCtx));
    await expectNotFound(reorderDocuments(t.prisma, other, draft.id, [docs[1].id, docs[0].id], testCtx));
    await expectNotFound(setRecipients(t.prisma, other, draft.id, [supplierSigner()], testCtx));
    await expectNotFound(sendEnvelope(t.prisma, other, draft.id, testCtx));
    await expectNotFound(resendRequest(t.prisma, other, sent.id, sentRecipient.id, testCtx));
    await expectNotFound(voidEnvelope(t.prisma, other, sent.id, '不正な取消', testCtx));
    await expectNotFound(voidEnvelope(t.prisma, other, draft.id, '不正な取消', testCtx));
    // malformed and unknown ids look the same
    await expectNotFound(getEnvelope(t.prisma, other, 'not-a-uuid'));
    await expectNotFound(getEnvelope(t.prisma, other, '00000000-0000-4000-8000-000000000000'));
    expect((await listEnvelopes(t.prisma, other)).items).toHaveLength(0);
    expect((await listEnvelopes(t.prisma, kawaguchi.actor)).items.map((e) => e.id).sort()).toEqual([draft.id, sent.id].sort());

    // a document id of one's own organisation cannot be used against another envelope either
    const own = await createDraftEnvelope(t.prisma, other);
    const e = await removeDocument(t.prisma, other, own.id, docs[0].id, testCtx).then(
      () => undefined,
      (err: unknown) => err as AppError,
    );
    expect(e?.code).toBe('not_found');

    expect(await snapshot()).not.toBe(''); // sanity
    const after = JSON.parse(await snapshot()) as { id: string }[];
    const beforeParsed = JSON.parse(before) as { id: string }[];
    expect(after.filter((x) => x.id !== own.id)).toEqual(beforeParsed);
    expect(await t.prisma.outboxEmail.count()).toBe(outboxBefore);
    expect(await t.prisma.auditEvent.count({ where: { organizationId: warabi.org.id, envelopeId: { in: [draft.id, sent.id] } } })).toBe(0);
  });
});
