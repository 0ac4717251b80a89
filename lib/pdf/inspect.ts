/**
 * Upload-time PDF check. Refuses empty, oversized, broken and encrypted files with AppErrors
 * whose Japanese messages are safe to show.
 *
 * Encrypted files: any /Encrypt in the trailer is refused ('pdf_encrypted'), including
 * owner-password-only ("permissions") files. The seal appends an incremental update that must be
 * readable without a password and would otherwise have to be encrypted with the author's keys;
 * we ask the user to remove the protection instead.
 *
 * Locked files ('pdf_locked'): a file already signed with a signature that forbids further changes
 * — the signed field's /Lock with /P 1 or /Action /All, a DocMDP certification with /P 1, or a FieldMDP
 * reference locking all fields or with /P 1 — would have that signature broken by our seal (a new
 * signature field + signature is a change those forbid), so it is refused before any envelope is sent.
 * DocMDP /P 2 or 3 and ordinary approval signatures are accepted. `allowLocked` skips this check for
 * files that are only stored (paper scans) or only get DSS + document timestamps (archive renewal).
 */
import { AppError } from '../errors';
import { PdfLimitError, type PdfBudget } from './budget';
import { PdfDocument } from './document';
import { indexOfAscii, latin1 } from './parser';
import { PdfDict, PdfName, PdfRef, PdfString, type PdfObj } from './objects';
import { declaredPermissions, effectivePermissions, embeddedSignatures, type EmbeddedSignature, type LockKind } from './signatures';

export interface InspectOptions {
  /** Refuse files larger than this ('pdf_too_large'). */
  maxBytes?: number;
  /** Used in error messages (「file.pdf」は…). */
  fileName?: string;
  /** Accept files with a signature that forbids changes (default false: refused with 'pdf_locked'). */
  allowLocked?: boolean;
  /** Parsing limits (default: the default caps, no time limit; see budget.ts). */
  budget?: PdfBudget;
}

/** A signature already in the file that forbids the changes sealing makes. */
export interface ChangeLock {
  /** Fully qualified name of the signature field. */
  field: string;
  /** 'lock': field /Lock or FieldMDP with /P 1; 'docmdp': DocMDP certification /P 1; 'fieldmdp': all fields locked. */
  kind: LockKind;
}

export interface PdfInfo {
  pageCount: number;
  /** Effective version: the header's, or the catalog's /Version when higher. */
  version: string;
  encrypted: false;
  hasXrefStream: boolean;
  /** Number of filled signature fields (approval signatures and document timestamps). */
  signatureCount: number;
  docTimestampCount: number;
  /** Cross-reference sections (1 for a file never updated; linearized files have 2). */
  xrefSections: number;
  linearized: boolean;
  sizeBytes: number;
  /** Signatures that forbid further changes (non-empty only with `allowLocked`). */
  locks: ChangeLock[];
}

/**
 * Signed fields whose signature forbids adding a signature after it. Each signature is judged by
 * its field as it was when signed (a later update cannot lift a lock) and as it is now.
 */
export function findChangeLocks(doc: PdfDocument): ChangeLock[] {
  const out: ChangeLock[] = [];
  const seen = new Set<string>();
  const add = (field: string, kind: ChangeLock['kind']) => {
    const k = `${field}\u0000${kind}`;
    if (!seen.has(k)) (seen.add(k), out.push({ field, kind }));
  };
  let sigs: EmbeddedSignature[] = [];
  try {
    sigs = embeddedSignatures(doc).filter((s) => s.value.get('Contents') instanceof PdfString);
  } catch {
    sigs = [];
  }
  for (const s of sigs) for (const k of effectivePermissions(doc, s).locks) add(s.fieldName, k);
  // A certification signature named in the catalog's /Perms /DocMDP (normally also a field above).
  try {
    const perms = doc.dict(doc.catalog().get('Perms'));
    const ref = perms?.get('DocMDP');
    const v = perms ? doc.dict(ref) : undefined;
    if (v && v.get('Contents') instanceof PdfString) {
      const name = sigs.find((s) => s.value === v)?.fieldName ?? 'DocMDP';
      for (const k of declaredPermissions(doc, { field: new PdfDict(), value: v, valueRef: ref instanceof PdfRef ? ref : undefined }).locks) add(name, k);
    }
  } catch {
    /* unreadable */
  }
  return out;
}

