import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../lib/errors';
import { IncrementalPdf, PdfDocument, PdfName, PdfString, inspectPdf, PdfDict } from '../../lib/pdf';
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
