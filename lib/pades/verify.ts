/**
 * PAdES verifier: for every signature and document timestamp it checks the ByteRange, the digest,
 * the CMS signature, the certificate chain to our trust anchors, the signature timestamp, the DSS
 * revocation data, and what changed in later revisions. It reports the PAdES level (B-B/B-T/B-LT/B-LTA)
 * and an overall verdict with Japanese messages. Crypto runs on node:crypto; pkijs/asn1js only parse.
 *
 * Changes after a signature: DSS (+VRI) and document timestamps are always acceptable. A further
 * signature is acceptable only after an ordinary approval signature (e.g. someone else's signature
 * on an uploaded file, before our seal). After a *seal* — a signature that declares "no changes"
 * (access permission P = 1: our seals write it in the field's /Lock dictionary, ISO 32000-2 §12.7.5.5;
 * a DocMDP or FieldMDP /Reference with P 1 counts too) — only DSS and document timestamps are
 * acceptable (ISO 32000-2 §12.8.2.2.2 exempts exactly those from P 1); anything else, including a new
 * signature, makes the seal's modification check fail.
 */
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { getConfig } from '../config';
import { getKeyProvider, pemToDerAll } from '../pki';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { Parser, PdfDict, PdfDocument, PdfName, PdfObj, PdfRef, PdfStream, PdfString, decodeStream, serialize, type XrefEntry } from '../pdf';
import {
  OID,
  HASH_BY_OID,
  attrValue,
  certDer,
  checkSignerInfo,
  checkTimestampToken,
  findSignerCert,
  parseSignedData,
  toAB,
  type ParsedTimestamp,
} from './cms';

export type PadesLevel = 'B-B' | 'B-T' | 'B-LT' | 'B-LTA';

export interface Check {
  ok: boolean;
  message: string;
}

export interface CertSummary {
  subject: string;
  issuer: string;
  serialNumber: string;
  validFrom: string;
  validTo: string;
}

export interface SignatureReport {
  index: number;
  fieldName: string;
  kind: 'signature' | 'doc_timestamp';
  subFilter?: string;
  signer?: CertSummary;
  /** /M (claimed signing time), ISO 8601. */
  claimedSigningTime?: string;
  /** Time from the signature timestamp (or the document timestamp's genTime). */
  timestampTime?: string;
  reason?: string;
  name?: string;
  location?: string;
  byteRange?: number[];
  /** True when this signature/timestamp covers the file to its last byte. */
  coversWholeFile: boolean;
  checks: {
    byteRange: Check;
    integrity: Check;
    signature: Check;
    certificate: Check;
    timestamp?: Check;
    revocation?: Check;
    modifications: Check;
    pades?: Check;
  };
  level: PadesLevel | null;
  valid: boolean;
  problems: string[];
  /** Later changes, e.g. 「DSS（検証情報）の追加」. */
  changesAfter: string[];
  /** True when the signature forbids later changes (a seal: P = 1); then only DSS and document timestamps may follow. */
  locked: boolean;
}

export interface VerificationReport {
  valid: boolean;
  /** One-line Japanese summary. */
  summary: string;
  /** The PAdES level of the newest approval signature (the seal). */
  level: PadesLevel | null;
  signatures: SignatureReport[];
  fileSha256: string;
  fileSize: number;
  problems: string[];
  checkedAt: string;
}

export interface VerifyOptions {
  /** DER trust anchors. Default: configured defaults (key provider anchors + TRUST_ANCHORS). */
  trustAnchors?: Uint8Array[];
  /** Validation time for certificate validity when no timestamp is present. */
  now?: Date;
}

let defaultAnchors: (() => Promise<Uint8Array[]>) | undefined;
/** Overrides the default trust anchors (the configured key provider's anchors + TRUST_ANCHORS PEM files). */
export function setDefaultTrustAnchors(fn: (() => Promise<Uint8Array[]>) | undefined): void {
  defaultAnchors = fn;
}

export async function configuredTrustAnchors(): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  try {
    out.push(...(await getKeyProvider().trustAnchors()));
  } catch {
    /* provider not configured: only TRUST_ANCHORS */
  }
  const list = getConfig().TRUST_ANCHORS;
  if (list) {
    for (const f of list.split(path.delimiter).filter(Boolean)) {
      try {
        out.push(...pemToDerAll(readFileSync(f, 'utf8')));
      } catch {
        /* unreadable file: skipped */
      }
    }
  }
  return out;
}

const ok = (message: string): Check => ({ ok: true, message });
const ng = (message: string): Check => ({ ok: false, message });

function summarize(der: Uint8Array): CertSummary {
  const x = new crypto.X509Certificate(Buffer.from(der));
  return {
    subject: x.subject.replace(/\n/g, ', '),
    issuer: x.issuer.replace(/\n/g, ', '),
    serialNumber: x.serialNumber,
    validFrom: new Date(x.validFrom).toISOString(),
    validTo: new Date(x.validTo).toISOString(),
  };
}

