/**
 * lib/records — 電子帳簿保存法 records: paper contracts (書面契約), append-only corrections of the
 * search fields, the guard that keeps a completed contract's files from being replaced or deleted,
 * and the admin 操作ログ list.
 */
export { registerPaperContract, paperContractSchema, type PaperScan } from './paper';
export {
  correctEnvelopeFields,
  listCorrections,
  correctionChangesSchema,
  correctionReasonSchema,
  CORRECTABLE_FIELDS,
  FIELD_LABELS,
  type CorrectableField,
  type CorrectionChangesInput,
  type CorrectionEntry,
  type CorrectionResult,
} from './corrections';
export {
  assertFilesMutable,
  filesAreSealed,
  guardSealedFiles,
  isSealedFileViolation,
  sealedFileError,
  SEALED_FILE_MESSAGE,
} from './guard';
export { listAuditEvents, type AuditPage } from './audit-log';
