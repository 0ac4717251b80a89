/**
 * The embedded signatures of a PDF as PDF structure: each filled signature field with its signature
 * dictionary, /ByteRange, /Contents, the revision it covers and the permission it declares. Shared by
 * upload inspection (locks), sealing (the newest signature / document time-stamp) and the verifier.
 */
import { PdfDocument, type XrefEntry } from './document';
import { PdfDict, PdfRef, PdfString } from './objects';
import { Parser } from './parser';

export interface EmbeddedSignature {
  /** Fully qualified field name. */
  fieldName: string;
  fieldRef?: PdfRef;
  field: PdfDict;
  valueRef?: PdfRef;
  value: PdfDict;
  kind: 'signature' | 'doc_timestamp';
  subFilter?: string;
  /** The four /ByteRange numbers, or [] when malformed. */
  byteRange: number[];
  /** Decoded /Contents (DER + zero padding); empty when missing. */
  contents: Uint8Array;
  /** End of the covered revision (ByteRange c + d), 0 when malformed. */
  coveredEnd: number;
}

function byteRangeOf(v: PdfDict): number[] {
  const brv = v.get('ByteRange');
  return Array.isArray(brv) && brv.length === 4 && brv.every((x) => typeof x === 'number') ? (brv as number[]) : [];
}

/** Filled signature fields (with a /Contents string), oldest coverage first. */
export function embeddedSignatures(doc: PdfDocument): EmbeddedSignature[] {
  const out: EmbeddedSignature[] = [];
  for (const f of doc.signatureFields()) {
    const v = f.value;
    if (!v) continue;
    const c = v.get('Contents');
    const br = byteRangeOf(v);
    const subFilter = v.nameOf('SubFilter');
    out.push({
      fieldName: f.name,
      fieldRef: f.fieldRef,
      field: f.field,
      valueRef: f.valueRef,
      value: v,
      kind: v.nameOf('Type') === 'DocTimeStamp' || subFilter === 'ETSI.RFC3161' ? 'doc_timestamp' : 'signature',
      subFilter,
      byteRange: br,
      contents: c instanceof PdfString ? c.bytes : new Uint8Array(0),
      coveredEnd: br.length === 4 ? br[2] + br[3] : 0,
    });
  }
  return out.sort((a, b) => a.coveredEnd - b.coveredEnd);
}

/** The newest signed field (highest coverage), optionally of one kind. */
export function newestSignature(doc: PdfDocument, kind?: EmbeddedSignature['kind']): EmbeddedSignature | undefined {
  const all = embeddedSignatures(doc).filter((s) => s.contents.length && (!kind || s.kind === kind));
  return all[all.length - 1];
}

/** What a signature forbids after it: 'lock' (field /Lock or FieldMDP /P 1), 'docmdp' (DocMDP /P 1), 'fieldmdp' (all fields locked). */
export type LockKind = 'lock' | 'docmdp' | 'fieldmdp';

export interface DeclaredPermissions {
  /** Lowest access permission declared (1 = no changes, 2 = forms and signing, 3 = also annotations). */
  p?: number;
  locks: LockKind[];
}

/**
 * The permissions a signature declares: its field's /Lock dictionary and its DocMDP / FieldMDP
 * /Reference entries, read in `view` (the revisions it covers, or the newest state).
 */
export function declaredPermissions(doc: PdfDocument, s: Pick<EmbeddedSignature, 'field' | 'fieldRef' | 'value' | 'valueRef'>, view?: Map<number, XrefEntry>): DeclaredPermissions {
  const ps: number[] = [];
  const locks = new Set<LockKind>();
  const num = (o: unknown) => (typeof o === 'number' && Number.isInteger(o) && o >= 1 && o <= 3 ? o : undefined);
  const read = (fn: () => void) => {
    try {
      fn();
    } catch {
      /* an unreadable part declares nothing */
    }
  };
  read(() => {
    const f = (s.fieldRef ? doc.dict(s.fieldRef, view) : undefined) ?? (view ? undefined : s.field);
    const l = f ? doc.dict(f.get('Lock'), view) : undefined;
    if (!l) return;
    const p = num(l.get('P'));
    if (p !== undefined) ps.push(p);
    if (p === 1) locks.add('lock');
    else if (l.nameOf('Action') === 'All') locks.add('fieldmdp');
  });
  read(() => {
    const v = (s.valueRef ? doc.dict(s.valueRef, view) : undefined) ?? s.value;
    const refs = doc.resolve(v.get('Reference'), view);
    if (!Array.isArray(refs)) return;
    for (const r of refs) {
      const sr = doc.dict(r, view);
      const tm = sr?.nameOf('TransformMethod');
      const tp = sr ? doc.dict(sr.get('TransformParams'), view) : undefined;
      if (tm === 'DocMDP') {
        const p = num(tp?.get('P')) ?? 2;
        ps.push(p);
        if (p === 1) locks.add('docmdp');
      } else if (tm === 'FieldMDP') {
        const p = num(tp?.get('P'));
        if (p !== undefined) ps.push(p);
        if (p === 1) locks.add('lock');
        else if (tp?.nameOf('Action') === 'All') locks.add('fieldmdp');
      }
    }
  });
  return { p: ps.length ? Math.min(...ps) : undefined, locks: [...locks] };
}

/** The permissions as signed (the covered revisions) merged with the current ones: a later update cannot lift a lock. */
export function effectivePermissions(doc: PdfDocument, s: EmbeddedSignature): DeclaredPermissions {
  const now = declaredPermissions(doc, s);
  const then = s.coveredEnd ? declaredPermissions(doc, s, doc.viewBefore(s.coveredEnd)) : { locks: [] };
  const ps = [now.p, then.p].filter((x): x is number => x !== undefined);
  return { p: ps.length ? Math.min(...ps) : undefined, locks: [...new Set([...now.locks, ...then.locks])] };
}

/**
 * True when the object holding the signature dictionary (the /V object, or the field for an inline
 * /V) is an uncompressed object whose own bytes contain the /Contents gap: then its other entries
 * (/Reason, /M, /ByteRange …) are inside the signed range and cannot be swapped by a later update.
 */
export function dictionaryHoldsGap(doc: PdfDocument, s: EmbeddedSignature): boolean {
  const br = s.byteRange;
  const holder = s.valueRef ?? s.fieldRef;
  const e = holder ? doc.xref.get(holder.num) : undefined;
  if (!holder || !e || e.type !== 1 || br.length !== 4 || e.offset >= br[1]) return false;
  try {
    const p = new Parser(doc.bytes, e.offset);
    const ind = p.parseIndirect();
    return ind.num === holder.num && br[2] <= p.pos;
  } catch {
    return false;
  }
}

/** Whether the signature's field object already existed in the revisions its ByteRange covers. */
export function fieldExistedWhenSigned(doc: PdfDocument, s: EmbeddedSignature): boolean {
  if (!s.fieldRef || !s.coveredEnd) return false;
  const then = doc.viewBefore(s.coveredEnd).get(s.fieldRef.num);
  return !!then && then.type !== 0;
}
