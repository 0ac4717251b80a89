/**
 * Hostile PDFs for the parsing budgets: each is a valid one-page PDF apart from the one thing it
 * abuses, so a parser without that limit accepts it (and pays for it).
 *   - xrefBomb: the cross-reference stream is FlateDecode data that inflates to the real rows
 *     followed by `inflatedBytes` of zeros (1 GiB compresses to ~1 MB; built from one compressed
 *     1 MiB block repeated, so making it costs nothing).
 *   - objectStreamBomb: the same trick in an object stream.
 *   - manySignatureFields: n signature fields whose values share one signature dictionary.
 *   - deepNesting, manyXrefEntries.
 */
import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';

const enc = (s: string) => Buffer.from(s, 'latin1');

/** Writes numbered objects (strings or stream parts) and a classic xref, or returns offsets for an xref stream. */
function layout(objects: Array<string | Buffer>, header = '%PDF-1.7\n%\xe2\xe3\xcf\xd3\n') {
  const parts: Buffer[] = [enc(header)];
  let pos = parts[0].length;
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(pos);
    const b = Buffer.concat([enc(`${i + 1} 0 obj\n`), typeof o === 'string' ? enc(o) : o, enc('\nendobj\n')]);
    parts.push(b);
    pos += b.length;
  });
  return { parts, offsets, pos };
}

function classic(objects: Array<string | Buffer>, trailerExtra = ''): Buffer {
  const { parts, offsets, pos } = layout(objects);
  const rows = offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('');
  const xref = `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${rows}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R${trailerExtra} >>\nstartxref\n${pos}\n%%EOF\n`;
  return Buffer.concat([...parts, enc(xref)]);
}

const PAGE_OBJECTS = ['<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Kids [3 0 R] /Count 1 >>', '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>'];

/** adler32 of `data` followed by `zeros` zero bytes. */
function adler32(data: Buffer, zeros: number): number {
  const MOD = 65521;
  let a = 1;
  let b = 0;
  for (const c of data) {
    a = (a + c) % MOD;
    b = (b + a) % MOD;
  }
  b = (b + ((a * (zeros % MOD)) % MOD)) % MOD;
  return ((b << 16) | a) >>> 0;
}

/** A zlib stream that inflates to `head` followed by `zeros` zero bytes (zeros: a multiple of 1 MiB). */
export function zeroPaddedDeflate(head: Buffer, zeros: number): Buffer {
  const MiB = 1024 * 1024;
  if (zeros % MiB) throw new Error('zeros must be a multiple of 1 MiB');
  // After a full flush the compressor starts afresh, so the same input compresses to the same bytes.
  const first = zlib.deflateRawSync(head, { finishFlush: zlib.constants.Z_FULL_FLUSH });
  const block = zlib.deflateRawSync(Buffer.alloc(MiB), { finishFlush: zlib.constants.Z_FULL_FLUSH });
  const end = zlib.deflateRawSync(Buffer.alloc(0));
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32BE(adler32(head, zeros));
  return Buffer.concat([Buffer.from([0x78, 0x9c]), first, ...Array.from({ length: zeros / MiB }, () => block), end, trailer]);
}

/** One xref-stream row for /W [1 4 2]. */
function row(t: number, f2: number, f3: number): Buffer {
  const r = Buffer.alloc(7);
  r.writeUInt8(t, 0);
  r.writeUInt32BE(f2, 1);
  r.writeUInt16BE(f3, 5);
  return r;
}

/** A one-page PDF whose FlateDecode xref stream inflates to its rows plus `inflatedBytes` of zeros. */
export function xrefBomb(inflatedBytes = 1024 * 1024 * 1024): Buffer {
  const { parts, offsets, pos } = layout(PAGE_OBJECTS);
  const xrefNum = PAGE_OBJECTS.length + 1;
  const rows = Buffer.concat([row(0, 0, 65535), ...offsets.map((o) => row(1, o, 0)), row(1, pos, 0)]);
  const data = zeroPaddedDeflate(rows, inflatedBytes);
  const obj = Buffer.concat([
    enc(`${xrefNum} 0 obj\n<< /Type /XRef /Size ${xrefNum + 1} /W [1 4 2] /Root 1 0 R /Filter /FlateDecode /Length ${data.length} >>\nstream\n`),
    data,
    enc('\nendstream\nendobj\n'),
  ]);
  return Buffer.concat([...parts, obj, enc(`startxref\n${pos}\n%%EOF\n`)]);
}

