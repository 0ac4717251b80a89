/**
 * Modification analysis: what the revisions after a signature changed. A DSS (+VRI) and document
 * time-stamps are always acceptable. Another signature is acceptable after an ordinary approval
 * signature, but not after a seal — a signature declaring "no changes" (P = 1 in its field's /Lock,
 * or a DocMDP / FieldMDP reference); ISO 32000-2 exempts exactly DSS and document time-stamps from P 1.
 */
import { PdfDict, PdfDocument, PdfRef, PdfStream, serialize, type PdfObj, type XrefEntry } from '../../pdf';
import type { Issue } from './checks';

export type Change = 'dss' | 'doc_timestamp' | 'signature' | 'structure';

const eq = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

function sameObj(a: PdfObj | undefined, b: PdfObj | undefined): boolean {
  if (a instanceof PdfStream || b instanceof PdfStream) {
    if (!(a instanceof PdfStream) || !(b instanceof PdfStream)) return false;
    return serialize(a.dict) === serialize(b.dict) && eq(a.raw, b.raw);
  }
  return (a === undefined ? 'undefined' : serialize(a)) === (b === undefined ? 'undefined' : serialize(b));
}

function dictEqualExcept(a: PdfDict, b: PdfDict, except: string[]): boolean {
  const keys = new Set([...a.map.keys(), ...b.map.keys()]);
  for (const k of keys) if (!except.includes(k) && !sameObj(a.get(k), b.get(k))) return false;
  return true;
}

export interface ChangeAnalysis {
  kinds: Set<Change>;
  /** Disallowed changes. */
  bad: Issue[];
}

