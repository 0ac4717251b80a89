/**
 * The PDF worker pool (lib/pdfpool): upload inspection and verification run in worker threads under
 * the time-limited budgets, give the same answers and AppErrors as in-process parsing, and leave the
 * caller's event loop free while they work.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../lib/errors';
import { inspectPdf, PdfLimitError } from '../../lib/pdf';
import { closePdfPool, inspectUntrustedPdf, runPdfTask, verifyUntrustedPdf, warmPdfPool } from '../../lib/pdfpool';
import { defaultPdfLimits } from '../../lib/pdf';
import { manySignatureFields, manyXrefEntries, plainPdf, xrefBomb } from '../helpers/hostile-pdf';
import { INVALID_CORPUS, corpusFile } from '../helpers/pdf-corpus';

beforeAll(async () => {
  await warmPdfPool();
}, 60_000);
afterAll(async () => {
  await closePdfPool();
});

describe('inspectUntrustedPdf', () => {
  it('answers like inspectPdf for a real file, and the caller keeps its bytes', async () => {
    const bytes = corpusFile('objstm');
    const copy = Buffer.from(bytes);
    expect(await inspectUntrustedPdf(bytes, { fileName: 'a.pdf' })).toEqual(await inspectPdf(bytes, { fileName: 'a.pdf' }));
    expect(Buffer.from(bytes).equals(copy)).toBe(true);
  });

  it('passes on the AppErrors of inspection (encrypted, broken, too large) with their codes and messages', async () => {
    const enc = await inspectUntrustedPdf(corpusFile('encrypted'), { fileName: 'x.pdf' }).catch((e) => e);
    expect(enc).toBeInstanceOf(AppError);
    expect(enc.code).toBe(INVALID_CORPUS.encrypted);
    expect(enc.message).toContain('「x.pdf」');
    expect((await inspectUntrustedPdf(corpusFile('notPdf')).catch((e) => e)).code).toBe('pdf_invalid');
    expect((await inspectUntrustedPdf(plainPdf(), { maxBytes: 100 }).catch((e) => e)).code).toBe('pdf_too_large');
  });

  it('refuses a 1 GiB bomb and a file with 300 signature fields with PdfLimitError', async () => {
    const bomb = await inspectUntrustedPdf(xrefBomb(), { fileName: 'bomb.pdf' }).catch((e) => e);
    expect(bomb).toBeInstanceOf(PdfLimitError);
    expect(bomb.limit).toBe('declared_size');
    expect(bomb.message).toBe('「bomb.pdf」は処理できない構造のPDFです（圧縮されたデータが、その内容に必要な大きさを超えて展開されます）。');
    const fields = await inspectUntrustedPdf(manySignatureFields(300)).catch((e) => e);
    expect(fields).toBeInstanceOf(PdfLimitError);
    expect(fields.limit).toBe('signature_fields');
  });

  it('keeps the caller’s event loop free while a large file is parsed', async () => {
    const big = manyXrefEntries(450_000); // within the limits, about a second of parsing
    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    const ticker = setInterval(() => undefined, 5);
    await inspectUntrustedPdf(big);
    clearInterval(ticker);
    h.disable();
    // Parsing the same file on this thread blocks it for the whole parse.
    const t = performance.now();
    await inspectPdf(big);
    const inline = performance.now() - t;
    expect(h.max / 1e6).toBeLessThan(Math.max(100, inline / 3));
  });
});

describe('verifyUntrustedPdf', () => {
  it('reports an unsigned file like verifyPdf', async () => {
    const r = await verifyUntrustedPdf(plainPdf(), { trustAnchors: [] });
    expect(r.valid).toBe(false);
    expect(r.summary).toBe('このPDFには電子署名がありません。');
  });

  it('refuses a file with 300 signature fields sharing one /Contents (the verifier would check each)', async () => {
    const e = await verifyUntrustedPdf(manySignatureFields(300), { trustAnchors: [] }).catch((x) => x);
    expect(e).toBeInstanceOf(PdfLimitError);
    expect(e.limit).toBe('signature_fields');
  });

  it('a limit met where the verifier reads on past an error still refuses the file (the task, in-process)', async () => {
    // verifyPdf turns a file it cannot open into a report ("not readable"); the task still refuses it.
    const r = await runPdfTask({ kind: 'verify', bytes: xrefBomb(64 * 1024 * 1024), limits: defaultPdfLimits(), trustAnchors: [] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ code: 'pdf_too_complex', limit: 'declared_size' });
  });
});
