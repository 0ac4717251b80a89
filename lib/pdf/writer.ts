/**
 * Incremental update writer (ISO 32000-2 §7.5.6). Our own, small: it appends new or replaced
 * objects, then an xref section of the same kind as the file's newest one (classic table or
 * xref stream), a trailer with /Prev, `startxref` and `%%EOF`. It never touches earlier bytes.
 *
 * `IncrementalPdf` keeps the document state in memory across several updates (signature → DSS →
 * document timestamp) without re-reading or concatenating the file: each update is a separate
 * chunk, and `toBytes()` joins them once.
 */
import { PdfDocument, XrefEntry } from './document';
import { PdfDict, PdfName, PdfObj, PdfRaw, PdfRef, PdfStream, PdfString } from './objects';

const REGULAR_NAME = /^[!-~]$/;

export function serializeName(n: string): string {
  let s = '/';
  for (const ch of Buffer.from(n, 'latin1').toString('latin1')) {
    const c = ch.charCodeAt(0);
    if (REGULAR_NAME.test(ch) && !'()<>[]{}/%#'.includes(ch)) s += ch;
    else s += '#' + c.toString(16).padStart(2, '0');
  }
  return s;
}

function serializeNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  let s = n.toFixed(6);
  s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s === '-0' ? '0' : s;
}

function serializeString(s: PdfString): string {
  if (s.hex) return '<' + Buffer.from(s.bytes).toString('hex').toUpperCase() + '>';
  let out = '(';
  for (const c of s.bytes) {
    if (c === 0x28 || c === 0x29 || c === 0x5c) out += '\\' + String.fromCharCode(c);
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c < 32 || c > 126) out += '\\' + c.toString(8).padStart(3, '0');
    else out += String.fromCharCode(c);
  }
  return out + ')';
}

/** Serializes an object to PDF syntax as a latin1 string (streams: dictionary only — see writeObject). */
export function serialize(o: PdfObj): string {
  if (o === null) return 'null';
  if (typeof o === 'boolean') return o ? 'true' : 'false';
  if (typeof o === 'number') return serializeNumber(o);
  if (o instanceof PdfName) return serializeName(o.name);
  if (o instanceof PdfRef) return `${o.num} ${o.gen} R`;
  if (o instanceof PdfString) return serializeString(o);
  if (o instanceof PdfRaw) return o.text;
  if (Array.isArray(o)) return '[' + o.map(serialize).join(' ') + ']';
  if (o instanceof PdfDict) {
    let s = '<<';
    for (const [k, v] of o.map) s += serializeName(k) + ' ' + serialize(v);
    return s + '>>';
  }
  if (o instanceof PdfStream) {
    const d = o.dict.clone().set('Length', o.raw.length);
    return serialize(d);
  }
  throw new Error('cannot serialize');
}

export interface WrittenUpdate {
  /** The appended bytes. */
  bytes: Uint8Array;
  /** Absolute file offset where each object starts. */
  offsets: Map<number, number>;
  /** Absolute offset of the update's first byte. */
  start: number;
}

export class IncrementalPdf {
  readonly chunks: Uint8Array[];
  length: number;
  private nextNum: number;
  private prevXref: number;
  private useXrefStream: boolean;
  /** Objects written by our updates (newest value), consulted before the source document. */
  private written = new Map<number, { gen: number; obj: PdfObj }>();
  private trailerBase: PdfDict;
  /**
   * The file's own offsets were wrong (its cross-reference data had to be rebuilt): the first update
   * carries a complete cross-reference section with the actual offsets of every object and no /Prev,
   * so strict readers read the result without repairing it; the uploaded bytes stay its prefix.
   */
  private fullXref: boolean;