/** Classifies every object written in the revisions after `end` (the end of the signed revision). */
export function analyseChanges(doc: PdfDocument, end: number, locked = false): ChangeAnalysis {
  const kinds = new Set<Change>();
  const bad: Issue[] = [];
  const badKeys = new Set<string>();
  const no = (code: Issue['code'], params?: Issue['params']) => {
    const k = `${code}:${JSON.stringify(params ?? {})}`;
    if (!badKeys.has(k)) (badKeys.add(k), bad.push(params ? { code, params } : { code }));
  };
  const later = doc.sections.filter((s) => s.offset >= end).reverse(); // oldest first
  if (!later.length) return { kinds, bad };
  const view = doc.viewBefore(end);
  const before = doc.sections.filter((s) => s.offset < end)[0];
  const origRoot = before?.trailer.get('Root');
  for (const sec of later) {
    const prev = new Map(view);
    for (const [k, v] of sec.entries) view.set(k, v);
    const r = sec.trailer.get('Root');
    if (!(r instanceof PdfRef) || !(origRoot instanceof PdfRef) || r.num !== origRoot.num) no('change.catalog_replaced');
    if (locked) {
      const ni = sec.trailer.get('Info');
      if (ni !== undefined && !sameObj(before?.trailer.get('Info'), ni)) no('change.info_replaced');
    }
    const isSigField = (o: PdfObj | undefined) => doc.dict(o, view)?.nameOf('FT') === 'Sig';
    const fieldKind = (o: PdfObj | undefined): Change => {
      const d = doc.dict(o, view);
      const v = d ? doc.dict(d.get('V'), view) : undefined;
      return v?.nameOf('Type') === 'DocTimeStamp' || v?.nameOf('SubFilter') === 'ETSI.RFC3161' ? 'doc_timestamp' : 'signature';
    };
    const appendOnlySigFields = (a: PdfObj | undefined, b: PdfObj | undefined, pv: Map<number, XrefEntry>): boolean => {
      const aa = doc.resolve(a, pv);
      const bb = doc.resolve(b, view);
      const oldArr = Array.isArray(aa) ? aa : [];
      if (!Array.isArray(bb)) return aa === undefined && b === undefined;
      if (bb.length < oldArr.length) return false;
      for (let i = 0; i < oldArr.length; i++) if (!sameObj(oldArr[i], bb[i])) return false;
      for (const x of bb.slice(oldArr.length)) {
        if (!isSigField(x)) return false;
        kinds.add(fieldKind(x));
      }
      return true;
    };
    // Objects the new DSS refers to directly (indirect /Certs, /CRLs, /OCSPs arrays and /VRI).
    const dssParts = new Set<number>();
    try {
      const dss = doc.dict(doc.dict(r, view)?.get('DSS'), view);
      for (const k of ['Certs', 'CRLs', 'OCSPs', 'VRI']) {
        const v = dss?.get(k);
        if (v instanceof PdfRef) dssParts.add(v.num);
      }
    } catch {
      /* no readable DSS */
    }
    for (const [num, e] of sec.entries) {
      const pe = prev.get(num);
      const existed = pe !== undefined && pe.type !== 0;
      if (e.type === 0) {
        if (existed) no('change.object_deleted', { num });
        continue;
      }
      let nv: PdfObj;
      try {
        nv = doc.loadEntry(num, e, view);
      } catch {
        no('change.object_unreadable', { num });
        continue;
      }
      if (nv instanceof PdfStream && ['XRef', 'ObjStm'].includes(nv.dict.nameOf('Type') ?? '')) {
        kinds.add('structure');
        continue;
      }
      if (!existed) continue; // new objects matter only through changed existing objects
      let ov: PdfObj;
      try {
        ov = doc.loadEntry(num, pe, prev);
      } catch {
        ov = null;
      }
      if (sameObj(ov, nv)) continue;
      const od = ov instanceof PdfDict ? ov : undefined;
      const nd = nv instanceof PdfDict ? nv : undefined;
      if (origRoot instanceof PdfRef && num === origRoot.num && od && nd) {
        if (!dictEqualExcept(od, nd, ['DSS', 'AcroForm', 'Extensions'])) {
          no('change.catalog_changed');
          continue;
        }
        if (!sameObj(od.get('DSS'), nd.get('DSS'))) kinds.add('dss');
        if (!sameObj(od.get('AcroForm'), nd.get('AcroForm'))) {
          const oa = doc.dict(od.get('AcroForm'), prev);
          const na = doc.dict(nd.get('AcroForm'), view);
          if (!na || (oa && !dictEqualExcept(oa, na, ['Fields', 'SigFlags'])) || !appendOnlySigFields(oa?.get('Fields'), na.get('Fields'), prev))
            no('change.acroform');
        }
        continue;
      }
      if (dssParts.has(num) || (od && nd && (od.nameOf('Type') === 'DSS' || od.nameOf('Type') === 'VRI'))) {
        kinds.add('dss');
        continue;
      }
      if (od && nd && (od.has('Fields') || nd.has('SigFlags')) && !od.has('Type')) {
        if (!dictEqualExcept(od, nd, ['Fields', 'SigFlags']) || !appendOnlySigFields(od.get('Fields'), nd.get('Fields'), prev)) no('change.acroform');
        continue;
      }
      if (od && nd && od.nameOf('Type') === 'Page') {
        if (!dictEqualExcept(od, nd, ['Annots']) || !appendOnlySigFields(od.get('Annots'), nd.get('Annots'), prev)) no('change.page');
        continue;
      }
      if (od && nd && od.nameOf('FT') === 'Sig' && !od.has('V') && nd.has('V')) {
        if (!dictEqualExcept(od, nd, ['V', 'AP', 'F'])) no('change.sig_field');
        else kinds.add(fieldKind(new PdfRef(num, e.type === 1 ? e.gen : 0)));
        continue;
      }
      if (Array.isArray(ov) && Array.isArray(nv)) {
        // An Annots or Fields array stored as its own object.
        if (!appendOnlySigFields(ov, nv, prev)) no('change.array', { num });
        continue;
      }
      const type = od?.nameOf('Type');
      if (type) no('change.object_typed', { num, type });
      else no('change.object', { num });
    }
  }
  if (locked && kinds.has('signature')) no('change.signature_after_seal');
  return { kinds, bad };
}
