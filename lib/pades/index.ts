/** PAdES sealing (B-LTA), the DSS, and verification (./validation). */
export { sealPdf, addArchiveTimestamp, newestDocumentTimestamp, newestTimestampNotAfter, resolveTsaClient, configurePadesDefaults, type SealOptions, type RevocationFn, type PadesDefaults } from './seal';
export {
  verifyPdf,
  setDefaultTrustAnchors,
  configuredTrustAnchors,
  MAX_SIGNATURES,
  type VerificationReport,
  type SignatureReport,
  type VerifyOptions,
  type PadesLevel,
  type CertSummary,
} from './validation/verify';
export { renderCheck, type Check, type CheckCode, type Issue } from './validation/checks';
export { readDss, type Dss } from './dss';
