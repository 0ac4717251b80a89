/**
 * Sealing a PDF that already has a DSS (written by another PAdES tool) merges into it and never
 * shadows it: every earlier /Certs, /CRLs, /OCSPs entry and VRI key is still reachable from
 * /Root /DSS of the new revision, ours are added, the earlier signature keeps its level and ours
 * reaches B-LTA — for indirect arrays with an indirect VRI, direct arrays without VRI, and a DSS
 * dictionary inline in the catalog; each after an earlier document time-stamp. Checked by our
 * verifier, pdfsig, openssl, qpdf and asn1crypto.
 */
import { describe, expect, it } from 'vitest';
import { sealPdf, verifyPdf } from '../../lib/pades';
import { IncrementalPdf, PdfDict, PdfDocument, PdfRef, PdfStream, decodeStream, type PdfObj } from '../../lib/pdf';
import { corpusFile } from '../helpers/pdf-corpus';
import { independentlyVerify, pdfsig } from '../helpers/independent-verify';
import { createTestPki } from '../helpers/pades-test-pki';

const pki = createTestPki();
const anchors = [pki.rootDer, pki.otherRootDer];
const other = { kind: 'pkcs12' as const, sealingKey: async () => pki.otherKey, trustAnchors: async () => [pki.otherRootDer] };

type Shape = 'indirect-arrays-with-vri' | 'direct-arrays-without-vri' | 'inline-dss';

/** Someone else's B-LTA signature (sig + DSS + document time-stamp), then its DSS rewritten in `shape` (a DSS-only update). */
async function priorFile(shape: Shape): Promise<Buffer> {
  const signed = await sealPdf(corpusFile('chromium'), { lockDocument: false, reason: '他者による署名', keyProvider: other, tsa: pki.tsa, revocation: pki.revocation });
  const doc = new PdfDocument(signed);
  const w = new IncrementalPdf(doc);
  const cat = w.dict(w.rootRef)!;
  const dssRef = cat.get('DSS') as PdfRef;
  const dss = w.dict(dssRef)!;
  const objects: Array<[PdfRef, PdfObj]> = [];
  const out = new PdfDict([['Type', dss.get('Type')!]]);
  for (const k of ['Certs', 'CRLs', 'OCSPs']) {
    const arr = w.resolve(dss.get(k));
    if (!Array.isArray(arr) || !arr.length) continue;
    if (shape === 'indirect-arrays-with-vri') {
      const r = w.allocate();
      objects.push([r, arr]);
      out.set(k, r);
    } else out.set(k, arr);
  }
  if (shape === 'indirect-arrays-with-vri') {
    const r = w.allocate();
    objects.push([r, w.dict(dss.get('VRI'))!]);
    out.set('VRI', r);
  }
  if (shape === 'inline-dss') objects.push([w.rootRef, cat.clone().set('DSS', out)]);
  else objects.push([dssRef, out]);
  w.append(objects);
  return Buffer.from(w.toBytes());
}

/** Decoded streams of /Root /DSS /<kind> (through indirect arrays) and the VRI keys. */
function dssOf(pdf: Uint8Array) {
  const doc = new PdfDocument(pdf);
  const dss = doc.dict(doc.catalog().get('DSS'))!;
  const list = (k: string) => {
    const arr = doc.resolve(dss.get(k));
    return (Array.isArray(arr) ? arr : []).map((r) => Buffer.from(decodeStream(doc.resolve(r) as PdfStream)).toString('hex'));
  };
  const vri = doc.dict(dss.get('VRI'));
  return { certs: list('Certs'), crls: list('CRLs'), ocsps: list('OCSPs'), vri: vri ? [...vri.map.keys()] : [] };
}

describe('sealing a file that already has a DSS', () => {
  it.each(['indirect-arrays-with-vri', 'direct-arrays-without-vri', 'inline-dss'] as Shape[])('%s: merged, never shadowed', async (shape) => {
    const input = await priorFile(shape);
    const before = await verifyPdf(input, { trustAnchors: anchors });
    expect(before.valid).toBe(true); // (its last DSS update is not yet covered by a time-stamp)
    const priorLevel = before.signatures[0].level;
    const old = dssOf(input);
    expect(old.certs.length).toBeGreaterThan(0);

    const out = Buffer.from(await sealPdf(input, { reason: '立会人型電子署名', keyProvider: pki.provider(), tsa: pki.tsa, revocation: pki.revocation }));
    expect(out.subarray(0, input.length).equals(input)).toBe(true);

    // Every earlier entry is kept, ours added, all reachable from /Root /DSS of the newest revision.
    const now = dssOf(out);
    for (const k of ['certs', 'crls', 'ocsps', 'vri'] as const) for (const x of old[k]) expect(now[k]).toContain(x);
    expect(now.certs).toContain(Buffer.from(pki.rsaKey.certificate).toString('hex'));
    expect(now.vri.length).toBe(old.vri.length + 1);

    const r = await verifyPdf(out, { trustAnchors: anchors });
    expect(r.problems).toEqual([]);
    expect(r.valid).toBe(true);
    const sigs = r.signatures.filter((s) => s.kind === 'signature');
    expect(sigs).toHaveLength(2);
    expect(sigs[0].level).toBe(priorLevel); // the earlier signature keeps its level
    expect(sigs[1].level).toBe('B-LTA');
    expect(r.level).toBe('B-LTA');
    expect(r.signatures.filter((s) => s.kind === 'doc_timestamp')).toHaveLength(2);

    const ps = await pdfsig(out, [pki.rootPem, pki.otherRootPem]);
    const approvals = ps.signatures.filter((s) => !s.notVerified);
    expect(approvals).toHaveLength(2);
    expect(approvals.every((s) => s.valid && s.trusted)).toBe(true);
    expect((await independentlyVerify(out, [pki.rootPem, pki.otherRootPem])).failures).toEqual([]);
  });
});
