/**
 * Reading damaged-but-common files (see XrefRepair in ./document): where a cross-reference section
 * may really start when startxref is a few bytes off, which objects are not where the xref says, and
 * a scan of the whole file for `num gen obj` when the offsets are wrong.
 */
import type { XrefEntry } from './document';
import { PdfDict, PdfStream, type PdfObj } from './objects';

/**
 * How a damaged file's cross-reference data was read:
 * - 'startxref': startxref points a few bytes off an intact section (only that number is wrong);
 * - 'header_offset': every offset counts from %PDF- instead of the file start (bytes were put before it);
 * - 'reconstructed': the offsets are wrong; objects were found by scanning the file.
 */
export type XrefRepair =
  | { kind: 'startxref'; statedOffset: number; actualOffset: number }
  | { kind: 'header_offset'; headerOffset: number }
  | { kind: 'reconstructed'; misplaced: number };
import { Parser, latin1 } from './parser';

/** Offsets near `stated` (±64 bytes, and shifted by a stray header prefix) where a section may start, nearest first. */
export function sectionCandidates(bytes: Uint8Array, stated: number, headerOffset: number): number[] {
  const out = new Set<number>();
  const lo = Math.max(0, stated - 64);
  for (const m of latin1(bytes, lo, Math.min(bytes.length, stated + 64)).matchAll(/xref|\d+\s+\d+\s+obj/g)) out.add(lo + m.index);
  // A stray prefix before the header shifts every offset, startxref's too.
  if (headerOffset > 0 && headerOffset <= 1024) {
    const at = stated + headerOffset;
    for (const m of latin1(bytes, at, Math.min(bytes.length, at + 16)).matchAll(/xref|\d+\s+\d+\s+obj/g)) out.add(at + m.index);
  }
  return [...out].sort((a, b) => Math.abs(a - stated) - Math.abs(b - stated));
}

/** Object numbers whose uncompressed entry (plus `shift`) does not point at `num gen obj` (at most 17). */
export function misplacedObjects(bytes: Uint8Array, xref: Map<number, XrefEntry>, shift = 0): number[] {
  const out: number[] = [];
  for (const [num, e] of xref) {
    if (e.type !== 1) continue;
    const at = e.offset + shift;
    const m = /^\s*(\d+)\s+(\d+)\s+obj/.exec(latin1(bytes, at, Math.min(bytes.length, at + 40)));
    if (!m || Number(m[1]) !== num) out.push(num);
    if (out.length > 16) break;
  }
  return out;
}

/**
 * Every `num gen obj` in the file (the last definition of a number wins), the object streams among
 * them, and the newest trailer (an xref stream's dictionary with /Root, else the last `trailer`).
 */
export function scanObjects(bytes: Uint8Array): { entries: Map<number, XrefEntry>; objectStreams: number[]; trailer: PdfDict } {
  const text = latin1(bytes, 0, bytes.length);
  const entries = new Map<number, XrefEntry>();
  const objectStreams: number[] = [];
  let trailer: PdfDict | undefined;
  const re = /(?:^|[\r\n\s])(\d{1,10})\s+(\d{1,5})\s+obj\b/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const at = m.index + m[0].length - m[0].trimStart().length;
    const num = Number(m[1]);
    entries.set(num, { type: 1, offset: at, gen: Number(m[2]) });
    const head = text.slice(at, at + 200);
    if (/\/Type\s*\/ObjStm/.test(head)) objectStreams.push(num);
    if (/\/Type\s*\/XRef/.test(head)) {
      try {
        const x = new Parser(bytes, at).parseIndirect().obj;
        if (x instanceof PdfStream && x.dict.has('Root')) trailer = x.dict;
      } catch {
        /* unreadable xref stream */
      }
    }
  }
  for (let t = text.lastIndexOf('trailer'); t >= 0 && !trailer; t = text.lastIndexOf('trailer', t - 1)) {
    try {
      const d = new Parser(bytes, t + 7).parseObject();
      if (d instanceof PdfDict && d.has('Root')) trailer = d;
    } catch {
      /* keep looking */
    }
  }
  if (!trailer) throw new Error('no trailer to rebuild the cross-reference data from');
  const keep = new PdfDict([...trailer.map].filter(([k]) => ['Root', 'Info', 'ID', 'Size'].includes(k)));
  return { entries, objectStreams, trailer: keep };
}

/** Entries for the objects inside the scanned object streams (objects defined on their own win). */
export function compressedEntries(
  scan: ReturnType<typeof scanObjects>,
  load: (num: number) => PdfObj,
  decode: (s: PdfStream) => Uint8Array,
): Map<number, XrefEntry> {
  const out = new Map<number, XrefEntry>();
  for (const stm of scan.objectStreams) {
    try {
      const s = load(stm);
      const n = s instanceof PdfStream ? s.dict.get('N') : undefined;
      if (!(s instanceof PdfStream) || typeof n !== 'number') continue;
      const hp = new Parser(decode(s), 0);
      for (let i = 0; i < n; i++) {
        const num = hp.parseObject() as number;
        hp.parseObject();
        if (!scan.entries.has(num)) out.set(num, { type: 2, stm, idx: i });
      }
    } catch {
      /* unreadable object stream */
    }
  }
  return out;
}