  constructor(readonly doc: PdfDocument) {
    this.chunks = [doc.bytes];
    this.length = doc.bytes.length;
    this.nextNum = doc.nextObjectNumber();
    this.prevXref = doc.startxref;
    const newest = doc.sections[0];
    this.fullXref = doc.repair?.kind === 'reconstructed';
    const compressed = [...doc.xref.values()].some((e) => e.type === 2);
    this.useXrefStream = newest.kind === 'stream' || (this.fullXref && compressed);
    const t = new PdfDict();
    for (const k of ['Root', 'Info', 'ID']) {
      const v = newest.trailer.get(k) ?? doc.sections.find((s) => s.trailer.has(k))?.trailer.get(k);
      if (v !== undefined) t.set(k, v);
    }
    this.trailerBase = t;
  }

  allocate(): PdfRef {
    return new PdfRef(this.nextNum++, 0);
  }

  get rootRef(): PdfRef {
    const r = this.trailerBase.get('Root');
    if (!(r instanceof PdfRef)) throw new Error('catalog is not an indirect object');
    return r;
  }

  /** Current value of an object (our writes first, then the source file). */
  get(num: number): PdfObj {
    const w = this.written.get(num);
    if (w) return w.obj;
    return this.doc.getObject(num);
  }

  resolve(o: PdfObj | undefined): PdfObj | undefined {
    let cur = o;
    for (let i = 0; i < 32 && cur instanceof PdfRef; i++) cur = this.get(cur.num);
    return cur;
  }

  dict(o: PdfObj | undefined): PdfDict | undefined {
    const r = this.resolve(o);
    return r instanceof PdfDict ? r : undefined;
  }

  genOf(num: number): number {
    const w = this.written.get(num);
    if (w) return w.gen;
    const e = this.doc.xref.get(num);
    return e && e.type === 1 ? e.gen : 0;
  }

  /**
   * Appends one incremental update containing `objects` (refs decide numbers/generations).
   * Returns the chunk and object offsets; the chunk is also kept for `toBytes()`.
   */
  append(objects: Array<[PdfRef, PdfObj]>): WrittenUpdate {
    const start = this.length;
    const parts: Buffer[] = [];
    let len = 0;
    const push = (b: Buffer) => {
      parts.push(b);
      len += b.length;
    };
    const last = this.chunks[this.chunks.length - 1];
    const lastByte = last[last.length - 1];
    if (lastByte !== 0x0a && lastByte !== 0x0d) push(Buffer.from('\n', 'latin1'));
    const offsets = new Map<number, number>();
    for (const [ref, obj] of objects) {
      offsets.set(ref.num, start + len);
      if (obj instanceof PdfStream) {
        push(Buffer.from(`${ref.num} ${ref.gen} obj\n${serialize(obj)}\nstream\n`, 'latin1'));
        push(Buffer.from(obj.raw.buffer, obj.raw.byteOffset, obj.raw.byteLength));
        push(Buffer.from('\nendstream\nendobj\n', 'latin1'));
      } else {
        push(Buffer.from(`${ref.num} ${ref.gen} obj\n${serialize(obj)}\nendobj\n`, 'latin1'));
      }
      this.written.set(ref.num, { gen: ref.gen, obj });
    }
    const xrefOffset = start + len;
    // [num, type, field2, field3]: type 1 = offset + gen, type 2 = object stream + index, type 0 = free.
    const entries: Array<[number, number, number, number]> = objects.map(([r]) => [r.num, 1, offsets.get(r.num)!, r.gen]);
    const trailer = this.trailerBase.clone();
    if (this.fullXref) {
      const mine = new Set(entries.map((e) => e[0]));
      for (const [num, e] of this.doc.xref) {
        if (mine.has(num) || num === 0) continue;
        if (e.type === 1) entries.push([num, 1, e.offset, e.gen]);
        else if (e.type === 2) entries.push([num, 2, e.stm, e.idx]);
      }
      entries.push([0, 0, 0, 65535]);
      this.fullXref = false;
    } else trailer.set('Prev', this.prevXref);
    if (this.useXrefStream) {
      const xnum = this.nextNum++;
      entries.push([xnum, 1, xrefOffset, 0]);
      entries.sort((a, b) => a[0] - b[0]);
      const index: number[] = [];
      for (const e of entries) {
        if (index.length && index[index.length - 2] + index[index.length - 1] === e[0]) index[index.length - 1]++;
        else index.push(e[0], 1);
      }
      const data = Buffer.alloc(entries.length * 7);
      entries.forEach((e, i) => {
        data[i * 7] = e[1];
        data.writeUInt32BE(e[2], i * 7 + 1);
        data.writeUInt16BE(e[3], i * 7 + 5);
      });
      trailer.set('Type', new PdfName('XRef'));
      trailer.set('Size', this.nextNum);
      trailer.set('W', [1, 4, 2]);
      trailer.set('Index', index);
      const d = new PdfDict([['Type', new PdfName('XRef')], ...[...trailer.map].filter(([k]) => k !== 'Type')]);
      push(Buffer.from(`${xnum} 0 obj\n${serialize(new PdfStream(d, data))}\nstream\n`, 'latin1'));
      push(data);
      push(Buffer.from(`\nendstream\nendobj\nstartxref\n${xrefOffset}\n%%EOF\n`, 'latin1'));
    } else {
      entries.sort((a, b) => a[0] - b[0]);
      let s = 'xref\n';
      let i = 0;
      while (i < entries.length) {
        let j = i;
        while (j + 1 < entries.length && entries[j + 1][0] === entries[j][0] + 1) j++;
        s += `${entries[i][0]} ${j - i + 1}\n`;
        for (let k = i; k <= j; k++) s += `${String(entries[k][2]).padStart(10, '0')} ${String(entries[k][3]).padStart(5, '0')} ${entries[k][1] === 0 ? 'f' : 'n'}\r\n`;
        i = j + 1;
      }
      trailer.set('Size', this.nextNum);
      s += `trailer\n${serialize(trailer)}\nstartxref\n${xrefOffset}\n%%EOF\n`;
      push(Buffer.from(s, 'latin1'));
    }
    const bytes = Buffer.concat(parts, len);
    this.chunks.push(bytes);
    this.length += bytes.length;
    this.prevXref = xrefOffset;
    return { bytes, offsets, start };
  }