function parsePdfDate(s: string | undefined): string | undefined {
  if (!s) return undefined;
  const m = /^D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?([Zz+\-])?(\d{2})?'?(\d{2})?'?/.exec(s);
  if (!m) return undefined;
  const [y, mo = '01', d = '01', h = '00', mi = '00', se = '00', tz, th = '00', tm = '00'] = m.slice(1);
  const off = tz === '+' || tz === '-' ? `${tz}${th}:${tm}` : 'Z';
  const dt = new Date(`${y}-${mo}-${d}T${h}:${mi}:${se}${off}`);
  return Number.isNaN(dt.getTime()) ? undefined : dt.toISOString();
}

const X509 = (d: Uint8Array) => new crypto.X509Certificate(Buffer.from(d));
const eq = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/** Builds the chain signer → … → anchor from a pool; returns the chain and whether it ends at an anchor. */
function buildChain(leaf: Uint8Array, pool: Uint8Array[], anchors: Uint8Array[], at: Date): { chain: Uint8Array[]; trusted: boolean; problems: string[] } {
  const problems: string[] = [];
  const chain: Uint8Array[] = [leaf];
  let cur = leaf;
  for (let i = 0; i < 10; i++) {
    const cx = X509(cur);
    const t = at.getTime();
    if (t < new Date(cx.validFrom).getTime() || t > new Date(cx.validTo).getTime())
      problems.push(`証明書「${cx.subject.replace(/\n/g, ', ')}」は検証時刻に有効期間外です`);
    if (anchors.some((a) => eq(a, cur))) return { chain, trusted: true, problems };
    const candidates = [...anchors, ...pool].filter((c) => !eq(c, cur));
    const issuer = candidates.find((c) => {
      try {
        const ix = X509(c);
        // Below the anchor only CA certificates (basicConstraints CA:TRUE) may issue: otherwise any
        // holder of an end-entity certificate from a trusted CA could mint a certificate for anyone.
        if (!ix.ca && !anchors.some((a) => eq(a, c))) return false;
        return cx.checkIssued(ix) && cx.verify(ix.publicKey);
      } catch {
        return false;
      }
    });
    if (!issuer) {
      // Self-signed and not an anchor, or issuer missing.
      return { chain, trusted: false, problems };
    }
    if (anchors.some((a) => eq(a, issuer))) {
      chain.push(issuer);
      return { chain, trusted: true, problems };
    }
    chain.push(issuer);
    cur = issuer;
  }
  return { chain, trusted: false, problems };
}

function hashRanges(bytes: Uint8Array, br: number[], alg: string): Buffer {
  const h = crypto.createHash(alg);
  h.update(bytes.subarray(br[0], br[0] + br[1]));
  h.update(bytes.subarray(br[2], br[2] + br[3]));
  return h.digest();
}

interface Dss {
  certs: Uint8Array[];
  crls: Uint8Array[];
  ocsps: Uint8Array[];
  /** File offset of the DSS dictionary (its revision), for "DTS after DSS". */
  offset: number;
}

function streamsOf(doc: PdfDocument, o: PdfObj | undefined, view: Map<number, XrefEntry>): Uint8Array[] {
  const arr = doc.resolve(o, view);
  if (!Array.isArray(arr)) return [];
  const out: Uint8Array[] = [];
  for (const r of arr) {
    const s = doc.resolve(r, view);
    if (s instanceof PdfStream) {
      try {
        out.push(decodeStream(s));
      } catch {
        /* skip */
      }
    }
  }
  return out;
}

function readDss(doc: PdfDocument): Dss | undefined {
  const cat = doc.catalog();
  const ref = cat.get('DSS');
  const d = doc.dict(ref);
  if (!d) return undefined;
  let offset = 0;
  const e = ref instanceof PdfRef ? doc.xref.get(ref.num) : undefined;
  if (e?.type === 1) offset = e.offset;
  else if (e?.type === 2) {
    const se = doc.xref.get(e.stm);
    offset = se?.type === 1 ? se.offset : 0;
  } else {
    // Inline in the catalog: the catalog's position.
    const r = doc.trailer.get('Root');
    const ce = r instanceof PdfRef ? doc.xref.get(r.num) : undefined;
    offset = ce?.type === 1 ? ce.offset : 0;
  }
  return {
    certs: streamsOf(doc, d.get('Certs'), doc.xref),
    crls: streamsOf(doc, d.get('CRLs'), doc.xref),
    ocsps: streamsOf(doc, d.get('OCSPs'), doc.xref),
    offset,
  };
}

const SIG_HASH: Record<string, string> = {
  [OID.sha256WithRSA]: 'sha256',
  [OID.sha384WithRSA]: 'sha384',
  [OID.sha512WithRSA]: 'sha512',
  '1.2.840.113549.1.1.5': 'sha1',
  [OID.ecdsaSha256]: 'sha256',
  [OID.ecdsaSha384]: 'sha384',
  [OID.ecdsaSha512]: 'sha512',
};

function verifyTbs(tbs: Uint8Array, sigAlg: string, sig: Uint8Array, signerDer: Uint8Array): boolean {
  const h = SIG_HASH[sigAlg];
  if (!h) return false;
  try {
    return crypto.verify(h, Buffer.from(tbs), X509(signerDer).publicKey, Buffer.from(sig));
  } catch {
    return false;
  }
}

