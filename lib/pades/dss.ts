/**
 * The Document Security Store (B-LT validation data: /Certs, /CRLs, /OCSPs, /VRI) — reader and
 * writer in one place. Writing merges into an existing DSS and never shadows it: every earlier
 * entry is kept (an indirect array or VRI dictionary is updated under its own object number, so
 * whoever refers to it sees the merged list), ours is added, and the result is reachable from
 * /Root /DSS of the new revision.
 */
import crypto from 'node:crypto';
import { AppError } from '../errors';
import { IncrementalPdf, PdfDict, PdfDocument, PdfName, PdfRef, PdfStream, PdfString, decodeStream, type PdfObj } from '../pdf';
import type { RevocationMaterial } from '../pki';

const KINDS = ['Certs', 'CRLs', 'OCSPs'] as const;
type Kind = (typeof KINDS)[number];

const sha256 = (b: Uint8Array) => crypto.createHash('sha256').update(b).digest('hex');

export function dedupe(list: Uint8Array[]): Uint8Array[] {
  const seen = new Set<string>();
  return list.filter((x) => {
    const k = sha256(x);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function pdfDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `D:${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
}

// ------------------------------------------------------------------------------------------ read

export interface Dss {
  certs: Uint8Array[];
  crls: Uint8Array[];
  ocsps: Uint8Array[];
  /** VRI keys (uppercase hex SHA-1 of a signature's /Contents). */
  vri: string[];
  /** File offset of the newest DSS dictionary (its revision), for "document time-stamp after DSS". */
  offset: number;
}

function streams(doc: PdfDocument, o: PdfObj | undefined): Uint8Array[] {
  const arr = doc.resolve(o);
  if (!Array.isArray(arr)) return [];
  const out: Uint8Array[] = [];
  for (const r of arr) {
    const s = doc.resolve(r);
    if (!(s instanceof PdfStream)) continue;
    try {
      out.push(decodeStream(s));
    } catch {
      /* undecodable entry: skipped */
    }
  }
  return out;
}

function offsetOf(doc: PdfDocument, ref: PdfObj | undefined): number {
  const e = ref instanceof PdfRef ? doc.xref.get(ref.num) : undefined;
  if (e?.type === 1) return e.offset;
  if (e?.type === 2) {
    const se = doc.xref.get(e.stm);
    return se?.type === 1 ? se.offset : 0;
  }
  return 0;
}

/** The DSS of the newest revision, or undefined. */
export function readDss(doc: PdfDocument): Dss | undefined {
  const cat = doc.catalog();
  const ref = cat.get('DSS');
  const d = doc.dict(ref);
  if (!d) return undefined;
  // Inline in the catalog: the catalog's position.
  const offset = ref instanceof PdfRef ? offsetOf(doc, ref) : offsetOf(doc, doc.trailer.get('Root'));
  const vri = doc.dict(d.get('VRI'));
  return {
    certs: streams(doc, d.get('Certs')),
    crls: streams(doc, d.get('CRLs')),
    ocsps: streams(doc, d.get('OCSPs')),
    vri: vri ? [...vri.map.keys()].filter((k) => k !== 'Type') : [],
    offset,
  };
}

// ----------------------------------------------------------------------------------------- write

/** The VRI key of a signature: uppercase hex SHA-1 of its /Contents bytes. */
export function vriKey(contents: Uint8Array): string {
  return crypto.createHash('sha1').update(contents).digest('hex').toUpperCase();
}

/**
 * Adds validation data in one incremental update, merged into the existing DSS. Each item names the
 * signature /Contents it validates (its VRI entry).
 */
export function addDssRevision(w: IncrementalPdf, items: Array<{ contents: Uint8Array; material: RevocationMaterial }>, now = new Date()): void {
  const catalog = w.dict(w.rootRef);
  if (!catalog) throw new AppError('pdf_invalid', 'PDFのカタログを読み取れません。');
  const dssVal = catalog.get('DSS');
  const old = w.dict(dssVal)?.clone() ?? new PdfDict();
  const objects: Array<[PdfRef, PdfObj]> = [];
  const known = new Map<string, PdfRef>();
  const lists = {} as Record<Kind, PdfObj[]>;
  for (const k of KINDS) {
    const v = w.resolve(old.get(k));
    lists[k] = Array.isArray(v) ? [...v] : [];
    for (const r of lists[k]) {
      const s = w.resolve(r);
      if (r instanceof PdfRef && s instanceof PdfStream) {
        try {
          known.set(sha256(decodeStream(s)), r);
        } catch {
          /* undecodable: kept as it is, not reused */
        }
      }
    }
  }
  const refFor = (k: Kind, der: Uint8Array): PdfRef => {
    const hx = sha256(der);
    const have = known.get(hx);
    if (have) return have;
    const r = w.allocate();
    objects.push([r, new PdfStream(new PdfDict(), der)]);
    known.set(hx, r);
    lists[k].push(r);
    return r;
  };
  const vriVal = old.get('VRI');
  const vri = w.dict(vriVal)?.clone() ?? new PdfDict();
  for (const it of items) {
    const entry = new PdfDict([['Type', new PdfName('VRI')]]);
    const certs = dedupe(it.material.certs).map((d) => refFor('Certs', d));
    const crls = dedupe(it.material.crls).map((d) => refFor('CRLs', d));
    const ocsps = dedupe(it.material.ocsps).map((d) => refFor('OCSPs', d));
    if (certs.length) entry.set('Cert', certs);
    if (crls.length) entry.set('CRL', crls);
    if (ocsps.length) entry.set('OCSP', ocsps);
    entry.set('TU', PdfString.fromText(pdfDate(now)));
    vri.set(vriKey(it.contents), entry);
  }
  const dss = old.clone().set('Type', new PdfName('DSS'));
  // Indirect arrays / VRI stay indirect: updated under their own numbers.
  const place = (key: string, orig: PdfObj | undefined, value: PdfObj) => {
    if (orig instanceof PdfRef) {
      objects.push([new PdfRef(orig.num, w.genOf(orig.num)), value]);
      dss.set(key, orig);
    } else dss.set(key, value);
  };
  for (const k of KINDS) if (lists[k].length) place(k, old.get(k), lists[k]);
  place('VRI', vriVal, vri);
  const dssRef = dssVal instanceof PdfRef ? new PdfRef(dssVal.num, w.genOf(dssVal.num)) : w.allocate();
  objects.push([dssRef, dss]);
  if (!(dssVal instanceof PdfRef)) {
    const cat2 = catalog.clone().set('DSS', dssRef);
    // Declare the ETSI extension (ESIC level 1) for the DSS in pre-2.0 files.
    const ext = catalog.get('Extensions');
    if (w.doc.headerVersion < '2.0' && (ext === undefined || ext instanceof PdfDict) && !(ext as PdfDict | undefined)?.has('ESIC')) {
      const e2 = (ext as PdfDict | undefined)?.clone() ?? new PdfDict();
      e2.set('ESIC', new PdfDict([['Type', new PdfName('DeveloperExtensions')], ['BaseVersion', new PdfName('1.7')], ['ExtensionLevel', 1]]));
      cat2.set('Extensions', e2);
    }
    objects.push([new PdfRef(w.rootRef.num, w.genOf(w.rootRef.num)), cat2]);
  }
  w.append(objects);
}
