/**
 * Tampering: each case must be reported invalid by our verifier AND by at least one independent tool.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PDFDocument, rgb } from '@cantoo/pdf-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { sealPdf, verifyPdf } from '../../lib/pades';
import { sealPdfIgnoringLocks } from '../../lib/pades/seal';
import type { SigningKey } from '../../lib/pki/types';
import { IncrementalPdf, PdfDict, PdfDocument, PdfRef, PdfString, type PdfObj } from '../../lib/pdf';
import { corpusFile } from '../helpers/pdf-corpus';
import {
  findSignatures,
  opensslCmsVerify,
  opensslVerifyDocTimestamp,
  pdfsig,
  signatureTimestampOf,
} from '../helpers/independent-verify';
import { createTestPki } from '../helpers/pades-test-pki';

const pki = createTestPki();
let sealed: Buffer;

const opts = (key: SigningKey) => ({
  reason: '立会人型電子署名（書類ID: ENV-TAMPER）',
  keyProvider: { kind: 'dev' as const, sealingKey: async () => key, trustAnchors: async () => [pki.rootDer] },
  tsa: pki.tsa,
  revocation: pki.revocation,
});

beforeAll(async () => {
  sealed = Buffer.from(await sealPdf(corpusFile('objstm'), opts(pki.rsaKey)));
  const r = await verifyPdf(sealed, { trustAnchors: [pki.rootDer] });
  expect(r.valid).toBe(true);
});

async function ours(pdf: Uint8Array) {
  return verifyPdf(pdf, { trustAnchors: [pki.rootDer] });
}

describe('tampered sealed PDFs', () => {
  it('one byte changed inside the signed range', async () => {
    const t = Buffer.from(sealed);
    const [sig] = findSignatures(sealed);
    const pos = Math.floor(sig.byteRange[1] / 2); // inside the original document bytes
    t[pos] ^= 0x01;
    const r = await ours(t);
    expect(r.valid).toBe(false);
    expect(r.signatures[0].checks.integrity.ok).toBe(false);
    expect((await opensslCmsVerify(t, findSignatures(t)[0], pki.rootPem)).ok).toBe(false);
    const ps = await pdfsig(t, [pki.rootPem]);
    expect(ps.signatures[0]?.valid ?? false).toBe(false);
  });

  it('one byte changed in the signature value', async () => {
    const [sig] = findSignatures(sealed);
    const sv = signatureTimestampOf(sig.der)!.signatureValue;
    const hexAll = sealed.toString('latin1');
    const at = hexAll.indexOf(sv.toString('hex').toUpperCase().slice(0, 64), sig.byteRange[1]);
    expect(at).toBeGreaterThan(0);
    const t = Buffer.from(sealed);
    t[at + 10] = t[at + 10] === 0x41 ? 0x42 : 0x41; // still hex, DER intact, signature bits changed
    const r = await ours(t);
    expect(r.valid).toBe(false);
    expect(r.signatures[0].checks.signature.ok).toBe(false);
    expect((await opensslCmsVerify(t, findSignatures(t)[0], pki.rootPem)).ok).toBe(false);
    const ps = await pdfsig(t, [pki.rootPem]);
    expect(ps.signatures[0].valid).toBe(false);
  });

  it('one byte changed in the DSS', async () => {
    const [sig, dts] = findSignatures(sealed);
    const s = sealed.toString('latin1');
    const dssAt = s.indexOf('/Type /DSS', sig.byteRange[2]);
    expect(dssAt).toBeGreaterThan(0);
    // Flip a byte inside the first certificate stream of the DSS update.
    const streamAt = s.indexOf('stream\n', sig.byteRange[2] + 1) + 7;
    expect(streamAt).toBeLessThan(dts.byteRange[1]);
    const t = Buffer.from(sealed);
    t[streamAt + 40] ^= 0x01;
    const r = await ours(t);
    expect(r.valid).toBe(false);
    expect(r.signatures[1].checks.integrity.ok).toBe(false);
    expect((await opensslVerifyDocTimestamp(t, findSignatures(t)[1], pki.rootPem)).ok).toBe(false);
  });

  it('content changed in an update appended after the document timestamp', async () => {
    const doc = await PDFDocument.load(sealed, { forIncrementalUpdate: true });
    doc.getPages()[0].drawText('PAID', { x: 50, y: 50, size: 30, color: rgb(1, 0, 0) });
    const out = await doc.commit();
    const t = Buffer.from(out.length > sealed.length ? out : Buffer.concat([sealed, out]));
    expect(t.subarray(0, sealed.length).equals(sealed)).toBe(true);
    const r = await ours(t);
    expect(r.valid).toBe(false);
    expect(r.signatures[0].checks.modifications.ok).toBe(false);
    // pdfsig: the signature no longer covers the whole document.
    const ps = await pdfsig(t, [pki.rootPem]);
    expect(ps.signatures.length).toBeGreaterThan(0);
    expect(ps.signatures.some((x) => x.totalDocumentSigned)).toBe(false);
  });

  it('one byte appended after the document timestamp', async () => {
    const t = Buffer.concat([sealed, Buffer.from('X')]);
    const r = await ours(t);
    expect(r.valid).toBe(false);
    const ps = await pdfsig(t, [pki.rootPem]);
    expect(ps.signatures.some((x) => x.totalDocumentSigned)).toBe(false);
  });

  it('one byte changed in the last revision (after the DSS, inside the document timestamp range)', async () => {
    const [, dts] = findSignatures(sealed);
    const t = Buffer.from(sealed);
    const pos = dts.byteRange[2] + 5; // after the DTS /Contents: its own dictionary tail / xref
    t[pos] = t[pos] === 0x20 ? 0x0a : 0x20;
    const r = await ours(t);
    expect(r.valid).toBe(false);
    expect((await opensslVerifyDocTimestamp(t, findSignatures(t)[1], pki.rootPem)).ok).toBe(false);
  });

  it('non-incremental rewrite (pdf-lib load + save)', async () => {
    const doc = await PDFDocument.load(sealed);
    const t = Buffer.from(await doc.save());
    const r = await ours(t);
    expect(r.valid).toBe(false);
    const ps = await pdfsig(t, [pki.rootPem]);
    expect(ps.signatures.every((x) => !(x.valid && x.totalDocumentSigned))).toBe(true);
  });

  it('wrong certificate (signature made with another key than the certificate)', async () => {
    const ecPriv = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const wrong: SigningKey = { ...pki.rsaKey, sign: async (d) => new Uint8Array(crypto.sign('sha256', d, ecPriv)) };
    const t = await sealPdf(corpusFile('chromium'), opts(wrong));
    const r = await ours(t);
    expect(r.valid).toBe(false);
    expect(r.signatures[0].checks.signature.ok).toBe(false);
    expect((await opensslCmsVerify(t, findSignatures(t)[0], pki.rootPem)).ok).toBe(false);
  });

  it('untrusted root', async () => {
    const t = await sealPdf(corpusFile('chromium'), opts(pki.otherKey));
    const r = await ours(t);
    expect(r.valid).toBe(false);
    expect(r.signatures[0].checks.certificate.ok).toBe(false);
    expect(r.signatures[0].checks.integrity.ok).toBe(true);
    expect((await opensslCmsVerify(t, findSignatures(t)[0], pki.rootPem)).ok).toBe(false);
    const ps = await pdfsig(t, [pki.rootPem]);
    expect(ps.signatures[0].valid).toBe(true);
    expect(ps.signatures[0].trusted).toBe(false);
  });

  it('another signature appended after the seal: only DSS and document timestamps may follow a seal', async () => {
    // sealPdf itself refuses a sealed file (pdf_locked); another tool might sign it anyway.
    const t = Buffer.from(await sealPdfIgnoringLocks(sealed, opts(pki.rsaKey)));
    expect(t.subarray(0, sealed.length).equals(sealed)).toBe(true);
    const r = await ours(t);
    expect(r.valid).toBe(false);
    const [seal, second] = r.signatures.filter((s) => s.kind === 'signature');
    expect(seal.locked).toBe(true);
    expect(seal.checks.integrity.ok).toBe(true); // the bytes are intact: it is the later change that is refused
    expect(seal.checks.modifications.ok).toBe(false);
    expect(seal.checks.modifications.message).toContain('封緘');
    expect(seal.checks.modifications.message).toContain('別の署名');
    expect(seal.changesAfter).toContain('別の署名の追加');
    expect(seal.valid).toBe(false);
    expect(second.valid).toBe(true);
    // The first seal's own document timestamp is not a seal: a later signature does not invalidate it.
    expect(r.signatures.filter((s) => s.kind === 'doc_timestamp').every((s) => s.valid)).toBe(true);
  });

  it('a form field added after the seal is refused too', async () => {
    const doc = await PDFDocument.load(sealed, { forIncrementalUpdate: true });
    doc.getForm().createTextField('extra').addToPage(doc.getPages()[0], { x: 10, y: 10, width: 50, height: 20 });
    const out = await doc.commit();
    const t = Buffer.from(out.length > sealed.length ? out : Buffer.concat([sealed, out]));
    const r = await ours(t);
    expect(r.valid).toBe(false);
    expect(r.signatures[0].checks.modifications.ok).toBe(false);
  });

  /**
   * Someone's ordinary (non-locking) signature — new signatures may follow it — and an update that
   * adds a field named Forged1 whose /V is `value(orig, w)`.
   */
  async function withExtraField(value: (orig: ReturnType<PdfDocument['signatureFields']>[number], w: IncrementalPdf) => PdfRef | [PdfRef, PdfDict]) {
    const base = Buffer.from(await sealPdf(corpusFile('chromium'), { ...opts(pki.rsaKey), lockDocument: false }));
    const doc = new PdfDocument(base);
    const w = new IncrementalPdf(doc);
    const orig = doc.signatureFields().find((f) => f.value?.nameOf('SubFilter') === 'ETSI.CAdES.detached')!;
    const objects: Array<[PdfRef, PdfObj]> = [];
    const v = value(orig, w);
    const sigRef = Array.isArray(v) ? v[0] : v;
    if (Array.isArray(v)) objects.push(v);
    const fieldRef = w.allocate();
    objects.push([fieldRef, orig.field.clone().set('T', PdfString.fromText('Forged1')).set('V', sigRef)]);
    const acroRef = w.dict(w.rootRef)!.get('AcroForm') as PdfRef;
    const acro = w.dict(acroRef)!.clone();
    acro.set('Fields', [...(w.resolve(acro.get('Fields')) as PdfRef[]), fieldRef]);
    objects.push([acroRef, acro]);
    const pageRef = orig.field.get('P') as PdfRef;
    const page = w.dict(pageRef)!;
    const annots = page.get('Annots');
    if (annots instanceof PdfRef) objects.push([annots, [...(w.resolve(annots) as PdfRef[]), fieldRef]]);
    else objects.push([pageRef, page.clone().set('Annots', [...((annots as PdfRef[]) ?? []), fieldRef])]);
    w.append(objects);
    const t = Buffer.from(w.toBytes());
    expect(t.subarray(0, base.length).equals(base)).toBe(true);
    const r = await ours(t);
    return { r, copy: r.signatures.find((x) => x.fieldName === 'Forged1')!, genuine: r.signatures.find((x) => x.fieldName === orig.name)! };
  }

  it('a signature copied into a new field with a forged dictionary (same ByteRange and /Contents)', async () => {
    const { r, copy, genuine } = await withExtraField((orig, w) => [
      w.allocate(),
      orig.value!.clone().set('Reason', PdfString.fromText('偽の理由：金額 1,000,000円に合意')).set('M', PdfString.fromText('D:20200101000000Z')),
    ]);
    expect(copy.reason).toContain('偽の理由');
    expect(copy.valid).toBe(false);
    expect(copy.checks.byteRange.ok).toBe(false);
    expect(r.valid).toBe(false);
    expect(genuine.valid).toBe(true); // the genuine signature itself is untouched
  });

  it('a new field pointing at an existing signature value (two signatures sharing one range)', async () => {
    const { r, copy, genuine } = await withExtraField((orig) => orig.valueRef!);
    expect(copy.valid).toBe(false);
    expect(copy.checks.byteRange.message).toContain('共有');
    expect(r.valid).toBe(false);
    expect(genuine.valid).toBe(true);
  });

  it('a seal certificate issued by an end-entity certificate (not a CA) of the trusted root', async () => {
    // A customer of the same CA holds an ordinary certificate (CA:FALSE, no key usage) and uses its key
    // to issue itself a "seal" certificate: the chain must not be accepted through a non-CA certificate.
    const sh = (args: string[]) => execFileSync('openssl', args, { cwd: pki.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    writeFileSync(path.join(pki.dir, 'ee.cnf'), '[ee]\nbasicConstraints=CA:FALSE\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
    sh(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'cust.key', '-out', 'cust.csr', '-subj', '/O=Customer/CN=Customer']);
    sh(['x509', '-req', '-in', 'cust.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-out', 'cust.pem', '-days', '30', '-sha256', '-extfile', 'ee.cnf', '-extensions', 'ee']);
    sh(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'forged.key', '-out', 'forged.csr', '-subj', '/O=Tachiai Test/CN=Tachiai Seal RSA']);
    sh(['x509', '-req', '-in', 'forged.csr', '-CA', 'cust.pem', '-CAkey', 'cust.key', '-CAcreateserial', '-out', 'forged.pem', '-days', '30', '-sha256', '-extfile', 'ext.cnf', '-extensions', 'seal']);
    const der = (f: string) => new Uint8Array(new crypto.X509Certificate(readFileSync(path.join(pki.dir, f))).raw);
    const forgedKey = crypto.createPrivateKey(readFileSync(path.join(pki.dir, 'forged.key')));
    const forged: SigningKey = {
      certificate: der('forged.pem'),
      chain: [der('cust.pem'), pki.rootDer],
      algorithm: 'RSA',
      sign: async (d) => new Uint8Array(crypto.sign('sha256', d, forgedKey)),
    };
    const t = await sealPdf(corpusFile('chromium'), opts(forged));
    const r = await ours(t);
    expect(r.signatures[0].checks.integrity.ok).toBe(true);
    expect(r.signatures[0].checks.certificate.ok).toBe(false);
    expect(r.valid).toBe(false);
    // OpenSSL agrees: the chain goes through a certificate that is not a CA.
    expect((await opensslCmsVerify(t, findSignatures(t)[0], pki.rootPem)).ok).toBe(false);
  });

  it('an OCSP response signed by someone other than the issuer or its authorised responder is no revocation evidence', async () => {
    // A self-made "responder" certificate says `good` for the seal certificate (openssl ocsp).
    const sh = (args: string[]) => execFileSync('openssl', args, { cwd: pki.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    sh(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'rogue.key', '-out', 'rogue.pem', '-days', '30', '-subj', '/CN=Rogue OCSP']);
    const seal = new crypto.X509Certificate(pki.rsaKey.certificate);
    const exp = new Date(seal.validTo).toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
    writeFileSync(path.join(pki.dir, 'rogue-index.txt'), `V\t${exp}\t\t${seal.serialNumber}\tunknown\t/O=Tachiai Test/CN=Tachiai Seal RSA\n`);
    writeFileSync(path.join(pki.dir, 'seal-rsa.der.pem'), seal.toString());
    sh(['ocsp', '-issuer', 'root.pem', '-cert', 'seal-rsa.der.pem', '-no_nonce', '-reqout', 'rogue-req.der']);
    sh(['ocsp', '-index', 'rogue-index.txt', '-rsigner', 'rogue.pem', '-rkey', 'rogue.key', '-CA', 'root.pem', '-reqin', 'rogue-req.der', '-respout', 'rogue-resp.der', '-ndays', '7']);
    const forgedOcsp = new Uint8Array(readFileSync(path.join(pki.dir, 'rogue-resp.der')));
    // The TSA certificate gets a genuine response, signed by the root (its issuer).
    const tsaCert = new crypto.X509Certificate(readFileSync(path.join(pki.dir, 'tsa.pem')));
    writeFileSync(path.join(pki.dir, 'tsa-index.txt'), `V\t${exp}\t\t${tsaCert.serialNumber}\tunknown\t/O=Tachiai Test/CN=Tachiai Test TSA\n`);
    sh(['ocsp', '-issuer', 'root.pem', '-cert', 'tsa.pem', '-no_nonce', '-reqout', 'tsa-req.der']);
    sh(['ocsp', '-index', 'tsa-index.txt', '-rsigner', 'root.pem', '-rkey', 'root.key', '-CA', 'root.pem', '-reqin', 'tsa-req.der', '-respout', 'tsa-resp.der', '-ndays', '7']);
    const tsaOcsp = new Uint8Array(readFileSync(path.join(pki.dir, 'tsa-resp.der')));
    const rogueRevocation = async (chain: Uint8Array[]) => ({ certs: [...chain, pki.rootDer], crls: [], ocsps: [forgedOcsp, tsaOcsp] });
    const t = await sealPdf(corpusFile('chromium'), { ...opts(pki.rsaKey), revocation: rogueRevocation });
    const r = await ours(t);
    expect(r.signatures[0].checks.revocation?.ok).toBe(false);
    expect(r.level).toBe('B-T');
    // With only the genuine responses (the root answering for both), the same file reaches B-LTA.
    sh(['ocsp', '-index', 'rogue-index.txt', '-rsigner', 'root.pem', '-rkey', 'root.key', '-CA', 'root.pem', '-reqin', 'rogue-req.der', '-respout', 'seal-resp.der', '-ndays', '7']);
    const sealOcsp = new Uint8Array(readFileSync(path.join(pki.dir, 'seal-resp.der')));
    const good = await sealPdf(corpusFile('chromium'), { ...opts(pki.rsaKey), revocation: async (chain: Uint8Array[]) => ({ certs: [...chain, pki.rootDer], crls: [], ocsps: [sealOcsp, tsaOcsp] }) });
    const rg = await ours(good);
    expect(rg.signatures[0].checks.revocation?.ok).toBe(true);
    expect(rg.level).toBe('B-LTA');
    // OpenSSL refuses the response too.
    const v = (() => {
      try {
        sh(['ocsp', '-respin', 'rogue-resp.der', '-issuer', 'root.pem', '-cert', 'seal-rsa.der.pem', '-CAfile', 'root.pem']);
        return 'ok';
      } catch {
        return 'refused';
      }
    })();
    expect(v).toBe('refused');
  });

  it('a PDF without signatures is not valid', async () => {
    const r = await ours(corpusFile('chromium'));
    expect(r.valid).toBe(false);
    expect(r.summary).toContain('署名がありません');
  });
});
