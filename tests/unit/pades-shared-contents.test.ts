/**
 * Verifier cost with many signature fields sharing one /Contents (security finding: 300 fields in a
 * 2 MB file cost 8.7 s of CPU on /api/verify, linear in the number of fields). Each distinct signature
 * value is verified once, whatever the number of fields pointing at it, and more than MAX_SIGNATURES
 * filled fields are refused with a clear error before any crypto. Counted, not timed.
 */
import { describe, expect, it, vi } from 'vitest';

const calls = vi.hoisted(() => ({ verifySignerInfo: 0, checkTimestampToken: 0 }));
vi.mock('../../lib/pki/cms', async (importOriginal) => {
  const orig = await importOriginal<typeof import('../../lib/pki/cms')>();
  return {
    ...orig,
    verifySignerInfo: (...a: Parameters<typeof orig.verifySignerInfo>) => (calls.verifySignerInfo++, orig.verifySignerInfo(...a)),
    checkTimestampToken: (...a: Parameters<typeof orig.checkTimestampToken>) => (calls.checkTimestampToken++, orig.checkTimestampToken(...a)),
  };
});

const { MAX_SIGNATURES, sealPdf, verifyPdf } = await import('../../lib/pades');
const { IncrementalPdf, PdfDocument, PdfRef, PdfString } = await import('../../lib/pdf');
const { corpusFile } = await import('../helpers/pdf-corpus');
const { createTestPki } = await import('../helpers/pades-test-pki');

const pki = createTestPki();

/** A sealed file plus one update adding `n` signature fields whose /V is the seal's signature value. */
async function withSharedFields(n: number): Promise<Buffer> {
  const base = Buffer.from(
    await sealPdf(corpusFile('chromium'), { reason: 'x', keyProvider: pki.provider(), tsa: pki.tsa, revocation: pki.revocation, lockDocument: false }),
  );
  const doc = new PdfDocument(base);
  const w = new IncrementalPdf(doc);
  const orig = doc.signatureFields().find((f) => f.value?.nameOf('SubFilter') === 'ETSI.CAdES.detached')!;
  const objects: Array<[InstanceType<typeof PdfRef>, import('../../lib/pdf').PdfObj]> = [];
  const refs: InstanceType<typeof PdfRef>[] = [];
  for (let i = 0; i < n; i++) {
    const r = w.allocate();
    refs.push(r);
    objects.push([r, orig.field.clone().set('T', PdfString.fromText(`Dup${i}`)).set('V', orig.valueRef!)]);
  }
  const acroRef = w.dict(w.rootRef)!.get('AcroForm') as InstanceType<typeof PdfRef>;
  const acro = w.dict(acroRef)!.clone();
  acro.set('Fields', [...(w.resolve(acro.get('Fields')) as InstanceType<typeof PdfRef>[]), ...refs]);
  objects.push([acroRef, acro]);
  w.append(objects);
  return Buffer.from(w.toBytes());
}

describe('signature fields sharing one /Contents', () => {
  it(`verifies each distinct signature value once (${MAX_SIGNATURES - 2} extra fields → one CMS check)`, async () => {
    const pdf = await withSharedFields(MAX_SIGNATURES - 2);
    calls.verifySignerInfo = 0;
    calls.checkTimestampToken = 0;
    const r = await verifyPdf(pdf, { trustAnchors: [pki.rootDer] });
    expect(r.signatures).toHaveLength(MAX_SIGNATURES);
    expect(r.valid).toBe(false); // the added fields share a value they did not sign
    expect(r.signatures.filter((s) => s.checks.byteRange.code === 'br.shared_later_field')).toHaveLength(MAX_SIGNATURES - 2);
    expect(calls.verifySignerInfo).toBe(1);
    // one signature time-stamp + one document time-stamp
    expect(calls.checkTimestampToken).toBe(2);
  });

  it(`refuses more than ${MAX_SIGNATURES} filled signature fields with a clear error, before any crypto`, async () => {
    const pdf = await withSharedFields(300);
    calls.verifySignerInfo = 0;
    calls.checkTimestampToken = 0;
    const r = await verifyPdf(pdf, { trustAnchors: [pki.rootDer] });
    expect(r.valid).toBe(false);
    expect(r.signatures).toEqual([]);
    expect(r.summaryCode).toEqual({ code: 'report.too_many_fields', params: { count: 302, max: MAX_SIGNATURES } });
    expect(r.summary).toBe(`署名欄が多すぎるため検証できません（302 個、上限 ${MAX_SIGNATURES} 個）。`);
    expect(calls.verifySignerInfo).toBe(0);
    expect(calls.checkTimestampToken).toBe(0);
  });
});