  /**
   * The whole file. When the source bytes end a growable (resizable) ArrayBuffer — see
   * `readGrowable` — the updates are appended in place and the result shares the source's memory:
   * no copy of a large document is made. Otherwise one copy.
   */
  toBytes(): Uint8Array {
    if (this.chunks.length === 1) return this.chunks[0];
    const src = this.chunks[0];
    const ab = src.buffer as ArrayBuffer & { resizable?: boolean; maxByteLength?: number; resize?(n: number): void };
    const srcLen = src.byteLength; // (a length-tracking view would grow with the buffer)
    const end = src.byteOffset + srcLen;
    if (ab.resizable && ab.resize && ab.byteLength === end && ab.maxByteLength! >= src.byteOffset + this.length) {
      ab.resize(src.byteOffset + this.length);
      const out = new Uint8Array(ab, src.byteOffset, this.length);
      let pos = srcLen;
      for (const c of this.chunks.slice(1)) {
        out.set(c, pos);
        pos += c.byteLength;
      }
      return out;
    }
    return Buffer.concat(this.chunks, this.length);
  }
}

/**
 * Reads a file into a growable ArrayBuffer with `room` bytes to spare, so that sealing can append its
 * incremental updates in place (IncrementalPdf.toBytes) instead of copying the document.
 */
export async function readGrowable(path: string, room = 1024 * 1024): Promise<Uint8Array> {
  const { open } = await import('node:fs/promises');
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const Growable = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer;
    const view = new Uint8Array(new Growable(size, { maxByteLength: size + room }), 0, size); // fixed length
    for (let off = 0; off < size; ) {
      const { bytesRead } = await fh.read(view, off, size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return view;
  } finally {
    await fh.close();
  }
}

export type { XrefEntry };
