/**
 * The crypto core: DER, OIDs, SignedData build + verify, ESS signing-certificate, RFC 3161 tokens
 * (one rule set), certificate paths and revocation lookup. lib/pades, lib/tsa and the verifier use
 * only this for CMS; hashing, signing and verification run on node:crypto.
 */
export * from './der';
export * from './oids';
export * from './certificate';
export { signingCertificateV2Attribute, checkEssCertId, type EssResult } from './ess';
export * from './signed-data';
export * from './timestamp';
export * from './path';
