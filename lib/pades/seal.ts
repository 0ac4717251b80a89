/**
 * PAdES B-LTA sealing: (a) B-T signature, (b) DSS incremental update, (c) document timestamp —
 * every step after the first is an incremental update, and the output starts with the input bytes.
 *
 * We write placeholders and the ByteRange ourselves (we know their byte positions) and hash the
 * covered ranges chunk by chunk with node:crypto, so a 30 MB file is read twice (signature and
 * document timestamp) and copied once (the final concatenation).
 */
import crypto from 'node:crypto';
import { AppError } from '../errors';
import {
  IncrementalPdf,
  PdfDict,
  PdfDocument,
  PdfName,
  PdfObj,
  PdfRaw,
  PdfRef,
  PdfString,
  newestSignature,
  openSealable,
  serialize,
} from '../pdf';
import { collectRevocationMaterial, getKeyProvider, type KeyProvider, type RevocationMaterial } from '../pki';
import { checkedTimestampChain, getTsaClient, type TsaClient } from '../tsa';
import { canonicalSignedData, certInfo, checkTimestampToken, parseOne, parseSignedData, parseTimestampToken } from '../pki';
import { buildPadesCms } from './cms';
import { addDssRevision, dedupe, pdfDate } from './dss';

export type RevocationFn = (chain: Uint8Array[]) => Promise<RevocationMaterial>;

export interface SealOptions {
  /** Text of /Reason (the witness-type agreement incl. the envelope id). */
  reason: string;
  name?: string;
  location?: string;
  contactInfo?: string;
  signingTime?: Date;
  keyProvider?: KeyProvider;
  tsa?: TsaClient;
  revocation?: RevocationFn;
  /** Bytes reserved for the CMS (default 32768). */
  signatureSize?: number;
  /**
   * Declare the seal final (default true): the signature field gets a lock dictionary
   * `/Lock << /Type /SigFieldLock /Action /All /P 1 >>` (ISO 32000-2 §12.7.5.5) covered by the
   * signature, so verifiers accept only DSS and document timestamps after it. `false` makes an
   * ordinary approval signature (tests use it to stand in for someone else's earlier signature).
   */
  lockDocument?: boolean;
}

/** Overrides for the defaults (configured key provider, TSA client and revocation collector from lib/pki + lib/tsa). */
export interface PadesDefaults {
  keyProvider?: () => Promise<KeyProvider>;
  tsa?: () => Promise<TsaClient>;
  revocation?: RevocationFn;
}
const defaults: PadesDefaults = {};
export function configurePadesDefaults(d: PadesDefaults): void {
  Object.assign(defaults, d);
}

const SIG_SIZE = 32768;
const DTS_SIZE = 16384;


/**
 * Parses once and refuses what cannot be sealed: pdf_empty / pdf_invalid / pdf_encrypted, and
 * pdf_locked for a file whose existing signature forbids changes (our signature would break it) —
 * unless `allowLocked` (archive renewal adds only a DSS and a document timestamp, which a lock permits).
 */
function openForSealing(pdf: Uint8Array, allowLocked = false): PdfDocument {
  return openSealable(pdf, { allowLocked }).doc;
}

interface SignedRevision {
  /** Decoded /Contents (DER + zero padding) — the VRI key source. */
  contents: Uint8Array;
  der: Uint8Array;
  byteRange: [number, number, number, number];
}