/** Is there revocation evidence in the DSS that `cert` (issued by `issuer`) is not revoked? */
function revocationStatus(cert: Uint8Array, issuer: Uint8Array, dss: Dss): 'good' | 'revoked' | 'missing' {
  const c = pkijs.Certificate.fromBER(toAB(cert));
  for (const crlDer of dss.crls) {
    try {
      const crl = pkijs.CertificateRevocationList.fromBER(toAB(crlDer));
      if (!crl.issuer.isEqual(c.issuer)) continue;
      if (!verifyTbs(crl.tbsView, crl.signatureAlgorithm.algorithmId, crl.signatureValue.valueBlock.valueHexView, issuer)) continue;
      if (crl.revokedCertificates?.some((r) => r.userCertificate.isEqual(c.serialNumber))) return 'revoked';
      return 'good';
    } catch {
      /* next */
    }
  }
  for (const der of dss.ocsps) {
    try {
      const resp = pkijs.OCSPResponse.fromBER(toAB(der));
      if (!resp.responseBytes) continue;
      const basic = pkijs.BasicOCSPResponse.fromBER(toAB(resp.responseBytes.response.valueBlock.valueHexView));
      // Signed by the issuer itself, or by a responder certificate the issuer gave id-kp-OCSPSigning
      // (RFC 6960 §4.2.2.2) — not by whatever certificate the response happens to carry.
      const issuerX = X509(issuer);
      const delegated = (basic.certs ?? [])
        .map((x) => new Uint8Array(x.toSchema().toBER(false)))
        .filter((d) => {
          try {
            const x = X509(d);
            return x.checkIssued(issuerX) && x.verify(issuerX.publicKey) && (x.keyUsage ?? []).includes('1.3.6.1.5.5.7.3.9');
          } catch {
            return false;
          }
        });
      const signers = [issuer, ...delegated];
      const signedOk = signers.some((s) => verifyTbs(basic.tbsResponseData.tbsView, basic.signatureAlgorithm.algorithmId, basic.signature.valueBlock.valueHexView, s));
      if (!signedOk) continue;
      for (const sr of basic.tbsResponseData.responses) {
        if (!sr.certID.serialNumber.isEqual(c.serialNumber)) continue;
        const st = sr.certStatus as asn1js.BaseBlock;
        const tag = st.idBlock.tagNumber;
        if (tag === 0) return 'good';
        if (tag === 1) return 'revoked';
      }
    } catch {
      /* next */
    }
  }
  return 'missing';
}

function chainRevocation(chain: Uint8Array[], anchors: Uint8Array[], dss: Dss | undefined): { ok: boolean; revoked: boolean } {
  if (!dss) return { ok: false, revoked: false };
  let allOk = true;
  for (let i = 0; i + 1 < chain.length; i++) {
    if (anchors.some((a) => eq(a, chain[i]))) break;
    const st = revocationStatus(chain[i], chain[i + 1], dss);
    if (st === 'revoked') return { ok: false, revoked: true };
    if (st === 'missing') allOk = false;
  }
  return { ok: allOk, revoked: false };
}

// ---------------------------------------------------------------------------------------------
// Modification analysis

function sameObj(a: PdfObj | undefined, b: PdfObj | undefined): boolean {
  if (a instanceof PdfStream || b instanceof PdfStream) {
    if (!(a instanceof PdfStream) || !(b instanceof PdfStream)) return false;
    return serialize(a.dict) === serialize(b.dict) && eq(a.raw, b.raw);
  }
  return (a === undefined ? 'undefined' : serialize(a)) === (b === undefined ? 'undefined' : serialize(b));
}

function dictEqualExcept(a: PdfDict, b: PdfDict, except: string[]): boolean {
  const keys = new Set([...a.map.keys(), ...b.map.keys()]);
  for (const k of keys) {
    if (except.includes(k)) continue;
    if (!sameObj(a.get(k), b.get(k))) return false;
  }
  return true;
}

type Change = 'dss' | 'doc_timestamp' | 'signature' | 'structure';

/**
 * Classifies all objects written in the sections after `end`. Returns allowed change categories
 * and the disallowed ones (Japanese descriptions).
 */
