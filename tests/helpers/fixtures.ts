/**
 * Test fixtures shared by integration and e2e tests: organisations, staff (with a StaffActor),
 * PDFs made with pdf-lib (each one different unless `seed` repeats), bad PDFs (encrypted with qpdf,
 * truncated, not a PDF), and draft/sent envelopes through the real lib/envelopes API.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PDFDocument, StandardFonts } from '@cantoo/pdf-lib';
import { hash } from '@node-rs/argon2';
import type { StaffActor } from '../../lib/auth/types';
import { resetConfig } from '../../lib/config';
import type { Db } from '../../lib/db';
import {
  addDocument,
  createDraft,
  sendEnvelope,
  setRecipients,
  type EnvelopeInput,
  type RecipientInput,
} from '../../lib/envelopes';
import type { Organization, User } from '../../lib/generated/prisma/client';

const run = promisify(execFile);

export const testCtx = { ip: '203.0.113.10', userAgent: 'vitest (tachiai tests)' };

/**
 * Point DATA_DIR (storage, dev master key, dev PKI) at a fresh temp dir and set a random MASTER_KEY.
 * Returns a cleanup function. Call in beforeAll of tests that store files.
 */
export async function useTempDataDir(opts: { masterKey?: boolean } = {}): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const prev = { DATA_DIR: process.env.DATA_DIR, MASTER_KEY: process.env.MASTER_KEY };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tachiai-data-'));
  process.env.DATA_DIR = dir;
  if (opts.masterKey !== false) process.env.MASTER_KEY = randomBytes(32).toString('base64');
  resetConfig();
  return {
    dir,
    async cleanup() {
      for (const [k, v] of Object.entries(prev)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      resetConfig();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

let seq = 0;
const uniq = () => `${Date.now().toString(36)}${(seq++).toString(36)}${randomBytes(3).toString('hex')}`;

export async function createOrg(db: Db, opts: { name?: string; slug?: string } = {}): Promise<Organization> {
  const u = uniq();
  return db.organization.create({ data: { name: opts.name ?? '川口市', slug: opts.slug ?? `org-${u}` } });
}

export const TEST_PASSWORD = 'correct horse battery staple';

export async function createStaff(
  db: Db,
  org: Organization,
  opts: { name?: string; email?: string; role?: 'staff' | 'admin'; title?: string; password?: string } = {},
): Promise<{ user: User; actor: StaffActor }> {
  const user = await db.user.create({
    data: {
      organizationId: org.id,
      email: opts.email ?? `staff-${uniq()}@city.example.jp`,
      name: opts.name ?? '契約 太郎',
      title: opts.title ?? '財務部 契約課長',
      role: opts.role ?? 'staff',
      passwordHash: await hash(opts.password ?? TEST_PASSWORD, { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 }),
    },
  });
  return { user, actor: actorOf(user, org) };
}

export function actorOf(user: User, org: Organization): StaffActor {
  return {
    userId: user.id,
    organizationId: org.id,
    organizationName: org.name,
    name: user.name,
    email: user.email,
    role: user.role,
  };
}

/** An organisation with one staff member. */
export async function createOrgWithStaff(db: Db, opts: { orgName?: string; staffName?: string; role?: 'staff' | 'admin' } = {}) {
  const org = await createOrg(db, { name: opts.orgName });
  const { user, actor } = await createStaff(db, org, { name: opts.staffName, role: opts.role });
  return { org, user, actor };
}

/** A valid PDF. Different `label`s (default: random) give different bytes, hence different SHA-256. */
export async function makePdf(opts: { pages?: number; label?: string } = {}): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  doc.setCreationDate(new Date('2026-01-01T00:00:00Z'));
  doc.setModificationDate(new Date('2026-01-01T00:00:00Z'));
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const label = opts.label ?? uniq();
  for (let i = 0; i < (opts.pages ?? 1); i++) {
    const page = doc.addPage([595, 842]);
    page.drawText(`Contract ${label} - page ${i + 1}`, { x: 50, y: 780, size: 14, font });
  }
  return doc.save({ useObjectStreams: false });
}

/** A PDF encrypted with a user password (qpdf --encrypt u o 256). */
export async function makeEncryptedPdf(): Promise<Uint8Array> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tachiai-qpdf-'));
  try {
    await writeFile(path.join(dir, 'in.pdf'), await makePdf());
    await run('qpdf', ['--encrypt', 'user-pass', 'owner-pass', '256', '--', path.join(dir, 'in.pdf'), path.join(dir, 'out.pdf')]);
    return new Uint8Array(await readFile(path.join(dir, 'out.pdf')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The first `fraction` of a valid PDF (no xref / trailer). */
export async function makeTruncatedPdf(fraction = 0.5): Promise<Uint8Array> {
  const full = await makePdf({ pages: 2 });
  return full.subarray(0, Math.floor(full.length * fraction));
}

export const notAPdf = () => new TextEncoder().encode('これはPDFではありません。\nplain text file\n');

export const defaultEnvelopeInput = (over: Partial<EnvelopeInput> = {}): EnvelopeInput => ({
  title: '令和8年度 道路補修工事 請負契約',
  counterparty: '株式会社川口建設',
  transactionDate: '2026-04-01',
  amount: '12,345,000',
  amountTaxIncluded: true,
  contractNumber: 'K-2026-001',
  ...over,
});

export const supplierSigner = (over: Partial<RecipientInput> = {}): RecipientInput => ({
  role: 'signer',
  partyType: 'supplier',
  order: 1,
  name: '山田 一郎',
  email: `yamada-${uniq()}@supplier.example.co.jp`,
  title: '代表取締役',
  company: '株式会社川口建設',
  ...over,
});

export const municipalSigner = (over: Partial<RecipientInput> = {}): RecipientInput => ({
  role: 'signer',
  partyType: 'municipal',
  order: 1,
  name: '川口 市長',
  email: `mayor-${uniq()}@city.example.jp`,
  title: '市長',
  company: '川口市',
  ...over,
});

/** A draft with `documents` PDFs (default 1) and the given recipients (default one supplier signer). */
export async function createDraftEnvelope(
  db: Db,
  actor: StaffActor,
  opts: { input?: Partial<EnvelopeInput>; documents?: number; recipients?: RecipientInput[] } = {},
) {
  const env = await createDraft(db, actor, defaultEnvelopeInput(opts.input), testCtx);
  for (let i = 0; i < (opts.documents ?? 1); i++) {
    await addDocument(db, actor, env.id, { fileName: `契約書${i + 1}.pdf`, bytes: await makePdf() }, testCtx);
  }
  await setRecipients(db, actor, env.id, opts.recipients ?? [supplierSigner()], testCtx);
  return env;
}

/** A sent envelope (emails queued in the outbox, not delivered). */
export async function createSentEnvelope(
  db: Db,
  actor: StaffActor,
  opts: { input?: Partial<EnvelopeInput>; documents?: number; recipients?: RecipientInput[] } = {},
) {
  const env = await createDraftEnvelope(db, actor, opts);
  return (await sendEnvelope(db, actor, env.id, testCtx)).envelope;
}
