/** 合意締結証明書: the completion certificate PDF (unsigned; lib/envelopes/sealing seals it). */
export { renderCompletionCertificate, describeAuthMethod, wrapText } from './render';
export { findCertificateFontPath, loadCertificateFont } from './font';
export type { CertificateData, CertificateDocument, CertificateParty, CertificateEvent } from './types';
