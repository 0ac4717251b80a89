/**
 * Read side of our PDF layer: cross-reference chain (classic tables, xref streams, hybrid files,
 * object streams, linearized files), object resolution, and the revision structure that the
 * PAdES verifier needs. Objects are parsed lazily; stream data stays a view of the input bytes.
 */
import { PdfBudget, PdfLimitError, currentPdfBudget } from './budget';
import { PdfDict, PdfName, PdfObj, PdfRef, PdfStream, PdfString } from './objects';
import { Parser, PdfSyntaxError, indexOfAscii, lastIndexOfAscii, latin1 } from './parser';
import { compressedEntries, misplacedObjects, scanObjects, sectionCandidates, type XrefRepair } from './repair';

export type XrefEntry =
  | { type: 0 }
  | { type: 1; offset: number; gen: number }
  | { type: 2; stm: number; idx: number };

/** One cross-reference section (= one revision; a linearized file's two sections are two entries). */
export interface XrefSection {
  offset: number;
  kind: 'table' | 'stream';
  trailer: PdfDict;
  entries: Map<number, XrefEntry>;
}

import { PdfFormatError } from './errors';
import { decodeStream } from './streams';

export { PdfFormatError, decodeStream };

export type { XrefRepair };

export class PdfDocument {
  /** Sections from newest (the file's startxref) to oldest, following /Prev. */
  readonly sections: XrefSection[] = [];
  /** Merged view of the newest state. */
  readonly xref = new Map<number, XrefEntry>();
  readonly headerVersion: string;
  readonly startxref: number;
  private objCache = new Map<string, PdfObj>();
  private stmCache = new Map<number, { offsets: number[]; data: Uint8Array; first: number }>();
  /** Limits for this file (see budget.ts): given, else the enclosing withPdfBudget's, else default caps. */
  readonly budget: PdfBudget;

  /** How the cross-reference data had to be repaired to read the file (undefined: read as written). */
  readonly repair?: XrefRepair;
  /** Offset of `%PDF-` (0 in a well-formed file). */
  readonly headerOffset: number;
  /**
   * Reads the cross-reference chain. A damaged but common file is repaired (see XrefRepair) unless
   * `strict`: then every deviation throws, as a strict reader would refuse it. Parsing stays within
   * the budget (see budget.ts): given, else the enclosing withPdfBudget's, else default caps.
   */
  constructor(
    readonly bytes: Uint8Array,
    opts: { budget?: PdfBudget; strict?: boolean } = {},
  ) {
    this.budget = opts.budget ?? currentPdfBudget() ?? new PdfBudget();
    const head = latin1(bytes, 0, Math.min(bytes.length, 1024));
    const m = /%PDF-(\d\.\d)/.exec(head);
    if (!m) throw new PdfFormatError('no %PDF header');
    this.headerVersion = m[1];
    this.headerOffset = m.index;
    if (opts.strict && m.index !== 0) throw new PdfFormatError(`data before the %PDF header (${m.index} bytes)`);
    const tailStart = Math.max(0, bytes.length - 2048);
    const eof = lastIndexOfAscii(bytes, '%%EOF');
    if (eof < 0 || eof < tailStart) throw new PdfFormatError('no %%EOF at the end');
    const sx = lastIndexOfAscii(bytes, 'startxref', eof);
    if (sx < 0) throw new PdfFormatError('no startxref');
    const off = new Parser(bytes, sx + 9, undefined, this.budget).parseObject();
    if (typeof off !== 'number' || !Number.isInteger(off) || off < 0) throw new PdfFormatError('bad startxref');
    let start = off;
    try {
      this.readChain(off);
    } catch (e) {
      if (opts.strict || e instanceof PdfLimitError) throw e;
      // startxref off by a few bytes (the sections themselves intact): look for a section nearby.
      const near = this.findSectionNear(off); // leaves that chain read
      if (near === undefined) throw e;
      start = near;
      this.repair = { kind: 'startxref', statedOffset: off, actualOffset: near };
    }
    this.startxref = start;
    const wrong = misplacedObjects(bytes, this.xref);
    if (wrong.length) {
      if (opts.strict) throw new PdfFormatError(`object ${wrong[0]} is not at its cross-reference offset`);
      if (this.headerOffset > 0 && misplacedObjects(bytes, this.xref, this.headerOffset).length === 0) {
        // Offsets counted from %PDF- instead of the file start (bytes were put before the header).
        this.repair = { kind: 'header_offset', headerOffset: this.headerOffset };
      } else {
        this.reconstruct();
        this.repair = { kind: 'reconstructed', misplaced: wrong.length };
      }
    }
  }

