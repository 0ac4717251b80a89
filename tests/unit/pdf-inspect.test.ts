import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../lib/errors';
import { IncrementalPdf, PdfDocument, PdfName, PdfRaw, PdfString, inspectPdf, PdfDict, serialize, type PdfObj } from '../../lib/pdf';
import { INVALID_CORPUS, VALID_CORPUS, corpusFile, type InvalidName } from '../helpers/pdf-corpus';

describe('inspectPdf', () => {
  it.each(VALID_CORPUS)('accepts %s', async (name) => {
    const info = await inspectPdf(corpusFile(name));
    expect(info.pageCount).toBeGreaterThanOrEqual(1);
    expect(info.encrypted).toBe(false);
    expect(info.signatureCount).toBe(0);
    // Page count agrees with qpdf.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'insp-'));
    writeFileSync(path.join(dir, 'f.pdf'), corpusFile(name));
    const n = Number(execFileSync('qpdf', ['--show-npages', path.join(dir, 'f.pdf')]).toString().trim());
    expect(info.pageCount).toBe(n);
  });

  it('reports structure details', async () => {
    expect((await inspectPdf(corpusFile('objstm'))).hasXrefStream).toBe(true);
    expect((await inspectPdf(corpusFile('chromium'))).hasXrefStream).toBe(false);
    expect((await inspectPdf(corpusFile('linearized'))).linearized).toBe(true);
    expect((await inspectPdf(corpusFile('v20'))).version).toBe('2.0');
    expect((await inspectPdf(corpusFile('v13'))).version).toBe('1.3');
    expect((await inspectPdf(corpusFile('incremental'))).xrefSections).toBe(2);
  });

  it.each(Object.keys(INVALID_CORPUS) as InvalidName[])('refuses %s with the right AppError', async (name) => {
    const err = await inspectPdf(corpusFile(name), { fileName: 'テスト.pdf' }).catch((e) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe(INVALID_CORPUS[name]);
    expect(err.message).toContain('「テスト.pdf」');
    expect(err.message).toMatch(/[ぁ-んァ-ヶ一-龠]/);
  });

  it('refuses files over maxBytes', async () => {
    const err = await inspectPdf(corpusFile('chromium'), { maxBytes: 1000 }).catch((e) => e);
    expect(err.code).toBe('pdf_too_large');
  });
});

/**
 * Appends a filled signature field (the CMS bytes are irrelevant to inspection) whose value has
 * `reference` transforms and whose field has `lock`; its /ByteRange ends where that update ends.
 * `perms`: the catalog names it as the DocMDP certification signature.
 */
function withSignature(src: Uint8Array, o: { lock?: PdfDict; reference?: PdfObj[]; perms?: boolean; name?: string } = {}): Uint8Array {
  const build = (end: number) => {
    const w = new IncrementalPdf(new PdfDocument(src));
    const sig = w.allocate();
    const field = w.allocate();
    const ref = o.reference ? ` /Reference ${serialize(o.reference)}` : '';
    const value = new PdfRaw(
      `<</Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0 10 20 ${String(Math.max(0, end - 20)).padStart(10, '0')}] /Contents <3082>${ref}>>`,
    );
    const f = new PdfDict([
      ['FT', new PdfName('Sig')],
      ['T', PdfString.fromText(o.name ?? 'Signature1')],
      ['V', sig],
      ['Rect', [0, 0, 0, 0]],
    ]);
    if (o.lock) f.set('Lock', o.lock);
    const cat = w.dict(w.rootRef)!.clone().set('AcroForm', new PdfDict([['Fields', [field]], ['SigFlags', 3]]));
    if (o.perms) cat.set('Perms', new PdfDict([['DocMDP', sig]]));
    w.append([
      [sig, value],
      [field, f],
      [w.rootRef, cat],
    ]);
    return { bytes: w.toBytes(), field };
  };
  return build(build(0).bytes.length).bytes;
}

const n = (x: string) => new PdfName(x);
const transform = (method: string, params: Array<[string, PdfObj]>) =>
  new PdfDict([
    ['Type', n('SigRef')],
    ['TransformMethod', n(method)],
    ['TransformParams', new PdfDict([['Type', n('TransformParams')], ...params, ['V', n('1.2')]])],
  ]);

describe('inspectPdf: files whose signature forbids changes (our seal would break it)', () => {
  const refuse = async (bytes: Uint8Array, field = 'Signature1') => {
    const err = await inspectPdf(bytes, { fileName: '署名済み.pdf' }).catch((e) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe('pdf_locked');
    expect(err.httpStatus).toBe(422);
    expect(err.message).toContain('「署名済み.pdf」');
    expect(err.message).toContain(`「${field}」`);
    return err as AppError;
  };

  it('refuses a signed field with /Lock /P 1', async () => {
    await refuse(withSignature(corpusFile('chromium'), { lock: new PdfDict([['Type', n('SigFieldLock')], ['Action', n('All')], ['P', 1]]) }));
  });

  it('refuses a DocMDP /P 1 certification signature', async () => {
    const e = await refuse(withSignature(corpusFile('objstm'), { reference: [transform('DocMDP', [['P', 1]])], perms: true, name: '作成者署名' }), '作成者署名');
    expect(e.message).toContain('証明');
  });

  it('refuses a FieldMDP reference locking all fields', async () => {
    await refuse(withSignature(corpusFile('chromium'), { reference: [transform('FieldMDP', [['Action', n('All')]])] }));
  });

  it('still refuses when a later update removed the lock from the field', async () => {
    const locked = withSignature(corpusFile('chromium'), { lock: new PdfDict([['Action', n('Include')], ['Fields', []], ['P', 1]]) });
    const doc = new PdfDocument(locked);
    const f = doc.signatureFields()[0];
    const w = new IncrementalPdf(doc);
    w.append([[f.fieldRef!, f.field.clone().set('Lock', null)]]);
    const out = w.toBytes();
    expect(new PdfDocument(out).signatureFields()[0].field.get('Lock')).toBeNull();
    await refuse(out);
  });

  it('accepts DocMDP /P 2 and /P 3, FieldMDP on named fields, and signatures without a lock', async () => {
    const ok = [
      withSignature(corpusFile('chromium'), { reference: [transform('DocMDP', [['P', 2]])], perms: true }),
      withSignature(corpusFile('chromium'), { reference: [transform('DocMDP', [['P', 3]])], perms: true }),
      withSignature(corpusFile('chromium'), { reference: [transform('FieldMDP', [['Action', n('Include')], ['Fields', []]])] }),
      withSignature(corpusFile('objstm')),
    ];
    for (const b of ok) {
      const info = await inspectPdf(b);
      expect(info.signatureCount).toBe(1);
      expect(info.locks).toEqual([]);
    }
  });

  it('reports the lock instead of refusing with allowLocked (paper scans are only stored)', async () => {
    const info = await inspectPdf(withSignature(corpusFile('chromium'), { lock: new PdfDict([['P', 1]]) }), { allowLocked: true });
    expect(info.locks).toEqual([{ field: 'Signature1', kind: 'lock' }]);
  });
});

describe('IncrementalPdf (own writer)', () => {
  it.each(['chromium', 'objstm', 'linearized', 'incremental'] as const)('appends an update that qpdf accepts (%s)', (name) => {
    const src = corpusFile(name);
    const doc = new PdfDocument(src);
    const w = new IncrementalPdf(doc);
    const info = w.allocate();
    w.append([[info, new PdfDict([['Title', PdfString.fromText('追記テスト')]])]]);
    const cat = w.dict(w.rootRef)!.clone().set('PageMode', new PdfName('UseNone'));
    w.append([[w.rootRef, cat]]);
    const out = Buffer.from(w.toBytes());
    expect(out.subarray(0, src.length).equals(src)).toBe(true);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'incr-'));
    writeFileSync(path.join(dir, 'o.pdf'), out);
    execFileSync('qpdf', ['--check', path.join(dir, 'o.pdf')]); // throws on errors
    const re = new PdfDocument(out);
    expect(re.sections.length).toBe(doc.sections.length + 2);
    expect(re.sections[0].kind).toBe(doc.sections[0].kind);
    expect(re.catalog().nameOf('PageMode')).toBe('UseNone');
    expect((re.getObject(info.num) as PdfDict).get('Title')).toBeInstanceOf(PdfString);
    // qpdf reads the new objects too.
    const json = execFileSync('qpdf', ['--show-object=trailer', '--filtered-stream-data', path.join(dir, 'o.pdf')]).toString() + execFileSync('qpdf', ['--json=1', '--json-key=objects', path.join(dir, 'o.pdf')]).toString();
    expect(json).toContain('UseNone');
  });
});
