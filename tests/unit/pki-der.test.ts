/**
 * DER everywhere we emit ASN.1: each structure (dev PKI certificates, CRL, OCSP responses, the built-in
 * TSA's requests/responses/tokens/TSTInfo, the seal's CMS and document time-stamp) is (1) decoded and
 * re-encoded by our strict DER code to the same bytes with no DER violation, and (2) parsed by Debian's
 * python3-asn1crypto — every part's `.native`, the TSTInfo inside each token — and re-encoded by its DER
 * encoder (`dump(force=True)`) to the same bytes.
 * BER is not silently accepted: a token with a constructed eContent (what pkijs' EncapsulatedContentInfo
 * constructor writes) from an external TSA is re-encoded as DER before it is embedded, and a file that
 * already carries one is reported by our verifier by name, with its consequence.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetConfig } from '../../lib/config';
import { sealPdf, verifyPdf } from '../../lib/pades';
import { buildOcspRequest, getCrl, getDevPki, respondOcsp } from '../../lib/pki';
import {
  TAG,
  buildTimestampRequest,
  bytesOf,
  checkTimestampToken,
  children,
  derViolations,
  parseOne,
  parseSignedData,
  parseTimestampResponse,
  tlv,
  toDer,
} from '../../lib/pki/cms';
import { createTimestampResponse, createTsaClient, startTsaServer, type TsaServer } from '../../lib/tsa';
import { asn1cryptoCheck, findSignatures, independentlyVerify, opensslVerifyDocTimestamp, type Asn1Kind } from '../helpers/independent-verify';
import { corpusFile } from '../helpers/pdf-corpus';
import { createTestPki } from '../helpers/pades-test-pki';
import { derToPem } from '../../lib/pki';

let server: TsaServer;
let berServer: http.Server;
let berUrl: string;

/** The token as pkijs' EncapsulatedContentInfo constructor writes it: eContent as a constructed OCTET STRING. */
function berToken(der: Uint8Array): Buffer {
  const ci = parseOne(der);
  const [type, explicit] = children(ci);
  const f = children(children(explicit)[0]);
  const eci = children(f[2]);
  const value = Buffer.from(children(eci[1])[0].buf.subarray(children(eci[1])[0].contentStart, children(eci[1])[0].contentEnd));
  const half = Math.floor(value.length / 2);
  const constructed = tlv(0x24, tlv(TAG.octetString, value.subarray(0, half)), tlv(TAG.octetString, value.subarray(half)));
  const parts = f.map(bytesOf);
  parts[2] = tlv(TAG.sequence, bytesOf(eci[0]), tlv(TAG.ctx0, constructed));
  return tlv(TAG.sequence, bytesOf(type), tlv(TAG.ctx0, tlv(TAG.sequence, ...parts)));
}

function berResponse(respDer: Uint8Array): Buffer {
  const r = parseTimestampResponse(respDer);
  const f = children(parseOne(respDer));
  return tlv(TAG.sequence, bytesOf(f[0]), berToken(r.token!));
}

function expectDer(der: Uint8Array) {
  const t = parseOne(der);
  expect(derViolations(t)).toEqual([]);
  expect(Buffer.compare(toDer(t), Buffer.from(der))).toBe(0);
}

