/**
 * Damaged-but-common uploads are either sealed so that strict readers read the sealed file without
 * repairing it (`qpdf --check` clean, our parser in strict mode, pdfsig/openssl/asn1crypto, our
 * verifier B-LTA) with the uploaded bytes as its prefix, or refused with a message that names the
 * problem and says what to do. Circular page or structure trees are refused, never sealed.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { sealPdf, verifyPdf } from '../../lib/pades';
import { IncrementalPdf, PdfDict, PdfDocument, PdfName, PdfRef, PdfStream, inspectPdf, type PdfObj } from '../../lib/pdf';
import { corpusFile } from '../helpers/pdf-corpus';
import { independentlyVerify } from '../helpers/independent-verify';
import { createTestPki } from '../helpers/pades-test-pki';

const exec = promisify(execFile);
const pki = createTestPki();
const RESAVE = 'PDFとして保存し直してからアップロードしてください';

async function qpdfCheck(pdf: Uint8Array): Promise<{ ok: boolean; out: string }> {
  const f = path.join(mkdtempSync(path.join(os.tmpdir(), 'qpdf-dmg-')), 'f.pdf');
  writeFileSync(f, pdf);
  try {
    const r = await exec('qpdf', ['--check', f]);
    return { ok: !/WARNING/.test(r.stdout + r.stderr), out: r.stdout + r.stderr };
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string };
    return { ok: false, out: `${x.stdout ?? ''}${x.stderr ?? ''}` };
  }
}

const seal = (pdf: Uint8Array) => sealPdf(pdf, { reason: '立会人型電子署名', keyProvider: pki.provider(), tsa: pki.tsa, revocation: pki.revocation });

async function expectSealedCleanly(input: Buffer) {
  expect(() => new PdfDocument(input, { strict: true })).toThrow(); // it is damaged
  const info = await inspectPdf(input, { fileName: 'upload.pdf' });
  expect(info.pageCount).toBeGreaterThan(0);
  const out = Buffer.from(await seal(input));
  expect(out.subarray(0, input.length).equals(input)).toBe(true);
  expect(() => new PdfDocument(out, { strict: true })).not.toThrow();
  const q = await qpdfCheck(out);
  expect(q.out).toContain('No syntax or stream encoding errors');
  expect(q.ok).toBe(true);
  const r = await verifyPdf(out, { trustAnchors: [pki.rootDer] });
  expect(r.problems).toEqual([]);
  expect(r.level).toBe('B-LTA');
  expect((await independentlyVerify(out, pki.rootPem)).failures).toEqual([]);
}

async function expectRefused(input: Buffer, words: string[]) {
  const up = await inspectPdf(input, { fileName: 'upload.pdf' }).catch((e) => e);
  expect(up.code).toBe('pdf_invalid');
  for (const w of [...words, RESAVE, '「upload.pdf」']) expect(up.message).toContain(w);
  const s = await seal(input).catch((e) => e);
  expect(s.code).toBe('pdf_invalid');
}

/** A hybrid-reference file as Word writes it: a classic table for the plain objects (compressed ones free) + /XRefStm. */
function wordHybrid(): Buffer {
  const src = corpusFile('objstm');
  const doc = new PdfDocument(src);
  const xs = doc.sections[0];
  expect(xs.kind).toBe('stream');
  const end = Buffer.from(src).lastIndexOf('startxref');
  const body = src.subarray(0, end);
  const max = Math.max(...xs.entries.keys());
  let table = 'xref\n0 ' + (max + 1) + '\n';
  for (let n = 0; n <= max; n++) {
    const e = xs.entries.get(n);
    table += e?.type === 1 ? `${String(e.offset).padStart(10, '0')} ${String(e.gen).padStart(5, '0')} n\r\n` : n === 0 ? '0000000000 65535 f\r\n' : '0000000000 00000 f\r\n';
  }
  const t = xs.trailer;
  const keep = ['Root', 'Info', 'ID'].filter((k) => t.has(k));
  const ser = (k: string) => {
    const v = t.get(k);
    if (v instanceof PdfRef) return `/${k} ${v.num} ${v.gen} R`;
    const ids = (v as Array<{ bytes: Uint8Array }>).map((x) => `<${Buffer.from(x.bytes).toString('hex')}>`).join('');
    return `/${k} [${ids}]`;
  };
  const trailer = `trailer\n<< /Size ${max + 1} ${keep.map(ser).join(' ')} /XRefStm ${xs.offset} >>\n`;
  return Buffer.concat([body, Buffer.from(table + trailer + `startxref\n${body.length}\n%%EOF\n`, 'latin1')]);
}

