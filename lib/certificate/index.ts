/** 合意締結証明書: the completion certificate PDF (unsigned; lib/envelopes/sealing seals it). */
export { renderCompletionCertificate, describeAuthMethod, wrapText, type RenderedCertificate, type TextMeasure } from './render';
export {
  findCertificateFontPath,
  findFallbackFontPath,
  loadCertificateFont,
  loadCertificateFonts,
  certificateCoverage,
  type CertificateCoverage,
  type LoadedCertificateFont,
} from './font';
export { unprintableCharacters, unprintableMessage, codePointLabel, clusters, type Cluster, type ClusterFont } from './coverage';
export type { CertificateData, CertificateDocument, CertificateParty, CertificateEvent } from './types';
