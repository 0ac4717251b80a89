/** PDF inspection and incremental updates (no Next.js imports). */
export { findChangeLocks, inspectPdf, inspectPdfSync, openSealable, type ChangeLock, type InspectOptions, type PdfInfo } from './inspect';
export { PdfDocument, PdfFormatError, decodeStream, type XrefEntry, type XrefSection } from './document';
export { MAX_SIGNATURE_FIELDS, PdfBudget, PdfLimitError, currentPdfBudget, defaultPdfLimits, withPdfBudget, type PdfLimit, type PdfLimits } from './budget';
export { IncrementalPdf, readGrowable, serialize, serializeName, type WrittenUpdate } from './writer';
export { PdfDict, PdfName, PdfRaw, PdfRef, PdfStream, PdfString, name, isDict, type PdfObj } from './objects';
export { Parser, PdfSyntaxError, indexOfAscii, lastIndexOfAscii, latin1 } from './parser';
export {
  embeddedSignatures,
  newestSignature,
  declaredPermissions,
  effectivePermissions,
  dictionaryHoldsGap,
  fieldExistedWhenSigned,
  type EmbeddedSignature,
  type DeclaredPermissions,
  type LockKind,
} from './signatures';