/** Writes a signature field + placeholder as one incremental update, hashes the ByteRange and fills /Contents. */
async function addSignatureRevision(
  w: IncrementalPdf,
  kind: 'sig' | 'dts',
  entries: Array<[string, PdfObj]>,
  size: number,
  produce: (digest: Uint8Array) => Promise<Uint8Array>,
  lock = false,
): Promise<SignedRevision> {
  const doc = w.doc;
  const sigRef = w.allocate();
  const fieldRef = w.allocate();
  const pageRef = doc.firstPageRef();
  if (!pageRef) throw new AppError('pdf_invalid', 'PDFのページを読み取れません。');
  const br = '/ByteRange [0 0000000000 0000000000 0000000000]';
  const contents = '/Contents <' + '0'.repeat(size * 2) + '>';
  const head =
    kind === 'sig'
      ? '/Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached'
      : '/Type /DocTimeStamp /Filter /Adobe.PPKLite /SubFilter /ETSI.RFC3161';
  const extra = entries.map(([k, v]) => `/${k} ${serialize(v)}`).join(' ');
  const sigDict = new PdfRaw(`<<${head} ${br} ${contents}${extra ? ' ' + extra : ''}>>`);

  // Field name unique among existing top-level fields.
  const catalog = w.dict(w.rootRef);
  if (!catalog) throw new AppError('pdf_invalid', 'PDFのカタログを読み取れません。');
  const acroRefOrDict = catalog.get('AcroForm');
  const acro = w.dict(acroRefOrDict)?.clone() ?? new PdfDict();
  const fieldsVal = acro.get('Fields');
  const fields = (w.resolve(fieldsVal) as PdfObj[] | undefined) ?? [];
  const names = new Set(
    (Array.isArray(fields) ? fields : []).map((f) => {
      const t = w.dict(f)?.get('T');
      return t instanceof PdfString ? t.text() : '';
    }),
  );
  const base = kind === 'sig' ? 'TachiaiSeal' : 'TachiaiDocTimeStamp';
  let n = 1;
  while (names.has(`${base}${n}`)) n++;
  const field = new PdfDict([
    ['FT', new PdfName('Sig')],
    ['T', PdfString.fromText(`${base}${n}`)],
    ['V', sigRef],
    ['Type', new PdfName('Annot')],
    ['Subtype', new PdfName('Widget')],
    ['Rect', [0, 0, 0, 0]],
    ['F', 132],
    ['P', pageRef],
  ]);
  if (lock)
    field.set('Lock', new PdfDict([['Type', new PdfName('SigFieldLock')], ['Action', new PdfName('All')], ['P', 1]]));

  const objects: Array<[PdfRef, PdfObj]> = [
    [sigRef, sigDict],
    [fieldRef, field],
  ];
  // Page /Annots.
  const page = w.dict(pageRef);
  if (!page) throw new AppError('pdf_invalid', 'PDFのページを読み取れません。');
  const annots = page.get('Annots');
  if (annots instanceof PdfRef) {
    const arr = w.resolve(annots);
    objects.push([new PdfRef(annots.num, w.genOf(annots.num)), [...(Array.isArray(arr) ? arr : []), fieldRef]]);
  } else {
    const p2 = page.clone().set('Annots', [...(Array.isArray(annots) ? annots : []), fieldRef]);
    objects.push([new PdfRef(pageRef.num, w.genOf(pageRef.num)), p2]);
  }
  // AcroForm /Fields + /SigFlags 3.
  if (fieldsVal instanceof PdfRef) {
    objects.push([new PdfRef(fieldsVal.num, w.genOf(fieldsVal.num)), [...fields, fieldRef]]);
  } else {
    acro.set('Fields', [...fields, fieldRef]);
  }
  acro.set('SigFlags', 3);
  if (acroRefOrDict instanceof PdfRef) {
    objects.push([new PdfRef(acroRefOrDict.num, w.genOf(acroRefOrDict.num)), acro]);
  } else {
    const acroRef = w.allocate();
    objects.push([acroRef, acro]);
    const cat2 = catalog.clone().set('AcroForm', acroRef);
    objects.push([new PdfRef(w.rootRef.num, w.genOf(w.rootRef.num)), cat2]);
  }

  const upd = w.append(objects);
  const buf = Buffer.from(upd.bytes.buffer, upd.bytes.byteOffset, upd.bytes.byteLength);
  const rel = upd.offsets.get(sigRef.num)! - upd.start;
  const brRel = buf.indexOf('/ByteRange [', rel, 'latin1');
  const cRel = buf.indexOf('/Contents <', rel, 'latin1') + 10;
  const a = upd.start + cRel; // '<'
  const b = a + size * 2 + 2; // after '>'
  const total = w.length;
  const byteRange: [number, number, number, number] = [0, a, b, total - b];
  const brText = `/ByteRange [0 ${a} ${b} ${total - b}]`;
  if (brText.length > br.length) throw new AppError('seal_failed', '署名領域の計算に失敗しました。');
  buf.write(brText.padEnd(br.length, ' '), brRel, 'latin1');

  const h = crypto.createHash('sha256');
  let pos = 0;
  for (const ch of w.chunks) {
    const s = pos, e = pos + ch.length;
    if (e <= a || s >= b) h.update(ch);
    else {
      if (s < a) h.update(ch.subarray(0, a - s));
      if (e > b) h.update(ch.subarray(b - s));
    }
    pos = e;
  }
  const der = await produce(h.digest());
  if (der.length > size) throw new AppError('seal_failed', `署名データが確保した領域（${size} バイト）を超えました。`);
  buf.write(Buffer.from(der).toString('hex').toUpperCase(), cRel + 1, 'latin1');
  const full = Buffer.alloc(size);
  Buffer.from(der).copy(full);
  return { contents: full, der, byteRange };
}

