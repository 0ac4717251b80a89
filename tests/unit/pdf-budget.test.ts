/**
 * Parsing budgets (lib/pdf/budget.ts): each limit refuses a hostile file that today's parser
 * accepted (or spent gigabytes on), with AppError 'pdf_too_complex' 「処理できない構造のPDFです（…）」,
 * and a real file stays well inside every limit.
 */
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../lib/errors';
import { sealPdf } from '../../lib/pades';
import {
  PdfBudget,
  PdfDict,
  PdfDocument,
  PdfLimitError,
  PdfName,
  PdfStream,
  decodeStream,
  defaultPdfLimits,
  inspectPdf,
  withPdfBudget,
} from '../../lib/pdf';
import { deepNesting, manySignatureFields, manyXrefEntries, objectStreamBomb, plainPdf, xrefBomb } from '../helpers/hostile-pdf';
import { VALID_CORPUS, corpusFile } from '../helpers/pdf-corpus';

const MiB = 1024 * 1024;
const flate = (data: Uint8Array) => new PdfStream(new PdfDict([['Filter', new PdfName('FlateDecode')]]), zlib.deflateSync(data));

/** The PdfLimitError `fn` throws (undefined if it throws nothing or something else). */
function thrown(fn: () => unknown): PdfLimitError | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof PdfLimitError) return e;
  }
  return undefined;
}

async function refusal(p: Promise<unknown>): Promise<PdfLimitError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(PdfLimitError);
  expect(e).toBeInstanceOf(AppError);
  const err = e as PdfLimitError;
  expect(err.code).toBe('pdf_too_complex');
  expect(err.httpStatus).toBe(422);
  expect(err.message).toContain('処理できない構造のPDFです');
  return err;
}

describe('default limits', () => {
  it('scale with MAX_UPLOAD_MB (half of it per stream, all of it per file) and have floors', () => {
    expect(defaultPdfLimits(50)).toMatchObject({ maxStreamBytes: 25 * MiB, maxInflateBytes: 50 * MiB, timeMs: 15_000 });
    expect(defaultPdfLimits(200)).toMatchObject({ maxStreamBytes: 100 * MiB, maxInflateBytes: 200 * MiB, timeMs: 60_000 });
    expect(defaultPdfLimits(1)).toMatchObject({ maxStreamBytes: 8 * MiB, maxInflateBytes: 16 * MiB, timeMs: 10_000 });
  });

  it.each(VALID_CORPUS)('a real file (%s) is inspected within the time-limited default budget', async (name) => {
    const budget = PdfBudget.timed();
    const info = await inspectPdf(corpusFile(name), { budget });
    expect(info.pageCount).toBeGreaterThanOrEqual(1);
    expect(budget.error).toBeUndefined();
  });
});

describe('inflate limits', () => {
  it('per stream: stops inflating at the allowance (memory never holds more)', () => {
    const budget = new PdfBudget({ maxStreamBytes: 1 * MiB, maxInflateBytes: 10 * MiB });
    expect(decodeStream(flate(new Uint8Array(MiB)), budget).length).toBe(MiB);
    const err = thrown(() => decodeStream(flate(new Uint8Array(MiB + 1)), budget));
    expect(err).toBeInstanceOf(PdfLimitError);
    expect(err!.limit).toBe('stream_size');
    expect(err!.message).toContain('上限 1 MB');
  });

  it('per file: the streams of one document together', () => {
    const budget = new PdfBudget({ maxStreamBytes: 1 * MiB, maxInflateBytes: 1.5 * MiB });
    decodeStream(flate(new Uint8Array(0.8 * MiB)), budget);
    expect(() => decodeStream(flate(new Uint8Array(0.8 * MiB)), budget)).toThrow(/展開後のデータの合計が上限 1.5 MB/);
    // Sticky: even a tiny stream is refused now, and so is every later check.
    expect(() => decodeStream(flate(new Uint8Array(10)), budget)).toThrow(PdfLimitError);
    expect(() => budget.throwIfExceeded()).toThrow(PdfLimitError);
  });

  it('a stream without a budget still gets the default per-stream cap', () => {
    const e = thrown(() => decodeStream(new PdfStream(new PdfDict([['Filter', new PdfName('FlateDecode')]]), xrefBombStreamData(64 * MiB))));
    expect(e).toBeInstanceOf(PdfLimitError);
    expect(e!.limit).toBe('stream_size');
  });

  it('a 1 GiB xref-stream bomb is refused (not read as a one-page PDF) after inflating just past its rows', async () => {
    const bomb = xrefBomb(1024 * MiB);
    expect(bomb.length).toBeLessThan(2 * MiB);
    const before = process.memoryUsage().rss;
    const budget = new PdfBudget();
    const err = await refusal(inspectPdf(bomb, { fileName: 'bomb.pdf', budget }));
    expect(err.limit).toBe('declared_size');
    expect(err.message).toBe('「bomb.pdf」は処理できない構造のPDFです（圧縮されたデータが、その内容に必要な大きさを超えて展開されます）。');
    expect(budget.inflatedBytes).toBe(0); // the oversized stream was cut off, never counted as read
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * MiB);
  });

  it('an xref stream is inflated only to its rows (+64 KiB): a little padding is read, more is refused', async () => {
    // 64 KiB short of the slack: accepted. (1 MiB of padding: refused without reading it.)
    expect((await inspectPdf(xrefBomb(0))).pageCount).toBe(1);
    await refusal(inspectPdf(xrefBomb(1 * MiB)));
  });

  it('an xref stream with a PNG predictor (one more byte per row) and 100,000 rows is read in full', async () => {
    expect((await inspectPdf(manyXrefEntries(100_000, { predictor: true }))).pageCount).toBe(1);
    expect((await inspectPdf(manyXrefEntries(100_000, { predictor: true, parmsArray: true }))).pageCount).toBe(1);
  });

  it('without the xref-stream cap, the per-stream limit still stops a bomb (an object stream)', async () => {
    const budget = new PdfBudget({ maxStreamBytes: 8 * MiB });
    const err = await refusal(inspectPdf(objectStreamBomb(16 * MiB), { budget }));
    expect(err.limit).toBe('stream_size');
    expect(err.message).toContain('圧縮されたデータの展開後の大きさが上限 8 MB を超えています');
  });

  it('an object-stream bomb is refused', async () => {
    const err = await refusal(inspectPdf(objectStreamBomb(64 * MiB)));
    expect(err.limit).toBe('stream_size');
  });

  it('sealing refuses to inflate the bomb (before any key or TSA is used)', async () => {
    const before = process.memoryUsage().rss;
    const err = await refusal(sealPdf(xrefBomb(1024 * MiB), { reason: 'test' }));
    expect(err.limit).toBe('declared_size');
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * MiB);
  });
});

