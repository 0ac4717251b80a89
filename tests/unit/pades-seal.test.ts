/**
 * Every corpus file is sealed to B-LTA and checked by our verifier AND independently (pdfsig,
 * openssl cms -verify, openssl ts -verify for the signature and document timestamps, qpdf --check).
 * Keys and TSA: an openssl-made PKI and `openssl ts -reply` (tests/helpers/pades-test-pki.ts).
 */
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { inspectPdf, readGrowable } from '../../lib/pdf';
import { addArchiveTimestamp, sealPdf, verifyPdf } from '../../lib/pades';
import { VALID_CORPUS, corpusDir, corpusFile, INVALID_CORPUS, type InvalidName } from '../helpers/pdf-corpus';
import { findSignatures, independentlyVerify, pdfsig } from '../helpers/independent-verify';
import { createTestPki } from '../helpers/pades-test-pki';

const pki = createTestPki();
const REASON = '立会人型電子署名（書類ID: ENV-2026-0001）当事者全員の合意を確認し、立会人として封緘しました。';

async function seal(pdf: Uint8Array, alg: 'RSA' | 'ECDSA-P256' = 'RSA') {
  return sealPdf(pdf, {
    reason: REASON,
    name: '立会サイン',
    location: '日本',
    signingTime: new Date('2026-11-26T10:00:00Z'),
    keyProvider: pki.provider(alg),
    tsa: pki.tsa,
    revocation: pki.revocation,
  });
}

