/** PAdES sealing (B-LTA) and verification. */
export { sealPdf, addArchiveTimestamp, newestDocumentTimestamp, resolveTsaClient, configurePadesDefaults, type SealOptions, type RevocationFn, type PadesDefaults } from './seal';
export {
  verifyPdf,
  setDefaultTrustAnchors,
  configuredTrustAnchors,
  type VerificationReport,
  type SignatureReport,
  type VerifyOptions,
  type PadesLevel,
  type Check,
  type CertSummary,
} from './verify';