function analyseChanges(doc: PdfDocument, end: number, locked = false): { kinds: Set<Change>; bad: string[] } {
  const kinds = new Set<Change>();
  const bad: string[] = [];
  const later = doc.sections.filter((s) => s.offset >= end).reverse(); // oldest first
  if (!later.length) return { kinds, bad };
  const view = doc.viewBefore(end);
  const rootOf = (t: PdfDict) => t.get('Root');
  const origRoot = doc.sections.filter((s) => s.offset < end)[0]?.trailer.get('Root');
  for (const sec of later) {
    const prev = new Map(view);
    for (const [k, v] of sec.entries) view.set(k, v);
    const r = rootOf(sec.trailer);
    if (!(r instanceof PdfRef) || !(origRoot instanceof PdfRef) || r.num !== origRoot.num) bad.push('文書カタログが置き換えられています');
    if (locked) {
      const oi = doc.sections.filter((s) => s.offset < end)[0]?.trailer.get('Info');
      const ni = sec.trailer.get('Info');
      if (ni !== undefined && !sameObj(oi, ni)) bad.push('文書情報（Info）が置き換えられています');
    }
    const isSigField = (o: PdfObj | undefined): boolean => {
      const d = doc.dict(o, view);
      return !!d && d.nameOf('FT') === 'Sig';
    };
    const fieldKind = (o: PdfObj | undefined): Change => {
      const d = doc.dict(o, view);
      const v = d ? doc.dict(d.get('V'), view) : undefined;
      return v?.nameOf('Type') === 'DocTimeStamp' || v?.nameOf('SubFilter') === 'ETSI.RFC3161' ? 'doc_timestamp' : 'signature';
    };
    const arrayAppendOnlySig = (a: PdfObj | undefined, b: PdfObj | undefined): boolean => {
      const aa = doc.resolve(a, prev);
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
    for (const [num, e] of sec.entries) {
      if (e.type === 0) {
        if (prev.get(num) && prev.get(num)!.type !== 0) bad.push(`オブジェクト ${num} が削除されています`);
        continue;
      }
      let nv: PdfObj;
      try {
        nv = doc.loadEntry(num, e, view);
      } catch {
        bad.push(`オブジェクト ${num} を読み取れません`);
        continue;
      }
      const pe = prev.get(num);
      const existed = pe !== undefined && pe.type !== 0;
      if (nv instanceof PdfStream && ['XRef', 'ObjStm'].includes(nv.dict.nameOf('Type') ?? '')) {
        kinds.add('structure');
        continue;
      }
      if (!existed) continue; // New objects matter only through changed existing objects (checked below).
      let ov: PdfObj;
      try {
        ov = doc.loadEntry(num, pe!, prev);
      } catch {
        ov = null;
      }
      if (sameObj(ov, nv)) continue;
      const od = ov instanceof PdfDict ? ov : undefined;
      const nd = nv instanceof PdfDict ? nv : undefined;
      const isRoot = origRoot instanceof PdfRef && num === origRoot.num;
      if (isRoot && od && nd) {
        if (!dictEqualExcept(od, nd, ['DSS', 'AcroForm', 'Extensions'])) {
          bad.push('文書カタログ（Catalog）が変更されています');
          continue;
        }
        if (!sameObj(od.get('DSS'), nd.get('DSS'))) kinds.add('dss');
        if (!sameObj(od.get('AcroForm'), nd.get('AcroForm'))) {
          const oa = doc.dict(od.get('AcroForm'), prev);
          const na = doc.dict(nd.get('AcroForm'), view);
          if (!na || (oa && !dictEqualExcept(oa, na, ['Fields', 'SigFlags'])) || !arrayAppendOnlySig(oa?.get('Fields'), na.get('Fields')))
            bad.push('フォーム（AcroForm）が署名以外の目的で変更されています');
        }
        continue;
      }
      if (od && nd && (od.nameOf('Type') === 'DSS' || od.nameOf('Type') === 'VRI')) {
        kinds.add('dss');
        continue;
      }
      if (od && nd && (od.has('Fields') || nd.has('SigFlags')) && !od.has('Type')) {
        // AcroForm dictionary.
        if (!dictEqualExcept(od, nd, ['Fields', 'SigFlags']) || !arrayAppendOnlySig(od.get('Fields'), nd.get('Fields')))
          bad.push('フォーム（AcroForm）が署名以外の目的で変更されています');
        continue;
      }
      if (od && nd && od.nameOf('Type') === 'Page') {
        if (!dictEqualExcept(od, nd, ['Annots']) || !arrayAppendOnlySig(od.get('Annots'), nd.get('Annots')))
          bad.push('ページの内容または注釈が変更されています');
        continue;
      }
      if (od && nd && od.nameOf('FT') === 'Sig' && !od.has('V') && nd.has('V')) {
        if (!dictEqualExcept(od, nd, ['V', 'AP', 'F'])) bad.push('署名欄が変更されています');
        else kinds.add(fieldKind(new PdfRef(num, e.type === 1 ? e.gen : 0)));
        continue;
      }
      if (Array.isArray(ov) && Array.isArray(nv)) {
        // Annots or Fields array stored as its own object.
        if (!arrayAppendOnlySig(ov, nv)) bad.push(`配列オブジェクト ${num} が変更されています`);
        continue;
      }
      bad.push(`オブジェクト ${num}${od?.nameOf('Type') ? `（${od.nameOf('Type')}）` : ''} が変更されています`);
    }
  }
  if (locked && kinds.has('signature')) bad.push('封緘の後に別の署名（または署名欄）が追加されています');
  return { kinds, bad: [...new Set(bad)] };
}

/**
 * The access permission a signature declares (1 = no changes), from the signature field's /Lock
 * dictionary as it was when signed (PDF 2.0 /P) and the signature's DocMDP / FieldMDP references.
 */
function declaredPermission(doc: PdfDocument, value: PdfDict, fieldRef: PdfRef | undefined, field: PdfDict, end: number): number | undefined {
  const found: number[] = [];
  const pOf = (d: PdfDict | undefined) => {
    const p = d?.get('P');
    if (typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 3) found.push(p);
  };
  try {
    const view = doc.viewBefore(end);
    const f = (fieldRef ? doc.dict(fieldRef, view) : undefined) ?? field;
    pOf(doc.dict(f.get('Lock'), view));
    const refs = doc.resolve(value.get('Reference'), view);
    if (Array.isArray(refs)) {
      for (const r of refs) {
        const sr = doc.dict(r, view);
        const tm = sr?.nameOf('TransformMethod');
        const tp = sr ? doc.dict(sr.get('TransformParams'), view) : undefined;
        if (tm === 'DocMDP') found.push(typeof tp?.get('P') === 'number' ? (tp.get('P') as number) : 2);
        else if (tm === 'FieldMDP') pOf(tp);
      }
    }
  } catch {
    /* unreadable: no declaration */
  }
  return found.length ? Math.min(...found) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Tying a signature dictionary to its signed bytes

/**
 * True when the object that holds the signature dictionary (the /V object, or the field itself for an
 * inline /V) is an uncompressed object whose own bytes contain the /Contents gap. Then its other
 * entries (/Reason, /M, /Name, /ByteRange …) lie inside the signed range. Otherwise a later update
 * could copy another signature's /ByteRange and /Contents into a new dictionary with a forged /Reason.
 */
function holdsGap(doc: PdfDocument, r: RawSig, br: number[]): boolean {
  const holder = r.valueRef ?? r.fieldRef;
  const e = holder ? doc.xref.get(holder.num) : undefined;
  if (!holder || !e || e.type !== 1 || e.offset >= br[1]) return false;
  try {
    const p = new Parser(doc.bytes, e.offset);
    const ind = p.parseIndirect();
    return ind.num === holder.num && br[2] <= p.pos;
  } catch {
    return false;
  }
}

const sameRange = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Whether the signature's field object already existed in the revisions its ByteRange covers. */
function fieldExistedWhenSigned(doc: PdfDocument, r: RawSig, end: number): boolean {
  if (!r.fieldRef) return false;
  const then = doc.viewBefore(end).get(r.fieldRef.num);
  return !!then && then.type !== 0;
}

interface RawSig {
  fieldName: string;
  fieldRef?: PdfRef;
  field: PdfDict;
  valueRef?: PdfRef;
  value: PdfDict;
  br: number[];
  contents: Uint8Array;
}

export async function verifyPdf(pdf: Uint8Array, opts: VerifyOptions = {}): Promise<VerificationReport> {
  const anchors = opts.trustAnchors ?? (defaultAnchors ? await defaultAnchors() : await configuredTrustAnchors());
  const now = opts.now ?? new Date();
  const fileSha256 = crypto.createHash('sha256').update(pdf).digest('hex');
  const base = { fileSha256, fileSize: pdf.length, checkedAt: now.toISOString() };
  let doc: PdfDocument;
  try {
    doc = new PdfDocument(pdf);
    doc.catalog();
  } catch {
    return { ...base, valid: false, summary: 'PDFとして読み取れないため検証できません。', level: null, signatures: [], problems: ['PDFの構造（相互参照表）を読み取れません'] };
  }
  if (doc.trailer.has('Encrypt'))
    return { ...base, valid: false, summary: '暗号化されたPDFは検証できません。', level: null, signatures: [], problems: ['暗号化されています'] };

  let fields: ReturnType<PdfDocument['signatureFields']>;
  try {
    fields = doc.signatureFields().filter((f) => f.value);
  } catch {
    fields = [];
  }
  const raws: RawSig[] = [];
  for (const f of fields) {
    const v = f.value!;
    const brv = v.get('ByteRange');
    const c = v.get('Contents');
    raws.push({
      fieldName: f.name,
      fieldRef: f.fieldRef,
      field: f.field,
      valueRef: f.valueRef,
      value: v,
      br: Array.isArray(brv) && brv.every((x) => typeof x === 'number') ? (brv as number[]) : [],
      contents: c instanceof PdfString ? c.bytes : new Uint8Array(0),
    });
  }
  raws.sort((a, b) => (a.br[2] ?? 0) + (a.br[3] ?? 0) - ((b.br[2] ?? 0) + (b.br[3] ?? 0)));
  if (!raws.length)
    return { ...base, valid: false, summary: 'このPDFには電子署名がありません。', level: null, signatures: [], problems: ['署名が見つかりません'] };

  const dss = readDss(doc);
  const dssPool = dss?.certs ?? [];
  const reports: SignatureReport[] = [];
  const dtsInfo: Array<{ end: number; valid: boolean; time?: string }> = [];

  for (let i = 0; i < raws.length; i++) {
    const r = raws[i];
    const v = r.value;
    const subFilter = v.nameOf('SubFilter');
    const isDts = v.nameOf('Type') === 'DocTimeStamp' || subFilter === 'ETSI.RFC3161';
    const problems: string[] = [];
    const txt = (k: string) => {
      const s = v.get(k);
      return s instanceof PdfString ? s.text() : undefined;
    };
    const rep: SignatureReport = {
      index: i + 1,
      fieldName: r.fieldName,
      kind: isDts ? 'doc_timestamp' : 'signature',
      subFilter,
      claimedSigningTime: parsePdfDate(txt('M')),
      reason: txt('Reason'),
      name: txt('Name'),
      location: txt('Location'),
      byteRange: r.br,
      coversWholeFile: false,
      checks: {
        byteRange: ng('未検査'),
        integrity: ng('未検査'),
        signature: ng('未検査'),
        certificate: ng('未検査'),
        modifications: ng('未検査'),
      },
      level: null,
      valid: false,
      problems,
      changesAfter: [],
      locked: false,
    };
    reports.push(rep);

    // 1. ByteRange.
    const br = r.br;
    let brOk = br.length === 4 && br.every((x) => Number.isInteger(x) && x >= 0);
    let brMsg = '署名対象範囲（ByteRange）は正しい形式です';
    if (!brOk) brMsg = 'ByteRange の形式が不正です';
    else if (br[0] !== 0) (brOk = false), (brMsg = 'ByteRange がファイルの先頭から始まっていません');
    else if (br[2] + br[3] > pdf.length || br[1] >= br[2]) (brOk = false), (brMsg = 'ByteRange がファイルの範囲外を指しています');
    else {
      const gap = Buffer.from(pdf.buffer, pdf.byteOffset + br[1], br[2] - br[1]);
      const hex = gap.toString('latin1');
      if (gap[0] !== 0x3c || gap[gap.length - 1] !== 0x3e || !/^<[0-9A-Fa-f]*>$/.test(hex)) (brOk = false), (brMsg = '除外範囲が署名値（/Contents）と一致しません');
      else if (!Buffer.from(hex.slice(1, -1), 'hex').equals(Buffer.from(r.contents))) (brOk = false), (brMsg = '除外範囲が署名値（/Contents）と一致しません');
      else {
        const end = br[2] + br[3];
        const tail = Buffer.from(pdf.buffer, pdf.byteOffset + Math.max(0, end - 16), Math.min(16, end)).toString('latin1');
        if (!/%%EOF\s*$/.test(tail)) (brOk = false), (brMsg = '署名対象範囲が改訂の終わり（%%EOF）で終わっていません');
        else if (!holdsGap(doc, r, br)) (brOk = false), (brMsg = '署名辞書が署名値（/Contents）を含んでいません（別の署名の署名範囲と署名値の流用）');
        else if (raws.some((o) => o !== r && sameRange(o.br, br)) && !fieldExistedWhenSigned(doc, r, end))
          (brOk = false), (brMsg = '後から追加された署名欄が、既存の署名の署名値を共有しています');
      }
    }
    rep.checks.byteRange = brOk ? ok(brMsg) : ng(brMsg);
    if (!brOk) problems.push(brMsg);
    const end = brOk ? br[2] + br[3] : 0;
    const restIsWs = brOk && /^[\s\0]*$/.test(Buffer.from(pdf.buffer, pdf.byteOffset + end, pdf.length - end).toString('latin1'));
    rep.coversWholeFile = brOk && restIsWs;

    // 2. CMS / token.
    let signerCert: Uint8Array | undefined;
    let pool: Uint8Array[] = [];
    let sigTs: ParsedTimestamp | undefined;
    let padesOk = true;
    const padesProblems: string[] = [];
    if (isDts) {
      try {
        const t = checkTimestampToken(r.contents);
        signerCert = t.tsaCert;
        pool = t.certificates;
        rep.timestampTime = t.genTime.toISOString();
        if (brOk) {
          const alg = t.hashAlgorithm;
          const d = HASH_BY_OID[OID.sha256] && ['sha1', 'sha256', 'sha384', 'sha512'].includes(alg) ? hashRanges(pdf, br, alg) : undefined;
          if (!d || !eq(d, t.imprint)) rep.checks.integrity = ng('文書のハッシュ値がタイムスタンプと一致しません（改ざんの可能性）');
          else rep.checks.integrity = ok('文書はタイムスタンプ時点から改ざんされていません');
        } else rep.checks.integrity = ng('ByteRange が不正なため検証できません');
        rep.checks.signature = t.problems.length ? ng(t.problems.join('／')) : ok('タイムスタンプの署名は有効です');
      } catch (e) {
        rep.checks.integrity = ng(`タイムスタンプトークンを解析できません: ${(e as Error).message}`);
        rep.checks.signature = ng('タイムスタンプトークンを解析できません');
      }
    } else {
      try {
        const { sd } = parseSignedData(r.contents);
        pool = (sd.certificates ?? []).map(certDer).filter((x): x is Uint8Array => !!x);
        if (sd.signerInfos.length !== 1) padesProblems.push('SignerInfo が1つではありません');
        const si = sd.signerInfos[0];
        if (sd.encapContentInfo.eContent) padesProblems.push('署名が detached 形式ではありません');
        signerCert = findSignerCert(si, [...pool, ...dssPool]);
        if (!signerCert) {
          rep.checks.signature = ng('署名者の証明書が見つかりません');
        } else if (brOk) {
          const sp = checkSignerInfo(si, signerCert, (h) => hashRanges(pdf, br, h));
          const dig = sp.filter((p) => p.includes('ハッシュ') || p.includes('message-digest'));
          const rest = sp.filter((p) => !dig.includes(p));
          rep.checks.integrity = dig.length ? ng(dig.join('／')) : ok('文書は署名時点から改ざんされていません');
          rep.checks.signature = rest.length ? ng(rest.join('／')) : ok('署名値は有効です');
        } else {
          rep.checks.integrity = ng('ByteRange が不正なため検証できません');
          rep.checks.signature = ng('ByteRange が不正なため検証できません');
        }
        // PAdES baseline attributes.
        if (subFilter !== 'ETSI.CAdES.detached') padesProblems.push(`SubFilter が ETSI.CAdES.detached ではありません（${subFilter ?? 'なし'}）`);
        if (si?.signedAttrs?.attributes.some((a) => a.type === OID.signingTime)) padesProblems.push('PAdES で禁止されている signing-time 属性があります');
        if (!rep.claimedSigningTime) padesProblems.push('署名時刻（/M）がありません');
        const ess = si ? attrValue(si, OID.signingCertificateV2) : undefined;
        if (!ess) padesProblems.push('signing-certificate-v2 属性がありません');
        else if (signerCert) {
          try {
            const seq = ess as asn1js.Sequence;
            const first = (seq.valueBlock.value[0] as asn1js.Sequence).valueBlock.value[0] as asn1js.Sequence;
            const parts = first.valueBlock.value;
            const hasAlg = parts[0] instanceof asn1js.Sequence;
            const algOid = hasAlg ? ((parts[0] as asn1js.Sequence).valueBlock.value[0] as asn1js.ObjectIdentifier).valueBlock.toString() : OID.sha256;
            const hv = (hasAlg ? parts[1] : parts[0]) as asn1js.OctetString;
            const hn = HASH_BY_OID[algOid] ?? 'sha256';
            if (!eq(crypto.createHash(hn).update(signerCert).digest(), hv.valueBlock.valueHexView))
              padesProblems.push('signing-certificate-v2 が署名者の証明書と一致しません');
          } catch {
            padesProblems.push('signing-certificate-v2 属性を解析できません');
          }
        }
        // Signature timestamp.
        const tsAttr = si?.unsignedAttrs?.attributes.find((a) => a.type === OID.signatureTimeStampToken);
        if (tsAttr) {
          try {
            const tok = new Uint8Array(tsAttr.values[0].toBER(false));
            sigTs = checkTimestampToken(tok);
            const imp = crypto.createHash(sigTs.hashAlgorithm).update(si.signature.valueBlock.valueHexView).digest();
            if (!eq(imp, sigTs.imprint)) sigTs.problems.push('署名タイムスタンプの対象（署名値のハッシュ）が一致しません');
            rep.timestampTime = sigTs.genTime.toISOString();
          } catch (e) {
            sigTs = undefined;
            rep.checks.timestamp = ng(`署名タイムスタンプを解析できません: ${(e as Error).message}`);
          }
        }
      } catch (e) {
        rep.checks.integrity = ng(`署名データ（CMS）を解析できません: ${(e as Error).message}`);
        rep.checks.signature = ng('署名データ（CMS）を解析できません');
      }
    }
    if (signerCert) rep.signer = summarize(signerCert);

    // 3. Certificate chain.
    const at = rep.timestampTime ? new Date(rep.timestampTime) : now;
    let chain: Uint8Array[] = [];
    if (signerCert) {
      const cb = buildChain(signerCert, [...pool, ...dssPool], anchors, at);
      chain = cb.chain;
      if (!cb.trusted) rep.checks.certificate = ng('証明書が信頼されたルート証明書につながりません（信頼できない発行元）');
      else if (cb.problems.length) rep.checks.certificate = ng(cb.problems.join('／'));
      else rep.checks.certificate = ok('証明書は信頼されたルート証明書につながっています');
      if (!isDts && signerCert) {
        const kuProblem = (() => {
          const x = pkijs.Certificate.fromBER(toAB(signerCert));
          const ku = x.extensions?.find((e) => e.extnID === '2.5.29.15');
          if (!ku) return undefined;
          const bits = (ku.parsedValue as asn1js.BitString).valueBlock.valueHexView;
          return bits.length && (bits[0] & 0xc0) === 0 ? '署名者の証明書の鍵用途が電子署名に適していません' : undefined;
        })();
        if (kuProblem) rep.checks.certificate = ng(kuProblem);
      }
    } else rep.checks.certificate = ng('証明書を確認できません');

    // 4. Signature timestamp (B-T) and its TSA chain.
    let tsaChain: Uint8Array[] = [];
    if (!isDts && sigTs) {
      const tp = [...sigTs.problems];
      if (sigTs.tsaCert) {
        const cb = buildChain(sigTs.tsaCert, [...sigTs.certificates, ...dssPool], anchors, sigTs.genTime);
        tsaChain = cb.chain;
        if (!cb.trusted) tp.push('タイムスタンプ局の証明書が信頼されたルートにつながりません');
        tp.push(...cb.problems);
      }
      rep.checks.timestamp = tp.length ? ng(tp.join('／')) : ok(`署名タイムスタンプは有効です（${sigTs.genTime.toISOString()}）`);
    } else if (!isDts && !rep.checks.timestamp) {
      rep.checks.timestamp = ng('署名タイムスタンプがありません');
    }

    // 5. Revocation data in the DSS.
    const rv = chainRevocation(chain, anchors, dss);
    const rvTsa = isDts ? { ok: true, revoked: false } : sigTs ? chainRevocation(tsaChain, anchors, dss) : { ok: false, revoked: false };
    if (rv.revoked || rvTsa.revoked) rep.checks.revocation = ng('失効した証明書が使われています');
    else if (rv.ok && rvTsa.ok && dss) rep.checks.revocation = ok('DSS に証明書と失効情報（CRL/OCSP）が含まれています');
    else rep.checks.revocation = ng(dss ? 'DSS に必要な失効情報が不足しています' : 'DSS（長期検証情報）がありません');

    // 6. Changes after this signature.
    if (brOk) {
      const locked = !isDts && declaredPermission(doc, v, r.fieldRef, r.field, end) === 1;
      rep.locked = locked;
      const { kinds, bad } = analyseChanges(doc, end, locked);
      const laterEnd = doc.sections.some((s) => s.offset >= end);
      if (!laterEnd && !restIsWs) bad.push('署名の後に、どの改訂にも属さないデータが追加されています');
      // Data after the newest revision's %%EOF.
      const lastEof = Buffer.from(pdf.buffer, pdf.byteOffset, pdf.length).lastIndexOf('%%EOF', undefined, 'latin1');
      if (laterEnd && !/^[\s\0]*$/.test(Buffer.from(pdf.buffer, pdf.byteOffset + lastEof + 5, pdf.length - lastEof - 5).toString('latin1')))
        bad.push('ファイル末尾に不明なデータがあります');
      if (kinds.has('dss')) rep.changesAfter.push('DSS（長期検証用の証明書・失効情報）の追加');
      if (kinds.has('doc_timestamp')) rep.changesAfter.push('ドキュメントタイムスタンプの追加');
      if (kinds.has('signature')) rep.changesAfter.push('別の署名の追加');
      rep.checks.modifications = bad.length
        ? ng(
            locked
              ? `封緘（変更禁止の署名）の後に許可されていない変更があります: ${bad.join('、')}（封緘後に追加できるのは DSS（検証情報）とドキュメントタイムスタンプだけです）`
              : `署名後に許可されていない変更があります: ${bad.join('、')}`,
          )
        : ok(rep.changesAfter.length ? `署名後の変更は許可された追記のみです（${rep.changesAfter.join('、')}）` : '署名後の変更はありません');
    } else rep.checks.modifications = ng('ByteRange が不正なため確認できません');

    if (!isDts) rep.checks.pades = padesProblems.length ? ng(padesProblems.join('／')) : ok('PAdES ベースライン署名の要件を満たしています');
    padesOk = padesProblems.length === 0;

    const core = [rep.checks.byteRange, rep.checks.integrity, rep.checks.signature, rep.checks.certificate, rep.checks.modifications];
    rep.valid = core.every((c) => c.ok) && !(rep.checks.revocation && !rep.checks.revocation.ok && rep.checks.revocation.message.includes('失効した'));
    for (const c of Object.values(rep.checks)) if (c && !c.ok && !problems.includes(c.message)) problems.push(c.message);
    if (isDts) dtsInfo.push({ end: brOk ? end : 0, valid: rep.valid, time: rep.timestampTime });
    (rep as SignatureReport & { _padesOk?: boolean })._padesOk = padesOk;
  }

  // Levels.
  for (const rep of reports) {
    if (rep.kind !== 'signature' || !rep.valid) continue;
    if (!(rep as SignatureReport & { _padesOk?: boolean })._padesOk) continue;
    const end = rep.byteRange ? rep.byteRange[2] + rep.byteRange[3] : 0;
    let level: PadesLevel = 'B-B';
    const dtsAfter = dtsInfo.filter((d) => d.valid && d.end > end);
    if ((rep.checks.timestamp?.ok ?? false) || dtsAfter.length) level = 'B-T';
    if (level === 'B-T' && rep.checks.revocation?.ok && dss && dss.offset > end) level = 'B-LT';
    if (level === 'B-LT' && dss && dtsAfter.some((d) => d.end > dss.offset)) level = 'B-LTA';
    rep.level = level;
  }
  for (const rep of reports) delete (rep as SignatureReport & { _padesOk?: boolean })._padesOk;

  const problems: string[] = [];
  for (const rep of reports) if (!rep.valid) problems.push(`${rep.kind === 'signature' ? '署名' : 'タイムスタンプ'} ${rep.index}（${rep.fieldName}）: ${rep.problems[0] ?? '無効'}`);
  const newestLast = reports[reports.length - 1];
  if (!newestLast.coversWholeFile && !problems.length) problems.push('最新の署名／タイムスタンプの後に追加されたデータがあります');
  // The file after the newest covered revision must only contain allowed changes (checked in analyseChanges).
  const valid = reports.every((r) => r.valid);
  const sigs = reports.filter((r) => r.kind === 'signature');
  const seal = sigs[sigs.length - 1];
  const level = seal?.level ?? null;
  const summary = valid
    ? `すべての署名とタイムスタンプは有効です${level ? `（PAdES ${level}）` : ''}。署名後の改ざんは検出されませんでした。`
    : '無効な署名またはタイムスタンプがあります。文書が改ざんされたか、信頼できない証明書で署名されています。';
  return { ...base, valid, summary, level, signatures: reports, problems };
}