/** The corpus file with an update whose objects make a tree refer back to itself. */
function withLoop(kind: 'pages' | 'structure'): Buffer {
  const src = corpusFile('chromium');
  const w = new IncrementalPdf(new PdfDocument(src));
  const cat = w.dict(w.rootRef)!;
  const objects: Array<[PdfRef, PdfObj]> = [];
  if (kind === 'pages') {
    const pagesRef = cat.get('Pages') as PdfRef;
    const pages = w.dict(pagesRef)!;
    objects.push([pagesRef, pages.clone().set('Kids', [...(w.resolve(pages.get('Kids')) as PdfObj[]), pagesRef])]);
  } else {
    const root = w.allocate();
    const el = w.allocate();
    objects.push([root, new PdfDict([['Type', new PdfName('StructTreeRoot')], ['K', [el]]])]);
    objects.push([el, new PdfDict([['Type', new PdfName('StructElem')], ['S', new PdfName('Document')], ['P', root], ['K', [el]]])]);
    objects.push([w.rootRef, cat.clone().set('StructTreeRoot', root)]);
  }
  w.append(objects);
  return Buffer.from(w.toBytes());
}

describe('damaged-but-common uploads', () => {
  it('startxref off by a few bytes: sealed; strict readers read the result without repair', async () => {
    const src = corpusFile('chromium').toString('latin1');
    const m = /startxref\s+(\d+)\s+%%EOF\s*$/.exec(src)!;
    const input = Buffer.from(src.slice(0, m.index) + `startxref\n${Number(m[1]) + 3}\n%%EOF\n`, 'latin1');
    expect(new PdfDocument(input).repair?.kind).toBe('startxref');
    await expectSealedCleanly(input);
  });

  it('xref offsets shifted by stray bytes inside the file: rebuilt; the seal carries a complete cross-reference section', async () => {
    const src = corpusFile('v13'); // classic table, no object streams
    const nl = src.indexOf(0x0a) + 1;
    const input = Buffer.concat([src.subarray(0, nl), Buffer.from('% stray bytes from a broken transfer\n', 'latin1'), src.subarray(nl)]);
    expect(new PdfDocument(input).repair?.kind).toBe('reconstructed');
    await expectSealedCleanly(input);
  });

  it('xref offsets shifted in a file with object streams: rebuilt, sealed with a complete xref stream', async () => {
    const src = corpusFile('objstm');
    const nl = src.indexOf(0x0a) + 1;
    const input = Buffer.concat([src.subarray(0, nl), Buffer.from('%%%%%%%%%%%%%%%%\n', 'latin1'), src.subarray(nl)]);
    expect(new PdfDocument(input).repair?.kind).toBe('reconstructed');
    await expectSealedCleanly(input);
  });

  it('stray bytes before %PDF (every offset counted from the header): refused, naming the problem', async () => {
    const input = Buffer.concat([Buffer.from('Content-Type: application/pdf\r\n\r\n', 'latin1'), corpusFile('chromium')]);
    expect(new PdfDocument(input).repair?.kind).toBe('header_offset');
    await expectRefused(input, ['%PDF-', '余分なデータ（33バイト）']);
  });

  it('a hybrid-reference file as Word writes it: sealed cleanly', async () => {
    const input = wordHybrid();
    const doc = new PdfDocument(input, { strict: true });
    expect(doc.sections[0].trailer.has('XRefStm')).toBe(true);
    const out = Buffer.from(await seal(input));
    expect(out.subarray(0, input.length).equals(input)).toBe(true);
    expect(() => new PdfDocument(out, { strict: true })).not.toThrow();
    expect((await qpdfCheck(out)).ok).toBe(true);
    const r = await verifyPdf(out, { trustAnchors: [pki.rootDer] });
    expect(r.problems).toEqual([]);
    expect(r.level).toBe('B-LTA');
    expect((await independentlyVerify(out, pki.rootPem)).failures).toEqual([]);
  });

  it('a circular page tree is refused, never sealed', async () => {
    await expectRefused(withLoop('pages'), ['ページの構成（ページツリー）が循環']);
  });

  it('a circular structure tree is refused, never sealed', async () => {
    await expectRefused(withLoop('structure'), ['文書の論理構造（構造ツリー）が循環']);
  });

  it('our strict mode accepts every well-formed corpus file and our own sealed output', async () => {
    for (const n of ['chromium', 'objstm', 'linearized', 'v13', 'v20', 'incremental', 'ghostscript'] as const) {
      expect(() => new PdfDocument(corpusFile(n), { strict: true }), n).not.toThrow();
    }
    void PdfStream;
  });
});