beforeAll(async () => {
  process.env.DATA_DIR = mkdtempSync(path.join(os.tmpdir(), 'pki-der-'));
  resetConfig();
  server = await startTsaServer({ port: 0 });
  // An external TSA that speaks BER (the token of the built-in TSA, its eContent made constructed).
  berServer = http.createServer(async (req, res) => {
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    const reply = berResponse(await createTimestampResponse(new Uint8Array(Buffer.concat(parts))));
    res.writeHead(200, { 'content-type': 'application/timestamp-reply' }).end(reply);
  });
  await new Promise<void>((r) => berServer.listen(0, '127.0.0.1', () => r()));
  berUrl = `http://127.0.0.1:${(berServer.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  await server?.close();
  await new Promise((r) => berServer?.close(r));
});

describe('every ASN.1 structure we emit is DER', () => {
  it('dev PKI certificates, CRL and OCSP responses', async () => {
    const pki = await getDevPki();
    const items: Array<{ kind: Asn1Kind; der: Uint8Array; name: string }> = [
      { kind: 'cert', der: pki.root.certDer, name: 'root' },
      { kind: 'cert', der: pki.seal.certDer, name: 'seal' },
      { kind: 'cert', der: pki.tsa.certDer, name: 'tsa' },
      { kind: 'crl', der: await getCrl(), name: 'crl' },
      { kind: 'ocsp', der: await respondOcsp(await buildOcspRequest(pki.seal.certDer, pki.root.certDer)), name: 'ocsp good' },
      { kind: 'ocsp', der: await respondOcsp(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])), name: 'ocsp malformedRequest' },
    ];
    for (const it of items) expectDer(it.der);
    expect(await asn1cryptoCheck(items)).toEqual([]);
  });

  it('built-in TSA: request, granted and rejection responses, token and TSTInfo', async () => {
    const req = buildTimestampRequest(new Uint8Array(32).fill(1), { policy: '2.25.221735284914862066815787917563640914436' });
    const granted = await createTimestampResponse(req.der);
    const rejected = await createTimestampResponse(buildTimestampRequest(new Uint8Array(32), { policy: '1.2.3' }).der);
    const token = parseTimestampResponse(granted).token!;
    expect(parseTimestampResponse(rejected).status).toBe(2);
    const sd = parseSignedData(token);
    expect(sd.encodingProblems).toEqual([]);
    for (const d of [req.der, granted, rejected, token, sd.eContent!]) expectDer(d);
    // The exact failure the issue reported: constructed eContent under [0] of the encapsulated content.
    const eci = children(children(children(children(parseOne(token))[1])[0])[2]);
    expect(children(eci[1])[0].constructed).toBe(false);
    expect(
      await asn1cryptoCheck([
        { kind: 'tsreq', der: req.der },
        { kind: 'tsresp', der: granted },
        { kind: 'tsresp', der: rejected },
        { kind: 'tst', der: token },
      ]),
    ).toEqual([]);
  });

  it('the seal: CMS with its signature time-stamp, and the document time-stamp (built-in TSA over HTTP)', async () => {
    const sealed = await sealPdf(corpusFile('chromium'), { reason: 'DER', tsa: createTsaClient({ url: server.url }) });
    const sigs = findSignatures(sealed);
    expect(sigs.map((s) => s.isDocTimestamp)).toEqual([false, true]);
    for (const s of sigs) expectDer(s.der);
    expect(await asn1cryptoCheck(sigs.map((s) => ({ kind: s.isDocTimestamp ? 'tst' : 'cms', der: s.der })))).toEqual([]);
  });

  it('tokens of another TSA (openssl ts -reply, unsorted certificate set) are embedded in DER', async () => {
    const pki = createTestPki();
    const sealed = await sealPdf(corpusFile('chromium'), { reason: 'DER', keyProvider: pki.provider(), tsa: pki.tsa, revocation: pki.revocation });
    for (const s of findSignatures(sealed)) expectDer(s.der);
    expect((await independentlyVerify(sealed, pki.rootPem)).failures).toEqual([]);
  });
});

describe('BER is never silently accepted', () => {
  it('the core names a constructed eContent; checkTimestampToken fails it as not_der', async () => {
    const resp = await createTimestampResponse(buildTimestampRequest(new Uint8Array(32).fill(2)).der);
    const ber = berToken(parseTimestampResponse(resp).token!);
    expect(parseSignedData(ber).encodingProblems[0]).toContain('eContent is a constructed OCTET STRING');
    const c = checkTimestampToken(ber, { digest: new Uint8Array(32).fill(2) });
    expect(c.failures).toEqual(['not_der']);
    // asn1crypto (pyHanko's parser) refuses it — the reason strict validators reject such files.
    const errs = await asn1cryptoCheck([{ kind: 'tst', der: ber }]);
    expect(errs.join()).toContain('constructed was found');
  });

  it('our client re-encodes a BER token from an external TSA as DER; the sealed file passes asn1crypto', async () => {
    const tsa = createTsaClient({ url: berUrl });
    const r = await tsa.timestamp(new Uint8Array(32).fill(3));
    expectDer(r.token);
    const sealed = await sealPdf(corpusFile('objstm'), { reason: 'BER TSA', tsa });
    const v = await verifyPdf(sealed);
    expect(v.problems).toEqual([]);
    expect(v.level).toBe('B-LTA');
    const ind = await independentlyVerify(sealed, derToPem((await getDevPki()).root.certDer), { pdfsigTrust: 'lenient' });
    expect(ind.failures).toEqual([]);
  });

  it('a BER signature time-stamp inside the seal CMS makes that signature invalid, named by the verifier', async () => {
    const sealed = Buffer.from(await sealPdf(corpusFile('chromium'), { reason: 'x', tsa: createTsaClient({ url: server.url }) }));
    const sig = findSignatures(sealed)[0];
    // Rebuild the CMS with its signature time-stamp token in BER (every enclosing length changes).
    const ci = parseOne(sig.der);
    const [type, explicit] = children(ci);
    const sdf = children(children(explicit)[0]);
    const sis = sdf[sdf.length - 1];
    const si = children(children(sis)[0]);
    const unsigned = si[si.length - 1];
    const attr = children(children(unsigned)[0]);
    const token = bytesOf(children(attr[1])[0]);
    const newUnsigned = tlv(0xa1, tlv(TAG.sequence, bytesOf(attr[0]), tlv(TAG.set, berToken(token))));
    const newSi = tlv(TAG.sequence, ...si.slice(0, -1).map(bytesOf), newUnsigned);
    const cms = tlv(TAG.sequence, bytesOf(type), tlv(TAG.ctx0, tlv(TAG.sequence, ...sdf.slice(0, -1).map(bytesOf), tlv(TAG.set, newSi))));
    const hex = Buffer.from(cms).toString('hex').toUpperCase().padEnd(sig.byteRange[2] - sig.byteRange[1] - 2, '0');
    sealed.write(hex, sig.byteRange[1] + 1, 'latin1');
    const r = await verifyPdf(sealed);
    const rep = r.signatures[0];
    expect(rep.checks.integrity.ok).toBe(true);
    expect(rep.checks.signature.ok).toBe(true); // the CMS signature itself still verifies
    expect(rep.checks.timestamp?.code).toBe('ts.not_der');
    expect(rep.checks.timestamp?.message).toContain('厳格な検証ソフトはこのファイルを拒否します');
    expect(rep.valid).toBe(false);
    expect(r.valid).toBe(false);
  });

  it('the verifier reports a BER document time-stamp by name and what it means (openssl alone would accept it)', async () => {
    const sealed = Buffer.from(await sealPdf(corpusFile('chromium'), { reason: 'x', tsa: createTsaClient({ url: server.url }) }));
    const dts = findSignatures(sealed)[1];
    const ber = berToken(dts.der);
    // Same /Contents gap (the token grows by a few bytes into the zero padding): the ByteRange still matches.
    const hex = Buffer.from(ber).toString('hex').toUpperCase().padEnd(dts.byteRange[2] - dts.byteRange[1] - 2, '0');
    sealed.write(hex, dts.byteRange[1] + 1, 'latin1');
    const root = derToPem((await getDevPki()).root.certDer);
    expect((await opensslVerifyDocTimestamp(sealed, findSignatures(sealed)[1], root)).ok).toBe(true);
    const r = await verifyPdf(sealed);
    expect(r.valid).toBe(false);
    const rep = r.signatures[1];
    expect(rep.checks.integrity.ok).toBe(true);
    expect(rep.checks.signature.code).toBe('ts.not_der');
    expect(rep.checks.signature.message).toContain('constructed OCTET STRING');
    expect(rep.checks.signature.message).toContain('厳格な検証ソフトはこのファイルを拒否します');
  });
});