function lockedError(who: string, locks: ChangeLock[]): AppError {
  const names = [...new Set(locks.map((l) => l.field))].map((n) => `「${n}」`).join('、');
  const what = locks.some((l) => l.kind === 'docmdp') ? '変更を禁止する証明（作成者）署名' : '以後の変更を禁止する電子署名';
  return new AppError(
    'pdf_locked',
    `${who}${what}（署名欄${names}）が付いているため、封緘できません。封緘するとその署名が無効になります。署名される前のPDFをアップロードしてください。`,
    { details: { locks } },
  );
}

export async function inspectPdf(bytes: Uint8Array, opts: InspectOptions = {}): Promise<PdfInfo> {
  return inspectPdfSync(bytes, opts);
}

const RESAVE = 'PDFとして保存し直してからアップロードしてください。';

/** 'pages' / 'structure' when the page tree or the structure tree refers back to one of its own ancestors. */
export function treeLoop(doc: PdfDocument): 'pages' | 'structure' | undefined {
  // A node whose own bytes never spell the key has no children: no need to parse it (page leaves are
  // most of a page tree). Escaped names (#) or compressed objects are parsed.
  const mayHave = (node: PdfObj | undefined, key: string): boolean => {
    const e = node instanceof PdfRef ? doc.xref.get(node.num) : undefined;
    if (!e || e.type !== 1) return true;
    const end = indexOfAscii(doc.bytes, 'endobj', e.offset);
    if (end < 0) return true;
    const raw = latin1(doc.bytes, e.offset, end);
    return raw.includes(`/${key}`) || raw.includes('#');
  };
  const cyclic = (root: PdfObj | undefined, children: (d: PdfDict) => PdfObj[], key: string): boolean => {
    const onPath = new Set<string>();
    const done = new Set<string>();
    let visited = 0;
    const childKey = key;
    const walk = (node: PdfObj | undefined, depth: number): boolean => {
      if (depth > 256 || ++visited > 1_000_000) return true;
      const key = node instanceof PdfRef ? node.key() : undefined;
      if (key && onPath.has(key)) return true;
      if (key && done.has(key)) return false;
      if (!mayHave(node, childKey)) return false;
      const d = doc.dict(node);
      if (!d) return false;
      if (key) onPath.add(key);
      for (const k of children(d)) if (walk(k, depth + 1)) return true;
      if (key) (onPath.delete(key), done.add(key));
      return false;
    };
    return walk(root, 0);
  };
  const arr = (o: PdfObj | undefined): PdfObj[] => {
    const r = doc.resolve(o);
    return Array.isArray(r) ? r : r === undefined || r === null ? [] : [o as PdfObj];
  };
  try {
    const cat = doc.catalog();
    if (cyclic(cat.get('Pages'), (d) => (d.nameOf('Type') === 'Page' ? [] : arr(d.get('Kids'))), 'Kids')) return 'pages';
    // Structure elements: /K holds kids (dictionaries or references; integers are content ids).
    if (cyclic(cat.get('StructTreeRoot'), (d) => arr(d.get('K')).filter((k) => k instanceof PdfRef || k instanceof PdfDict), 'K')) return 'structure';
  } catch {
    /* unreadable parts are reported by the other checks */
  }
  return undefined;
}

const whoOf = (opts: InspectOptions) => (opts.fileName ? `「${opts.fileName}」は` : 'このファイルは');
const invalidError = (who: string, cause?: unknown) =>
  cause instanceof PdfLimitError
    ? cause.about(who)
    : new AppError('pdf_invalid', `${who}PDFとして読み取れません。ファイルが壊れているか、PDFではない可能性があります。`, { cause });

/**
 * The checks sealing needs, on one parse: not empty / too large / broken / encrypted, a catalog and a
 * first page, and (unless `allowLocked`) no signature that forbids changes. Returns the parsed document.
 */