/** zlib data inflating to `n` zero bytes (n a multiple of 1 MiB), built without allocating n. */
function xrefBombStreamData(n: number): Uint8Array {
  const pdf = xrefBomb(n).toString('latin1');
  const start = pdf.indexOf('stream\n') + 7;
  const end = pdf.lastIndexOf('\nendstream');
  return Buffer.from(pdf.slice(start, end), 'latin1');
}

describe('structure limits', () => {
  it('objects: a cross-reference listing 600,000 entries is refused', async () => {
    const err = await refusal(inspectPdf(manyXrefEntries(600_000)));
    expect(err.limit).toBe('objects');
    expect(err.message).toContain('500,000');
  });

  it('objects: counted over every entry (a small budget on a small file)', () => {
    expect(() => new PdfDocument(plainPdf(), { budget: new PdfBudget({ maxObjects: 3 }) })).toThrow(PdfLimitError);
    expect(() => new PdfDocument(plainPdf(), { budget: new PdfBudget({ maxObjects: 4 }) })).not.toThrow();
  });

  it('values: a budget on parsed values', () => {
    const doc = new PdfDocument(plainPdf(), { budget: new PdfBudget({ maxValues: 8 }) });
    expect(() => doc.countPages()).toThrow(/要素の数が上限 8 を超えています/);
  });

  it('depth: arrays nested 150 deep are refused (the limit is 100)', async () => {
    const err = await refusal(inspectPdf(deepNesting(150)));
    expect(err.limit).toBe('depth');
    expect(await inspectPdf(deepNesting(90))).toMatchObject({ pageCount: 1 });
  });

  it('signature fields: 300 fields are refused, 64 are not', async () => {
    const err = await refusal(inspectPdf(manySignatureFields(300)));
    expect(err.limit).toBe('signature_fields');
    expect(err.message).toContain('署名欄の数が上限 64 を超えています');
    expect((await inspectPdf(manySignatureFields(64))).signatureCount).toBe(64);
    await refusal(inspectPdf(manySignatureFields(65)));
  });

  it('time: a wall-clock budget expires while parsing', () => {
    let now = 0;
    const budget = new PdfBudget({ timeMs: 1000 }, () => (now += 400));
    const err = thrown(() => new PdfDocument(manyXrefEntries(40_000), { budget }).countPages());
    expect(err).toBeInstanceOf(PdfLimitError);
    expect(err!.limit).toBe('time');
    expect(err!.message).toContain('解析にかかる時間が上限 1 秒を超えています');
  });

  it('a budget without timeMs never expires (documents kept across awaits)', () => {
    let now = 0;
    const budget = new PdfBudget({}, () => (now += 1e9));
    expect(new PdfDocument(manyXrefEntries(20_000), { budget }).countPages()).toBe(1);
  });

  it('withPdfBudget reaches documents made without a budget, and a swallowed error stays visible', () => {
    const budget = new PdfBudget({ maxSignatureFields: 2 });
    withPdfBudget(budget, () => {
      const doc = new PdfDocument(manySignatureFields(3));
      expect(doc.budget).toBe(budget);
      try {
        doc.signatureFields();
      } catch {
        /* a caller that ignores errors */
      }
    });
    expect(() => budget.throwIfExceeded()).toThrow(/署名欄の数が上限 2 を超えています/);
    expect(new PdfDocument(plainPdf()).budget).not.toBe(budget);
  });
});