/** A one-page PDF whose page lives in an object stream that inflates to the page plus `inflatedBytes` of zeros. */
export function objectStreamBomb(inflatedBytes: number): Buffer {
  const header = '3 0 ';
  const data = zeroPaddedDeflate(enc(`${header}${PAGE_OBJECTS[2]} `), inflatedBytes);
  const stm = Buffer.concat([enc(`<< /Type /ObjStm /N 1 /First ${header.length} /Filter /FlateDecode /Length ${data.length} >>\nstream\n`), data, enc('\nendstream')]);
  // Objects in the file: 1 catalog, 2 pages, 3 = a placeholder (null, replaced by the xref), 4 the object stream.
  const { parts, offsets, pos } = layout([PAGE_OBJECTS[0], PAGE_OBJECTS[1], 'null', stm]);
  const rows = Buffer.concat([row(0, 0, 65535), row(1, offsets[0], 0), row(1, offsets[1], 0), row(2, 4, 0), row(1, offsets[3], 0), row(1, pos, 0)]);
  const xref = Buffer.concat([enc(`5 0 obj\n<< /Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R /Length ${rows.length} >>\nstream\n`), rows, enc('\nendstream\nendobj\n')]);
  return Buffer.concat([...parts, xref, enc(`startxref\n${pos}\n%%EOF\n`)]);
}

/** A one-page PDF with `n` signature fields whose /V all point to one signature dictionary. */
export function manySignatureFields(n: number): Buffer {
  const fields = Array.from({ length: n }, (_, i) => `${6 + i} 0 R`).join(' ');
  const sig = `<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0 10 20 30] /Contents <${'00'.repeat(64)}> >>`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R /AcroForm 4 0 R >>',
    PAGE_OBJECTS[1],
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>',
    `<< /Fields [${fields}] /SigFlags 3 >>`,
    sig,
    ...Array.from({ length: n }, (_, i) => `<< /FT /Sig /T (Sig${i + 1}) /V 5 0 R /Subtype /Widget /Rect [0 0 0 0] /P 3 0 R >>`),
  ];
  return classic(objects);
}

/** A one-page PDF whose catalog holds an array nested `depth` deep. */
export function deepNesting(depth: number): Buffer {
  return classic([`<< /Type /Catalog /Pages 2 0 R /Deep ${'['.repeat(depth)}${']'.repeat(depth)} >>`, PAGE_OBJECTS[1], PAGE_OBJECTS[2]]);
}

/**
 * A one-page PDF whose (compressed) xref stream lists `n` entries, all but the first few free. With
 * `predictor`, the rows carry PNG predictor bytes (/Predictor 12, filter type 0 on each row) as qpdf writes them
 * (`parmsArray`: /DecodeParms as a one-element array, as for a filter array).
 */
export function manyXrefEntries(n: number, opts: { predictor?: boolean; parmsArray?: boolean } = {}): Buffer {
  const { parts, offsets, pos } = layout(PAGE_OBJECTS);
  const rowLen = 6 + (opts.predictor ? 1 : 0);
  const lead = opts.predictor ? 1 : 0;
  const rows = Buffer.alloc(n * rowLen);
  const put = (i: number, t: number, f2: number) => {
    rows.writeUInt8(t, i * rowLen + lead);
    rows.writeUInt32BE(f2, i * rowLen + lead + 1);
  };
  for (let i = 0; i < n; i++) put(i, 0, 0);
  offsets.forEach((o, i) => put(i + 1, 1, o));
  put(PAGE_OBJECTS.length + 1, 1, pos);
  const data = zlib.deflateSync(rows);
  const dict = '<< /Predictor 12 /Columns 6 >>';
  const parms = opts.predictor ? ` /DecodeParms ${opts.parmsArray ? `[${dict}]` : dict}` : '';
  const obj = Buffer.concat([
    enc(`${PAGE_OBJECTS.length + 1} 0 obj\n<< /Type /XRef /Size ${n} /W [1 4 1] /Root 1 0 R /Filter /FlateDecode${parms} /Length ${data.length} >>\nstream\n`),
    data,
    enc('\nendstream\nendobj\n'),
  ]);
  return Buffer.concat([...parts, obj, enc(`startxref\n${pos}\n%%EOF\n`)]);
}

/** A plain valid one-page PDF (the baseline the hostile ones differ from). */
export function plainPdf(): Buffer {
  return classic(PAGE_OBJECTS);
}

/** A harmless one-page PDF of about `bytes` bytes (an unreferenced, unfiltered stream of random data). */
export function paddedPdf(bytes: number): Buffer {
  const data = randomBytes(bytes);
  return classic([...PAGE_OBJECTS, Buffer.concat([enc(`<< /Length ${data.length} >>\nstream\n`), data, enc('\nendstream')])]);
}