  private reset(): void {
    this.sections.length = 0;
    for (const m of [this.xref, this.objCache, this.stmCache]) m.clear();
  }

  private readChain(off: number): void {
    if (off <= 0 || off >= this.bytes.length) throw new PdfFormatError('bad startxref');
    const seen = new Set<number>();
    let next: number | undefined = off;
    while (next !== undefined) {
      if (seen.has(next) || seen.size > 10000) throw new PdfFormatError('xref loop');
      seen.add(next);
      const sec = this.readSection(next);
      this.sections.push(sec);
      const prev = sec.trailer.get('Prev');
      next = typeof prev === 'number' ? prev : undefined;
    }
    for (let i = this.sections.length - 1; i >= 0; i--) for (const [k, v] of this.sections[i].entries) this.xref.set(k, v);
  }

  /** A readable xref section within a few bytes of where startxref points. */
  private findSectionNear(stated: number): number | undefined {
    for (const c of sectionCandidates(this.bytes, stated, this.headerOffset)) {
      try {
        this.reset();
        this.readChain(c);
        return c;
      } catch (e) {
        if (e instanceof PdfLimitError) throw e;
        /* next candidate */
      }
    }
    this.reset();
    return undefined;
  }

  /** Rebuilds the cross-reference data from the objects found in the file (see scanObjects). */
  private reconstruct(): void {
    let scan: ReturnType<typeof scanObjects>;
    try {
      scan = scanObjects(this.bytes);
    } catch (e) {
      throw new PdfFormatError((e as Error).message);
    }
    this.reset();
    for (const [k, v] of scan.entries) this.xref.set(k, v);
    for (const [k, v] of compressedEntries(scan, (n) => this.getObject(n), decodeStream)) this.xref.set(k, v);
    this.sections.push({ offset: -1, kind: 'table', trailer: scan.trailer, entries: new Map(this.xref) });
  }

  get trailer(): PdfDict {
    return this.sections[0].trailer;
  }

  private readSection(offset: number): XrefSection {
    const b = this.bytes;
    const p = new Parser(b, offset, undefined, this.budget);
    p.skipWs();
    if (p.peekKeyword('xref')) {
      p.pos += 4;
      const entries = new Map<number, XrefEntry>();
      for (;;) {
        p.skipWs();
        if (p.peekKeyword('trailer')) {
          p.pos += 7;
          break;
        }
        const start = p.parseObject();
        const count = p.parseObject();
        if (typeof start !== 'number' || typeof count !== 'number') throw new PdfFormatError('bad xref subsection');
        for (let i = 0; i < count; i++) {
          p.skipWs();
          const line = latin1(b, p.pos, p.pos + 20);
          const mm = /^(\d{1,10})\s+(\d{1,5})\s+([nf])/.exec(line);
          if (!mm) throw new PdfFormatError('bad xref entry');
          p.pos += mm[0].length;
          const num = start + i;
          this.budget.addObject();
          if (!entries.has(num))
            entries.set(num, mm[3] === 'n' ? { type: 1, offset: Number(mm[1]), gen: Number(mm[2]) } : { type: 0 });
        }
      }
      const trailer = p.parseObject();
      if (!(trailer instanceof PdfDict)) throw new PdfFormatError('bad trailer');
      const xs = trailer.get('XRefStm');
      if (typeof xs === 'number') {
        // Hybrid file: the stream's entries fill in objects the table leaves free/absent.
        try {
          const hs = this.readXrefStream(xs);
          for (const [k, v] of hs.entries) {
            const cur = entries.get(k);
            if (!cur || cur.type === 0) entries.set(k, v);
          }
        } catch (e) {
          if (e instanceof PdfLimitError) throw e;
          /* tolerate a broken hybrid stream */
        }
      }
      return { offset, kind: 'table', trailer, entries };
    }
    return this.readXrefStream(offset);
  }