describe('sealPdf → B-LTA on every kind of PDF', () => {
  it.each(VALID_CORPUS)('%s', async (name) => {
    const input = corpusFile(name);
    const out = Buffer.from(await seal(input));
    expect(out.subarray(0, input.length).equals(input)).toBe(true);

    const r = await verifyPdf(out, { trustAnchors: [pki.rootDer] });
    expect(r.problems).toEqual([]);
    expect(r.valid).toBe(true);
    expect(r.level).toBe('B-LTA');
    expect(r.signatures.map((s) => s.kind)).toEqual(['signature', 'doc_timestamp']);
    const sig = r.signatures[0];
    expect(sig.reason).toBe(REASON);
    expect(sig.claimedSigningTime).toBe('2026-11-26T10:00:00.000Z');
    expect(sig.subFilter).toBe('ETSI.CAdES.detached');
    expect(r.signatures[1].coversWholeFile).toBe(true);

    const ind = await independentlyVerify(out, pki.rootPem);
    expect(ind.failures).toEqual([]);
    expect(ind.signatures).toBe(1);
    expect(ind.docTimestamps).toBe(1);

    const info = await inspectPdf(out, { allowLocked: true });
    expect(info.locks).toEqual([{ field: 'TachiaiSeal1', kind: 'lock' }]);
    expect(info.signatureCount).toBe(2);
    expect(info.docTimestampCount).toBe(1);
    expect(info.pageCount).toBe((await inspectPdf(input)).pageCount);
  });

  it('seals with an ECDSA P-256 key', async () => {
    const out = await seal(corpusFile('objstm'), 'ECDSA-P256');
    const r = await verifyPdf(out, { trustAnchors: [pki.rootDer] });
    expect(r.valid).toBe(true);
    expect(r.level).toBe('B-LTA');
    expect((await independentlyVerify(out, pki.rootPem)).failures).toEqual([]);
  });

  it('keeps an earlier signature by someone else valid', async () => {
    // Someone else's ordinary approval signature (PAdES B-LTA, but not declared final: no /Lock P 1).
    const first = await sealPdf(corpusFile('chromium'), {
      lockDocument: false,
      reason: '他者による署名',
      keyProvider: { kind: 'pkcs12', sealingKey: async () => pki.otherKey, trustAnchors: async () => [pki.otherRootDer] },
      tsa: pki.tsa,
      revocation: pki.revocation,
    });
    const out = await seal(first);
    const r = await verifyPdf(out, { trustAnchors: [pki.rootDer, pki.otherRootDer] });
    expect(r.problems).toEqual([]);
    expect(r.valid).toBe(true);
    const sigs = r.signatures.filter((s) => s.kind === 'signature');
    expect(sigs).toHaveLength(2);
    expect(sigs[0].changesAfter).toContain('別の署名の追加');
    expect(sigs[0].locked).toBe(false);
    expect(sigs[1].locked).toBe(true);
    expect(sigs[1].checks.modifications.ok).toBe(true);
    expect(r.level).toBe('B-LTA');
    // pdfsig: both approval signatures valid (their integrity stays intact).
    const ps = await pdfsig(out, [pki.rootPem, pki.otherRootPem]);
    const approvals = ps.signatures.filter((s) => !s.notVerified);
    expect(approvals).toHaveLength(2);
    expect(approvals.every((s) => s.valid && s.trusted)).toBe(true);
    expect((await independentlyVerify(out, [pki.rootPem, pki.otherRootPem])).failures).toEqual([]);
    // Trusting only our root, the other signer's chain is reported as untrusted.
    const r2 = await verifyPdf(out, { trustAnchors: [pki.rootDer] });
    expect(r2.valid).toBe(false);
    expect(r2.signatures[0].checks.certificate.ok).toBe(false);
  });

  it('renews with addArchiveTimestamp (DSS for the last DTS + a new DTS)', async () => {
    const sealed = await seal(corpusFile('v20'));
    const renewed = Buffer.from(await addArchiveTimestamp(sealed, { tsa: pki.tsa, revocation: pki.revocation }));
    expect(renewed.subarray(0, sealed.length).equals(Buffer.from(sealed))).toBe(true);
    const r = await verifyPdf(renewed, { trustAnchors: [pki.rootDer] });
    expect(r.problems).toEqual([]);
    expect(r.valid).toBe(true);
    expect(r.level).toBe('B-LTA');
    expect(r.signatures.filter((s) => s.kind === 'doc_timestamp')).toHaveLength(2);
    const ind = await independentlyVerify(renewed, pki.rootPem);
    expect(ind.failures).toEqual([]);
    expect(ind.docTimestamps).toBe(2);
    expect(findSignatures(renewed)).toHaveLength(3);
  });

  it('refuses a TSA token that does not cover our digest', async () => {
    const lying = { timestamp: (_d: Uint8Array) => pki.tsa.timestamp(new Uint8Array(32).fill(7)) };
    const err = await sealPdf(corpusFile('chromium'), { reason: 'x', keyProvider: pki.provider(), tsa: lying, revocation: pki.revocation }).catch((e) => e);
    expect(err.code).toBe('tsa_unavailable');
    expect(err.message).toContain('タイムスタンプ');
  });

  it('refuses a file our seal already locked (/Lock P 1): inspectPdf at upload and sealPdf', async () => {
    const sealed = await seal(corpusFile('chromium'));
    const up = await inspectPdf(sealed, { fileName: '封緘済み.pdf' }).catch((e) => e);
    expect(up.code).toBe('pdf_locked');
    expect(up.message).toContain('「封緘済み.pdf」');
    expect(up.message).toContain('「TachiaiSeal1」');
    expect(up.message).toContain('変更を禁止');
    const again = await seal(sealed).catch((e) => e);
    expect(again.code).toBe('pdf_locked');
    // Only DSS + document timestamps may follow a seal: archive renewal still works.
    const renewed = await addArchiveTimestamp(sealed, { tsa: pki.tsa, revocation: pki.revocation });
    expect((await verifyPdf(renewed, { trustAnchors: [pki.rootDer] })).valid).toBe(true);
  });

  it('accepts a file signed without a lock (an ordinary approval signature) at upload', async () => {
    const signed = await sealPdf(corpusFile('objstm'), {
      lockDocument: false,
      reason: '他者による署名',
      keyProvider: { kind: 'pkcs12', sealingKey: async () => pki.otherKey, trustAnchors: async () => [pki.otherRootDer] },
      tsa: pki.tsa,
      revocation: pki.revocation,
    });
    const info = await inspectPdf(signed, { fileName: '他社署名済み.pdf' });
    expect(info.signatureCount).toBe(2);
    expect(info.locks).toEqual([]);
  });

  it('appends in place to a growable buffer (readGrowable): no copy of the document, same result', async () => {
    const file = path.join(corpusDir(), 'chromium.pdf');
    const grow = await readGrowable(file);
    const original = Buffer.from(grow); // a copy, for comparison
    const out = await seal(grow);
    expect(out.buffer).toBe(grow.buffer); // shares the input's memory
    expect(Buffer.from(out.subarray(0, original.length)).equals(original)).toBe(true);
    const r = await verifyPdf(out, { trustAnchors: [pki.rootDer] });
    expect(r.valid).toBe(true);
    expect(r.level).toBe('B-LTA');
    expect((await independentlyVerify(Buffer.from(out), pki.rootPem)).failures).toEqual([]);
  });

  it.each(Object.keys(INVALID_CORPUS) as InvalidName[])('refuses %s', async (name) => {
    const err = await seal(corpusFile(name)).catch((e) => e);
    expect(err.code).toBe(INVALID_CORPUS[name]);
  });
});
