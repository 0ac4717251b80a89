/**
 * PDF object syntax parser (ISO 32000-2 §7.2–7.3) over a Uint8Array. Positions are byte offsets;
 * stream data is returned as a subarray of the input (no copy).
 */
import type { PdfBudget } from './budget';
import { PdfDict, PdfName, PdfObj, PdfRef, PdfStream, PdfString } from './objects';

export class PdfSyntaxError extends Error {}

const WS = new Uint8Array(256);
for (const c of [0, 9, 10, 12, 13, 32]) WS[c] = 1;
const DELIM = new Uint8Array(256);
for (const c of '()<>[]{}/%') DELIM[c.charCodeAt(0)] = 1;

export const isWhite = (c: number) => WS[c] === 1;
export const isDelim = (c: number) => DELIM[c] === 1;
const isRegular = (c: number) => !WS[c] && !DELIM[c];

/** Resolves `/Length 12 0 R` while parsing a stream. */
export type LengthResolver = (ref: PdfRef) => number | undefined;

export class Parser {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    pos = 0,
    readonly resolveLength?: LengthResolver,
    /** Counts values and nesting depth (and stamps parsed streams) when given. */
    readonly budget?: PdfBudget,
  ) {
    this.pos = pos;
  }

  skipWs(): void {
    const b = this.buf;
    let p = this.pos;
    for (;;) {
      while (p < b.length && WS[b[p]]) p++;
      if (p < b.length && b[p] === 0x25 /* % */) {
        while (p < b.length && b[p] !== 10 && b[p] !== 13) p++;
        continue;
      }
      break;
    }
    this.pos = p;
  }

  /** Reads a bare token (keyword or number) without consuming delimiters. */
  private word(): string {
    const b = this.buf;
    const s = this.pos;
    while (this.pos < b.length && isRegular(b[this.pos])) this.pos++;
    return latin1(b, s, this.pos);
  }

  peekKeyword(kw: string): boolean {
    this.skipWs();
    const b = this.buf;
    for (let i = 0; i < kw.length; i++) if (b[this.pos + i] !== kw.charCodeAt(i)) return false;
    const after = b[this.pos + kw.length];
    return after === undefined || !isRegular(after);
  }

  expectKeyword(kw: string): void {
    if (!this.peekKeyword(kw)) throw new PdfSyntaxError(`expected ${kw} at ${this.pos}`);
    this.pos += kw.length;
  }

  /** Parses one direct object (refs `n g R` recognised). */
  parseObject(depth = 0): PdfObj {
    if (this.budget) this.budget.addValue(depth);
    else if (depth > 200) throw new PdfSyntaxError('nesting too deep');
    this.skipWs();
    const b = this.buf;
    if (this.pos >= b.length) throw new PdfSyntaxError('unexpected end');
    const c = b[this.pos];
    if (c === 0x2f /* / */) return this.parseName();
    if (c === 0x28 /* ( */) return this.parseLiteralString();
    if (c === 0x3c /* < */) {
      if (b[this.pos + 1] === 0x3c) return this.parseDict(depth);
      return this.parseHexString();
    }
    if (c === 0x5b /* [ */) {
      this.pos++;
      const arr: PdfObj[] = [];
      for (;;) {
        this.skipWs();
        if (this.pos >= b.length) throw new PdfSyntaxError('unterminated array');
        if (b[this.pos] === 0x5d) {
          this.pos++;
          return arr;
        }
        arr.push(this.parseObject(depth + 1));
      }
    }
    const start = this.pos;
    const w = this.word();
    if (w === '') throw new PdfSyntaxError(`unexpected byte ${c} at ${start}`);
    if (w === 'true') return true;
    if (w === 'false') return false;
    if (w === 'null') return null;
    const n = Number(w);
    if (!Number.isFinite(n)) {
      // Tolerate malformed numbers like "-.5" (ok in Number) or "--5"; reject keywords.
      throw new PdfSyntaxError(`unexpected token ${w.slice(0, 20)} at ${start}`);
    }
    if (/^\d+$/.test(w)) {
      // Lookahead for `gen R`.
      const save = this.pos;
      this.skipWs();
      const g = this.word();
      if (/^\d+$/.test(g)) {
        this.skipWs();
        if (b[this.pos] === 0x52 /* R */ && (this.pos + 1 >= b.length || !isRegular(b[this.pos + 1]))) {
          this.pos++;
          return new PdfRef(n, Number(g));
        }
      }
      this.pos = save;
    }
    return n;
  }

  private parseName(): PdfName {
    const b = this.buf;
    this.pos++;
    const s = this.pos;
    while (this.pos < b.length && isRegular(b[this.pos])) this.pos++;
    const raw = latin1(b, s, this.pos);
    if (!raw.includes('#')) return new PdfName(raw);
    const bytes: number[] = [];
    for (let i = 0; i < raw.length; i++) {
      if (raw[i] === '#' && /^[0-9a-fA-F]{2}$/.test(raw.slice(i + 1, i + 3))) {
        bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
        i += 2;
      } else bytes.push(raw.charCodeAt(i));
    }
    return new PdfName(Buffer.from(bytes).toString('latin1'));
  }

  private parseLiteralString(): PdfString {
    const b = this.buf;
    this.pos++;
    const out: number[] = [];
    let depth = 1;
    while (this.pos < b.length) {
      const c = b[this.pos++];
      if (c === 0x5c /* \ */) {
        const e = b[this.pos++];
        switch (e) {
          case 0x6e: out.push(10); break;
          case 0x72: out.push(13); break;
          case 0x74: out.push(9); break;
          case 0x62: out.push(8); break;
          case 0x66: out.push(12); break;
          case 0x0d:
            if (b[this.pos] === 0x0a) this.pos++;
            break;
          case 0x0a: break;
          default:
            if (e >= 0x30 && e <= 0x37) {
              let v = e - 0x30;
              for (let k = 0; k < 2 && b[this.pos] >= 0x30 && b[this.pos] <= 0x37; k++) v = v * 8 + (b[this.pos++] - 0x30);
              out.push(v & 0xff);
            } else out.push(e);
        }
        continue;
      }
      if (c === 0x28) depth++;
      else if (c === 0x29) {
        depth--;
        if (depth === 0) return new PdfString(Uint8Array.from(out), false);
      }
      out.push(c);
    }
    throw new PdfSyntaxError('unterminated string');
  }

  private parseHexString(): PdfString {
    const b = this.buf;
    this.pos++;
    const end = b.indexOf(0x3e, this.pos);
    if (end < 0) throw new PdfSyntaxError('unterminated hex string');
    let hex = latin1(b, this.pos, end).replace(/[\x00\t\n\f\r ]/g, '');
    this.pos = end + 1;
    if (!/^[0-9a-fA-F]*$/.test(hex)) throw new PdfSyntaxError('bad hex string');
    if (hex.length % 2) hex += '0';
    return new PdfString(Buffer.from(hex, 'hex'), true);
  }

  private parseDict(depth: number): PdfDict | PdfStream {
    const b = this.buf;
    this.pos += 2;
    const d = new PdfDict();
    for (;;) {
      this.skipWs();
      if (this.pos >= b.length) throw new PdfSyntaxError('unterminated dict');
      if (b[this.pos] === 0x3e && b[this.pos + 1] === 0x3e) {
        this.pos += 2;
        break;
      }
      const k = this.parseObject(depth + 1);
      if (!(k instanceof PdfName)) throw new PdfSyntaxError(`dict key is not a name at ${this.pos}`);
      this.skipWs();
      if (b[this.pos] === 0x3e && b[this.pos + 1] === 0x3e) {
        d.set(k.name, null);
        continue;
      }
      d.set(k.name, this.parseObject(depth + 1));
    }
    // stream?
    const save = this.pos;
    this.skipWs();
    if (this.peekKeyword('stream')) {
      this.pos += 6;
      if (b[this.pos] === 0x0d) this.pos++;
      if (b[this.pos] === 0x0a) this.pos++;
      const dataStart = this.pos;
      let len: number | undefined;
      const L = d.get('Length');
      if (typeof L === 'number') len = L;
      else if (L instanceof PdfRef && this.resolveLength) len = this.resolveLength(L);
      let dataEnd = -1;
      if (len !== undefined && len >= 0 && dataStart + len <= b.length) {
        const p = new Parser(b, dataStart + len);
        if (p.peekKeyword('endstream')) {
          dataEnd = dataStart + len;
          this.pos = p.pos + 9;
        }
      }
      if (dataEnd < 0) {
        this.budget?.tick(); // a scan to the end of the file: bounded by the time limit
        const idx = indexOfAscii(b, 'endstream', dataStart);
        if (idx < 0) throw new PdfSyntaxError('stream without endstream');
        dataEnd = idx;
        // Strip the EOL before endstream.
        if (b[dataEnd - 1] === 0x0a) dataEnd--;
        if (b[dataEnd - 1] === 0x0d) dataEnd--;
        this.pos = idx + 9;
      }
      return new PdfStream(d, b.subarray(dataStart, dataEnd), this.budget);
    }
    this.pos = save;
    return d;
  }

  /** Parses `num gen obj … endobj` at the current position. */
  parseIndirect(): { num: number; gen: number; obj: PdfObj } {
    this.skipWs();
    const num = Number(this.word());
    this.skipWs();
    const gen = Number(this.word());
    if (!Number.isInteger(num) || !Number.isInteger(gen)) throw new PdfSyntaxError(`no object at ${this.pos}`);
    this.expectKeyword('obj');
    const obj = this.parseObject();
    return { num, gen, obj };
  }
}

export function latin1(b: Uint8Array, s: number, e: number): string {
  // Tokens are short: building the string directly is several times cheaper than a Buffer view.
  if (e - s <= 32) {
    let out = '';
    for (let i = Math.max(0, s); i < e && i < b.length; i++) out += String.fromCharCode(b[i]);
    return out;
  }
  return Buffer.from(b.buffer, b.byteOffset + s, Math.max(0, e - s)).toString('latin1');
}

export function indexOfAscii(b: Uint8Array, needle: string, from = 0): number {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).indexOf(needle, from, 'latin1');
}

export function lastIndexOfAscii(b: Uint8Array, needle: string, from?: number): number {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).lastIndexOf(needle, from ?? b.length, 'latin1');
}
