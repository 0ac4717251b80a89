/**
 * The PDF parsing budgets at the staff upload (lib/envelopes addDocument) and at 書面契約 registration
 * (lib/records), against real PostgreSQL and storage: a 1 GiB decompression bomb and a file with 300
 * signature fields are refused with 「処理できない構造のPDFです」 naming the file, and nothing is stored.
 * (Today's parser accepted the bomb as a one-page PDF after inflating it.)
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDocument, createDraft } from '../../lib/envelopes';
import { AppError } from '../../lib/errors';
import { closePdfPool } from '../../lib/pdfpool';
import { registerPaperContract } from '../../lib/records';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { createOrgWithStaff, defaultEnvelopeInput, testCtx, useTempDataDir } from '../helpers/fixtures';
import { manySignatureFields, xrefBomb } from '../helpers/hostile-pdf';

let t: TestDatabase;
let data: Awaited<ReturnType<typeof useTempDataDir>>;
let s: Awaited<ReturnType<typeof createOrgWithStaff>>;

beforeAll(async () => {
  data = await useTempDataDir();
  t = await createTestDatabase();
  s = await createOrgWithStaff(t.prisma);
});
afterAll(async () => {
  await closePdfPool();
  await t?.drop();
  await data?.cleanup();
});

async function storedFiles(): Promise<number> {
  const walk = async (d: string): Promise<number> => {
    let n = 0;
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) n += e.isDirectory() ? await walk(path.join(d, e.name)) : 1;
    return n;
  };
  return walk(path.join(data.dir, 'storage'));
}

const cases = [
  { name: '爆弾.pdf', bytes: () => xrefBomb(1024 * 1024 * 1024), what: /その内容に必要な大きさを超えて展開されます/ },
  { name: '署名欄.pdf', bytes: () => manySignatureFields(300), what: /署名欄の数が上限 64/ },
];

describe('staff upload', () => {
  it.each(cases)('refuses $name with pdf_too_complex and stores nothing', async ({ name, bytes, what }) => {
    const env = await createDraft(t.prisma, s.actor, defaultEnvelopeInput(), testCtx);
    const [blobs, files] = [await t.prisma.storedBlob.count(), await storedFiles()];
    const e = await addDocument(t.prisma, s.actor, env.id, { fileName: name, bytes: bytes() }, testCtx).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe('pdf_too_complex');
    expect((e as AppError).message).toContain(`「${name}」は処理できない構造のPDFです（`);
    expect((e as AppError).message).toMatch(what);
    expect(await t.prisma.document.count({ where: { envelopeId: env.id } })).toBe(0);
    expect(await t.prisma.storedBlob.count()).toBe(blobs);
    expect(await storedFiles()).toBe(files);
  });
});

describe('書面契約 registration', () => {
  it('refuses a bomb scan with pdf_too_complex', async () => {
    const input = { title: '清掃業務委託契約', counterparty: '㈱川口ビルメンテナンス', transactionDate: '2025-04-01', amount: '3300000', amountTaxIncluded: true };
    const e = await registerPaperContract(t.prisma, s.actor, input, { fileName: 'scan.pdf', bytes: xrefBomb(1024 * 1024 * 1024) }, testCtx).catch((x: unknown) => x);
    expect((e as AppError).code).toBe('pdf_too_complex');
    expect(await t.prisma.envelope.count({ where: { isPaper: true } })).toBe(0);
  });
});