  private readXrefStream(offset: number): XrefSection {
    let ind;
    try {
      ind = new Parser(this.bytes, offset, undefined, this.budget).parseIndirect();
    } catch (e) {
      if (e instanceof PdfLimitError) throw e;
      throw new PdfFormatError(`no xref at ${offset}: ${(e as Error).message}`);
    }
    const s = ind.obj;
    if (!(s instanceof PdfStream) || s.dict.nameOf('Type') !== 'XRef') throw new PdfFormatError('not an xref stream');
    const W = s.dict.get('W');
    if (!Array.isArray(W) || W.length < 3 || !W.every((x) => typeof x === 'number')) throw new PdfFormatError('bad /W');
    const w = W as number[];
    const size = s.dict.get('Size');
    const index = s.dict.get('Index');
    const idx = Array.isArray(index) ? (index as number[]) : [0, typeof size === 'number' ? size : 0];
    const rowLen = w[0] + w[1] + w[2];
    // The rows are all this stream holds: inflating stops a little past them, so a stream padded to
    // gigabytes is refused after kilobytes. With a PNG predictor each line of /Columns bytes has one more
    // byte (at most twice the rows' size even for odd /Columns).
    let rows = 0;
    for (let k = 1; k < idx.length; k += 2) rows += typeof idx[k] === 'number' && idx[k] > 0 ? idx[k] : 0;
    const dp = s.dict.get('DecodeParms');
    const parms = Array.isArray(dp) ? dp[dp.length - 1] : dp;
    const pred = parms instanceof PdfDict ? parms.get('Predictor') : undefined;
    const perRow = typeof pred === 'number' && pred >= 10 ? 2 * rowLen + 1 : rowLen;
    const data = decodeStream(s, undefined, { maxBytes: rows * perRow + 64 * 1024 });
    const entries = new Map<number, XrefEntry>();
    let pos = 0;
    const rd = (n: number) => {
      let v = 0;
      for (let i = 0; i < n; i++) v = v * 256 + data[pos++];
      return v;
    };
    for (let k = 0; k + 1 < idx.length; k += 2) {
      const start = idx[k], count = idx[k + 1];
      for (let i = 0; i < count; i++) {
        if (pos + rowLen > data.length) throw new PdfFormatError('xref stream too short');
        const t = w[0] === 0 ? 1 : rd(w[0]);
        const f2 = rd(w[1]);
        const f3 = rd(w[2]);
        const num = start + i;
        this.budget.addObject();
        if (entries.has(num)) continue;
        if (t === 1) entries.set(num, { type: 1, offset: f2, gen: f3 });
        else if (t === 2) entries.set(num, { type: 2, stm: f2, idx: f3 });
        else entries.set(num, { type: 0 });
      }
    }
    return { offset, kind: 'stream', trailer: s.dict, entries };
  }

  /** Resolves an object by number in the newest state (or in a given merged xref view). */
  getObject(num: number, view: Map<number, XrefEntry> = this.xref): PdfObj {
    const e = view.get(num);
    if (!e || e.type === 0) return null;
    return this.loadEntry(num, e, view);
  }

  loadEntry(num: number, e: XrefEntry, view: Map<number, XrefEntry> = this.xref): PdfObj {
    if (e.type === 0) return null;
    const key = e.type === 1 ? `o${e.offset}` : `s${e.stm}:${e.idx}:${entryKey(view.get(e.stm))}`;
    if (this.objCache.has(key)) return this.objCache.get(key)!;
    let obj: PdfObj;
    if (e.type === 1) {
      const p = new Parser(
        this.bytes,
        e.offset,
        (r) => {
          const v = this.getObject(r.num, view);
          return typeof v === 'number' ? v : undefined;
        },
        this.budget,
      );
      const ind = p.parseIndirect();
      if (ind.num !== num) throw new PdfFormatError(`object ${num} not at its offset`);
      obj = ind.obj;
    } else {
      const stmEntry = view.get(e.stm);
      if (!stmEntry || stmEntry.type !== 1) throw new PdfFormatError('object stream missing');
      let st = this.stmCache.get(stmEntry.offset);
      if (!st) {
        const s = this.loadEntry(e.stm, stmEntry, view);
        if (!(s instanceof PdfStream)) throw new PdfFormatError('bad object stream');
        const data = decodeStream(s);
        const n = s.dict.get('N');
        const first = s.dict.get('First');
        if (typeof n !== 'number' || typeof first !== 'number') throw new PdfFormatError('bad object stream header');
        const hp = new Parser(data, 0, undefined, this.budget);
        const offsets: number[] = [];
        for (let i = 0; i < n; i++) {
          hp.parseObject();
          offsets.push(hp.parseObject() as number);
        }
        st = { offsets, data, first };
        this.stmCache.set(stmEntry.offset, st);
      }
      const o = st.offsets[e.idx];
      if (o === undefined) throw new PdfFormatError('object stream index out of range');
      obj = new Parser(st.data, st.first + o, undefined, this.budget).parseObject();
    }
    this.objCache.set(key, obj);
    return obj;
  }

  resolve(o: PdfObj | undefined, view: Map<number, XrefEntry> = this.xref): PdfObj | undefined {
    let cur = o;
    for (let i = 0; i < 32 && cur instanceof PdfRef; i++) cur = this.getObject(cur.num, view);
    return cur;
  }

