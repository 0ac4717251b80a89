/**
 * Upload-time PDF check. Refuses empty, oversized, broken and encrypted files with AppErrors
 * whose Japanese messages are safe to show.
 *
 * Encrypted files: any /Encrypt in the trailer is refused ('pdf_encrypted'), including
 * owner-password-only ("permissions") files. The seal appends an incremental update that must be
 * readable without a password and would otherwise have to be encrypted with the author's keys;
 * we ask the user to remove the protection instead.
 */
import { AppError } from '../errors';
import { PdfDocument } from './document';
import { PdfDict, PdfName } from './objects';

export interface InspectOptions {
  /** Refuse files larger than this ('pdf_too_large'). */
  maxBytes?: number;
  /** Used in error messages (「file.pdf」は…). */
  fileName?: string;
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
}

export async function inspectPdf(bytes: Uint8Array, opts: InspectOptions = {}): Promise<PdfInfo> {
  return inspectPdfSync(bytes, opts);
}

export function inspectPdfSync(bytes: Uint8Array, opts: InspectOptions = {}): PdfInfo {
  const who = opts.fileName ? `「${opts.fileName}」は` : 'このファイルは';
  if (bytes.length === 0) throw new AppError('pdf_empty', `${who}空のファイル（0バイト）です。内容のあるPDFを選んでください。`);
  if (opts.maxBytes !== undefined && bytes.length > opts.maxBytes) {
    const mb = Math.round((opts.maxBytes / 1024 / 1024) * 10) / 10;
    throw new AppError('pdf_too_large', `${who}大きすぎます（上限 ${mb} MB）。ファイルを分割するか圧縮してください。`, {
      details: { maxBytes: opts.maxBytes, size: bytes.length },
    });
  }
  const invalid = (cause?: unknown) =>
    new AppError('pdf_invalid', `${who}PDFとして読み取れません。ファイルが壊れているか、PDFではない可能性があります。`, { cause });
  let doc: PdfDocument;
  try {
    doc = new PdfDocument(bytes);
  } catch (e) {
    throw invalid(e);
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
    const pageCount = doc.countPages();
    if (pageCount < 1) throw new Error('no pages');
    if (!doc.firstPageRef()) throw new Error('first page is not an indirect object');
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
    };
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw invalid(e);
  }
}