async function resolveDeps(opts: { keyProvider?: KeyProvider; tsa?: TsaClient; revocation?: RevocationFn }) {
  const tsa = opts.tsa ?? (defaults.tsa ? await defaults.tsa() : getTsaClient());
  const revocation: RevocationFn = opts.revocation ?? defaults.revocation ?? defaultRevocation;
  return { tsa, revocation };
}

/** The TSA chain of a token, signer first. */
function chainOfToken(token: Uint8Array): Uint8Array[] {
  const t = parseTimestampToken(token, { padded: true });
  const signer = t.signerCert;
  const rest = t.certificates.filter((c) => !signer || !Buffer.from(c).equals(Buffer.from(signer)));
  return signer ? [signer, ...rest] : rest;
}

/**
 * Gets a token, in DER (`canonicalSignedData`), and makes sure it is sound (the one rule set of
 * lib/pki/cms: imprint = our digest, CMS signature, ESS, critical EKU) whatever the TsaClient did: a token our own RFC 3161 client
 * accepted for this digest in this process is not checked again (`checkedTimestampChain`).
 * Returns the token and its TSA chain (signer first) for the DSS.
 */
async function stamp(tsa: TsaClient, digest: Uint8Array): Promise<{ token: Uint8Array; chain: Uint8Array[] }> {
  let token = (await tsa.timestamp(digest)).token;
  const checked = checkedTimestampChain(token, digest); // our client's tokens are DER and checked already
  if (checked) return { token, chain: checked };
  try {
    token = canonicalSignedData(token);
  } catch (e) {
    throw new AppError('tsa_unavailable', 'タイムスタンプ局（TSA）から受け取ったタイムスタンプが正しくありません。', { cause: e });
  }
  const t = checkTimestampToken(token, { digest });
  if (!t.valid || t.token?.tst.hashName !== 'sha256')
    throw new AppError('tsa_unavailable', 'タイムスタンプ局（TSA）から受け取ったタイムスタンプが正しくありません。', { details: { failures: t.failures } });
  return { token, chain: chainOfToken(token) };
}

/** Short-lived memo of the default revocation collector (same chain sealed many times in a row). */
const REV_TTL_MS = 60_000;
const revMemo = new Map<string, { at: number; p: Promise<RevocationMaterial> }>();
function memoRevocation(fn: RevocationFn): RevocationFn {
  return (chain) => {
    const k = crypto.createHash('sha256');
    for (const c of chain) k.update(c);
    const key = k.digest('hex');
    const hit = revMemo.get(key);
    if (hit && Date.now() - hit.at < REV_TTL_MS) return hit.p;
    const p = fn(chain);
    revMemo.set(key, { at: Date.now(), p });
    p.catch(() => revMemo.delete(key));
    return p;
  };
}
const defaultRevocation = memoRevocation((chain) => collectRevocationMaterial(chain));

function merge(chains: Uint8Array[][], mats: RevocationMaterial[]): RevocationMaterial {
  const out: RevocationMaterial = { certs: [], crls: [], ocsps: [] };
  chains.forEach((c, i) => {
    out.certs.push(...c, ...mats[i].certs);
    out.crls.push(...mats[i].crls);
    out.ocsps.push(...mats[i].ocsps);
  });
  return { certs: dedupe(out.certs), crls: dedupe(out.crls), ocsps: dedupe(out.ocsps) };
}

async function material(revocation: RevocationFn, chains: Uint8Array[][]): Promise<RevocationMaterial> {
  const cs = chains.filter((c) => c.length);
  return merge(cs, await Promise.all(cs.map((c) => revocation(c))));
}

/**
 * Seals a PDF to PAdES B-LTA. The result starts with `pdf` byte for byte. Refuses (pdf_locked) a file
 * already carrying a signature that forbids changes, e.g. one of our own seals.
 */
export async function sealPdf(pdf: Uint8Array, opts: SealOptions): Promise<Uint8Array> {
  return sealDocument(openForSealing(pdf), opts);
}

/**
 * Tests only: seals even when an earlier signature forbids it — stands in for another tool that
 * signs a locked file anyway, so the verifier's handling of that can be tested.
 */
export async function sealPdfIgnoringLocks(pdf: Uint8Array, opts: SealOptions): Promise<Uint8Array> {
  return sealDocument(openForSealing(pdf, true), opts);
}

