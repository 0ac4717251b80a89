/**
 * A minimal PDF object model (ISO 32000-2 §7.3) used by our parser and incremental writer.
 * Only what sealing and verification need: we never rewrite a whole file.
 */
import type { PdfBudget } from './budget';

export class PdfName {
  constructor(readonly name: string) {}
}

export class PdfRef {
  constructor(
    readonly num: number,
    readonly gen: number,
  ) {}
  key(): string {
    return `${this.num} ${this.gen}`;
  }
}

export class PdfString {
  /** `bytes` are the decoded string bytes; `hex` remembers the original form. */
  constructor(
    readonly bytes: Uint8Array,
    readonly hex = false,
  ) {}
  /** Text string: UTF-16BE with BOM, UTF-8 with BOM, else PDFDocEncoding (approximated as latin1). */
  text(): string {
    const b = this.bytes;
    if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) {
      const sw = Buffer.from(b.subarray(2));
      if (sw.length % 2) return '';
      sw.swap16();
      return sw.toString('utf16le');
    }
    if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return Buffer.from(b.subarray(3)).toString('utf8');
    return Buffer.from(b).toString('latin1');
  }
  /** Encode a JS string as a PDF text string (ASCII stays literal; anything else UTF-16BE with BOM, hex). */
  static fromText(s: string): PdfString {
    if (/^[\x20-\x7e]*$/.test(s)) return new PdfString(Buffer.from(s, 'latin1'));
    const le = Buffer.from(s, 'utf16le');
    le.swap16();
    return new PdfString(Buffer.concat([Buffer.from([0xfe, 0xff]), le]), true);
  }
}

export class PdfDict {
  readonly map: Map<string, PdfObj>;
  constructor(entries?: Iterable<[string, PdfObj]>) {
    this.map = new Map(entries ?? []);
  }
  get(key: string): PdfObj | undefined {
    return this.map.get(key);
  }
  set(key: string, v: PdfObj): this {
    this.map.set(key, v);
    return this;
  }
  has(key: string): boolean {
    return this.map.has(key);
  }
  delete(key: string): void {
    this.map.delete(key);
  }
  clone(): PdfDict {
    return new PdfDict(this.map);
  }
  nameOf(key: string): string | undefined {
    const v = this.map.get(key);
    return v instanceof PdfName ? v.name : undefined;
  }
}

/** A stream: either a slice of the source file (`source` offsets) or new data to write. */
export class PdfStream {
  constructor(
    readonly dict: PdfDict,
    /** Raw (still encoded) stream bytes. For parsed streams a subarray of the file (no copy). */
    readonly raw: Uint8Array,
    /** The parsing budget of the document this stream was read from (decodeStream charges it). */
    readonly budget?: PdfBudget,
  ) {}
}

/** Pre-serialized PDF syntax, written verbatim (used for placeholders with known byte positions). */
export class PdfRaw {
  constructor(readonly text: string) {}
}

export type PdfObj = null | boolean | number | PdfName | PdfRef | PdfString | PdfObj[] | PdfDict | PdfStream | PdfRaw;

export const name = (n: string) => new PdfName(n);

export function isDict(o: PdfObj | undefined): o is PdfDict {
  return o instanceof PdfDict;
}