  dict(o: PdfObj | undefined, view?: Map<number, XrefEntry>): PdfDict | undefined {
    const r = this.resolve(o, view);
    return r instanceof PdfDict ? r : r instanceof PdfStream ? r.dict : undefined;
  }

  catalog(view?: Map<number, XrefEntry>): PdfDict {
    const c = this.dict(this.trailer.get('Root'), view);
    if (!c) throw new PdfFormatError('no catalog');
    return c;
  }

  /** Highest object number in use + 1 (at least the trailer's /Size). */
  nextObjectNumber(): number {
    let n = 0;
    for (const s of this.sections) {
      const sz = s.trailer.get('Size');
      if (typeof sz === 'number') n = Math.max(n, sz);
    }
    for (const k of this.xref.keys()) n = Math.max(n, k + 1);
    return n;
  }

  /** The first page's reference (walks /Pages /Kids). */
  firstPageRef(): PdfRef | undefined {
    let node: PdfObj | undefined = this.catalog().get('Pages');
    for (let depth = 0; depth < 64; depth++) {
      const d = this.dict(node);
      if (!d) return undefined;
      if (d.nameOf('Type') === 'Page' || !d.has('Kids')) return node instanceof PdfRef ? node : undefined;
      const kids = this.resolve(d.get('Kids'));
      if (!Array.isArray(kids) || kids.length === 0) return undefined;
      node = kids[0];
    }
    return undefined;
  }

  /** Counts leaf pages by walking the tree (robust against a wrong /Count). */
  countPages(): number {
    let count = 0;
    const seen = new Set<string>();
    const walk = (node: PdfObj | undefined, depth: number) => {
      if (depth > 64) throw new PdfFormatError('page tree too deep');
      if (node instanceof PdfRef) {
        if (seen.has(node.key())) throw new PdfFormatError('page tree loop');
        seen.add(node.key());
      }
      const d = this.dict(node);
      if (!d) throw new PdfFormatError('broken page tree');
      const kids = this.resolve(d.get('Kids'));
      if (d.nameOf('Type') === 'Page' || !Array.isArray(kids)) {
        count++;
        return;
      }
      for (const k of kids) walk(k, depth + 1);
    };
    walk(this.catalog().get('Pages'), 0);
    return count;
  }

  /** All terminal signature fields (FT /Sig) with their value dictionaries. */
  signatureFields(): Array<{ fieldRef?: PdfRef; field: PdfDict; valueRef?: PdfRef; value?: PdfDict; name: string }> {
    const out: Array<{ fieldRef?: PdfRef; field: PdfDict; valueRef?: PdfRef; value?: PdfDict; name: string }> = [];
    const af = this.dict(this.catalog().get('AcroForm'));
    if (!af) return out;
    const fields = this.resolve(af.get('Fields'));
    if (!Array.isArray(fields)) return out;
    const seen = new Set<string>();
    const walk = (ref: PdfObj, inheritedFT: string | undefined, prefix: string, depth: number) => {
      if (depth > 32) return;
      if (ref instanceof PdfRef) {
        if (seen.has(ref.key())) return;
        seen.add(ref.key());
      }
      const f = this.dict(ref);
      if (!f) return;
      const ft = f.nameOf('FT') ?? inheritedFT;
      const t = f.get('T');
      const nm = t instanceof PdfString ? (prefix ? `${prefix}.` : '') + t.text() : prefix;
      const kids = this.resolve(f.get('Kids'));
      if (Array.isArray(kids) && kids.some((k) => this.dict(k)?.has('T'))) {
        for (const k of kids) walk(k, ft, nm, depth + 1);
        return;
      }
      if (ft !== 'Sig') return;
      this.budget.checkSignatureFields(out.length + 1);
      const v = f.get('V');
      out.push({
        fieldRef: ref instanceof PdfRef ? ref : undefined,
        field: f,
        valueRef: v instanceof PdfRef ? v : undefined,
        value: this.dict(v),
        name: nm,
      });
    };
    for (const f of fields) walk(f, undefined, '', 0);
    return out;
  }

  /** Merged xref view of the state made of sections whose xref starts before `end` (oldest→newest). */
  viewBefore(end: number): Map<number, XrefEntry> {
    const m = new Map<number, XrefEntry>();
    for (let i = this.sections.length - 1; i >= 0; i--) {
      if (this.sections[i].offset >= end) continue;
      for (const [k, v] of this.sections[i].entries) m.set(k, v);
    }
    return m;
  }
}

function entryKey(e: XrefEntry | undefined): string {
  return e && e.type === 1 ? String(e.offset) : '?';
}

export { PdfSyntaxError, indexOfAscii };
