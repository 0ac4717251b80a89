/**
 * Stream filters our parser needs (FlateDecode with the PNG predictors) — decoded within the
 * file's parsing budget, so a decompression bomb stops at the allowance while zlib runs.
 */
import zlib from 'node:zlib';
import { PdfBudget } from './budget';
import { PdfDict, PdfName, PdfStream } from './objects';
import { PdfFormatError } from './errors';
/**
 * The stream's decoded bytes. Inflation stops at the budget's allowance (per stream and what is left
 * for the file) while zlib produces output, so a bomb never gets further than that in memory. The
 * budget is the one given, else the one of the document the stream was parsed from, else a fresh
 * default one (default caps).
 */
export function decodeStream(
  s: PdfStream,
  budget: PdfBudget = s.budget ?? new PdfBudget(),
  /** The most the decoded data can meaningfully be (e.g. an xref stream's rows): inflating past it is refused. */
  opts: { maxBytes?: number } = {},
): Uint8Array {
  const f = s.dict.get('Filter');
  const filters = f === undefined || f === null ? [] : Array.isArray(f) ? f : [f];
  const parms = s.dict.get('DecodeParms');
  const parmList = Array.isArray(parms) ? parms : [parms ?? null];
  let data: Uint8Array = s.raw;
  filters.forEach((fl, i) => {
    if (!(fl instanceof PdfName)) throw new PdfFormatError('bad filter');
    if (fl.name !== 'FlateDecode' && fl.name !== 'Fl') throw new PdfFormatError(`unsupported filter ${fl.name}`);
    data = inflateWithin(data, budget, i === filters.length - 1 ? opts.maxBytes : undefined);
    const p = parmList[i];
    if (p instanceof PdfDict) data = unpredict(data, p);
  });
  return data;
}

const tooLarge = (e: unknown) => (e as NodeJS.ErrnoException | undefined)?.code === 'ERR_BUFFER_TOO_LARGE';

function inflateWithin(data: Uint8Array, budget: PdfBudget, maxBytes?: number): Uint8Array {
  const budgeted = budget.inflateAllowance();
  const allowance = maxBytes !== undefined && maxBytes < budgeted.bytes ? { bytes: maxBytes, limit: 'declared_size' as const } : budgeted;
  let out: Uint8Array;
  try {
    out = zlib.inflateSync(data, { maxOutputLength: allowance.bytes });
  } catch (e) {
    if (tooLarge(e)) budget.fail(allowance.limit);
    try {
      // A stream cut short (no final block): keep what inflates.
      out = zlib.inflateSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: allowance.bytes });
    } catch (e2) {
      if (tooLarge(e2)) budget.fail(allowance.limit);
      throw e2;
    }
  }
  budget.addInflated(out.length);
  return out;
}

function unpredict(data: Uint8Array, p: PdfDict): Uint8Array {
  const pred = p.get('Predictor');
  if (typeof pred !== 'number' || pred < 10) {
    if (pred === 2) throw new PdfFormatError('TIFF predictor not supported');
    return data;
  }
  const colors = typeof p.get('Colors') === 'number' ? (p.get('Colors') as number) : 1;
  const bpc = typeof p.get('BitsPerComponent') === 'number' ? (p.get('BitsPerComponent') as number) : 8;
  const cols = typeof p.get('Columns') === 'number' ? (p.get('Columns') as number) : 1;
  const bpp = Math.max(1, Math.ceil((colors * bpc) / 8));
  const rowLen = Math.ceil((colors * bpc * cols) / 8);
  const rows = Math.floor(data.length / (rowLen + 1));
  const out = new Uint8Array(rows * rowLen);
  let prev = new Uint8Array(rowLen);
  for (let r = 0; r < rows; r++) {
    const ft = data[r * (rowLen + 1)];
    const row = data.subarray(r * (rowLen + 1) + 1, (r + 1) * (rowLen + 1));
    const cur = out.subarray(r * rowLen, (r + 1) * rowLen);
    for (let i = 0; i < rowLen; i++) {
      const a = i >= bpp ? cur[i - bpp] : 0;
      const b = prev[i];
      const c = i >= bpp ? prev[i - bpp] : 0;
      let v = row[i];
      if (ft === 1) v += a;
      else if (ft === 2) v += b;
      else if (ft === 3) v += (a + b) >> 1;
      else if (ft === 4) {
        const pp = a + b - c;
        const pa = Math.abs(pp - a), pb = Math.abs(pp - b), pc = Math.abs(pp - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      cur[i] = v & 0xff;
    }
    prev = cur;
  }
  return out;
}