export function openSealable(bytes: Uint8Array, opts: InspectOptions = {}): { doc: PdfDocument; locks: ChangeLock[] } {
  const who = whoOf(opts);
  if (bytes.length === 0) throw new AppError('pdf_empty', `${who}空のファイル（0バイト）です。内容のあるPDFを選んでください。`);
  if (opts.maxBytes !== undefined && bytes.length > opts.maxBytes) {
    const mb = Math.round((opts.maxBytes / 1024 / 1024) * 10) / 10;
    throw new AppError('pdf_too_large', `${who}大きすぎます（上限 ${mb} MB）。ファイルを分割するか圧縮してください。`, {
      details: { maxBytes: opts.maxBytes, size: bytes.length },
    });
  }
  let doc: PdfDocument;
  try {
    doc = new PdfDocument(bytes, { budget: opts.budget });
  } catch (e) {
    throw invalidError(who, e);
  }
  if (doc.repair?.kind === 'header_offset') {
    throw new AppError(
      'pdf_invalid',
      `${who}PDFの先頭（%PDF-）の前に余分なデータ（${doc.repair.headerOffset}バイト）があり、ファイル内の位置情報がずれています。${RESAVE}`,
      { details: { repair: doc.repair.kind } },
    );
  }
  if (doc.trailer.has('Encrypt') || doc.sections.some((s) => s.trailer.has('Encrypt'))) {
    throw new AppError(
      'pdf_encrypted',
      `${who}パスワードで保護（暗号化）されています。保護を解除したPDFをアップロードしてください。`,
    );
  }
  try {
    const cat = doc.catalog();
    if (cat.nameOf('Type') !== undefined && cat.nameOf('Type') !== 'Catalog') throw new Error('root is not a catalog');
    if (!doc.firstPageRef()) throw new Error('first page is not an indirect object');
  } catch (e) {
    throw invalidError(who, e);
  }
  // Circular trees make readers loop or give up: refused, never sealed.
  const loop = treeLoop(doc);
  if (loop) {
    const what = loop === 'pages' ? 'ページの構成（ページツリー）' : '文書の論理構造（構造ツリー）';
    throw new AppError('pdf_invalid', `${who}${what}が循環しているため、正しく読み取れません。${RESAVE}`, { details: { loop } });
  }
  const locks = findChangeLocks(doc);
  // findChangeLocks reads what it can; a limit it met still refuses the file.
  if (doc.budget.error) throw invalidError(who, doc.budget.error);
  if (locks.length && !opts.allowLocked) throw lockedError(who, locks);
  return { doc, locks };
}

export function inspectPdfSync(bytes: Uint8Array, opts: InspectOptions = {}): PdfInfo {
  const who = whoOf(opts);
  const { doc, locks } = openSealable(bytes, opts);
  try {
    const cat = doc.catalog();
    const pageCount = doc.countPages();
    if (pageCount < 1) throw new Error('no pages');
    let version = doc.headerVersion;
    const cv = cat.get('Version');
    if (cv instanceof PdfName && /^\d\.\d$/.test(cv.name) && cv.name > version) version = cv.name;
    const sigs = doc.signatureFields().filter((f) => f.value);
    const dts = sigs.filter((f) => f.value?.nameOf('Type') === 'DocTimeStamp' || f.value?.nameOf('SubFilter') === 'ETSI.RFC3161');
    let linearized = false;
    try {
      const m = /^\s*(\d+)\s+(\d+)\s+obj/.exec(Buffer.from(bytes.subarray(0, 2048)).toString('latin1').replace(/^%PDF-[^\n\r]*[\r\n]+(%[^\n\r]*[\r\n]+)?/, ''));
      if (m) {
        const o = doc.getObject(Number(m[1]));
        linearized = o instanceof PdfDict && o.has('Linearized');
      }
    } catch {
      linearized = false;
    }
    doc.budget.throwIfExceeded();
    return {
      pageCount,
      version,
      encrypted: false,
      hasXrefStream: doc.sections.some((s) => s.kind === 'stream' || s.trailer.has('XRefStm')),
      signatureCount: sigs.length,
      docTimestampCount: dts.length,
      xrefSections: doc.sections.length,
      linearized,
      sizeBytes: bytes.length,
      locks,
    };
  } catch (e) {
    if (e instanceof PdfLimitError) throw invalidError(who, e);
    if (e instanceof AppError) throw e;
    throw invalidError(who, e);
  }
}