async function sealDocument(doc: PdfDocument, opts: SealOptions): Promise<Uint8Array> {
  const provider = opts.keyProvider ?? (defaults.keyProvider ? await defaults.keyProvider() : getKeyProvider());
  const { tsa, revocation } = await resolveDeps(opts);
  const key = await provider.sealingKey();
  const w = new IncrementalPdf(doc);
  const when = opts.signingTime ?? new Date();
  const entries: Array<[string, PdfObj]> = [['M', PdfString.fromText(pdfDate(when))]];
  entries.push(['Reason', PdfString.fromText(opts.reason)]);
  if (opts.name) entries.push(['Name', PdfString.fromText(opts.name)]);
  if (opts.location) entries.push(['Location', PdfString.fromText(opts.location)]);
  if (opts.contactInfo) entries.push(['ContactInfo', PdfString.fromText(opts.contactInfo)]);
  entries.push(['Prop_Build', new PdfDict([['App', new PdfDict([['Name', new PdfName('TachiaiSign')]])]])]);

  const signerChain = [key.certificate, ...key.chain];
  // Collect the signer chain's validation data while the signature and its timestamp are made.
  const signerMat = revocation(signerChain);
  signerMat.catch(() => undefined);
  let tsaChain: Uint8Array[] = [];
  const sig = await addSignatureRevision(w, 'sig', entries, opts.signatureSize ?? SIG_SIZE, async (digest) => {
    const r = await buildPadesCms(digest, key, async (d) => {
      const s = await stamp(tsa, d);
      tsaChain = s.chain;
      return s.token;
    });
    return r.der;
  }, opts.lockDocument ?? true);
  const [sm, tm] = await Promise.all([signerMat, tsaChain.length ? revocation(tsaChain) : Promise.resolve({ certs: [], crls: [], ocsps: [] })]);
  const m = merge([signerChain, tsaChain], [sm, tm]);
  addDssRevision(w, [{ contents: sig.contents, material: m }]);
  await addSignatureRevision(w, 'dts', [], DTS_SIZE, async (digest) => (await stamp(tsa, digest)).token);
  return w.toBytes();
}

/**
 * Archive timestamp renewal (B-LTA chain): a DSS update with validation data for the newest
 * document timestamp (or signature), then a new document timestamp.
 */
export async function addArchiveTimestamp(
  pdf: Uint8Array,
  opts: { tsa?: TsaClient; revocation?: RevocationFn } = {},
): Promise<Uint8Array> {
  const doc = openForSealing(pdf, true);
  const { tsa, revocation } = await resolveDeps(opts);
  const last = newestSignature(doc);
  if (!last) throw new AppError('invalid_state', 'このPDFには署名またはタイムスタンプがありません。');
  const contents = last.contents;
  let chain: Uint8Array[] = [];
  try {
    if (last.kind === 'doc_timestamp') chain = chainOfToken(contents);
    else {
      chain = parseSignedData(contents, { padded: true }).certificates;
    }
  } catch {
    throw new AppError('invalid_state', '最新の署名／タイムスタンプを読み取れません。');
  }
  const w = new IncrementalPdf(doc);
  addDssRevision(w, [{ contents, material: await material(revocation, [chain]) }]);
  await addSignatureRevision(w, 'dts', [], DTS_SIZE, async (digest) => (await stamp(tsa, digest)).token);
  return w.toBytes();
}

/** The TSA client sealing and archive renewal use: `tsa`, else the configured default. */
export async function resolveTsaClient(tsa?: TsaClient): Promise<TsaClient> {
  return (await resolveDeps({ tsa })).tsa;
}

/**
 * The TimeStampToken (DER, padding stripped) of the newest document timestamp of a PDF (highest
 * /ByteRange end), or undefined when it has none.
 */
export function newestDocumentTimestamp(pdf: Uint8Array): Uint8Array | undefined {
  const raw = newestSignature(new PdfDocument(pdf), 'doc_timestamp')?.contents;
  if (!raw) return undefined;
  try {
    return raw.subarray(0, parseOne(raw, true).end);
  } catch {
    return raw;
  }
}

/** notAfter of the TSA certificate of a PDF's newest document timestamp (undefined: none / unreadable). */
export function newestTimestampNotAfter(pdf: Uint8Array): Date | undefined {
  try {
    const token = newestDocumentTimestamp(pdf);
    const signer = token ? parseTimestampToken(token).signerCert : undefined;
    return signer ? certInfo(signer).notAfter : undefined;
  } catch {
    return undefined;
  }
}
