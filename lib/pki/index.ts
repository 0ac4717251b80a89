/**
 * lib/pki — key providers (dev, pkcs12, pkcs11), the dev PKI (root CA, sealing and TSA certificates),
 * its CRL and OCSP responder, DSS revocation material, and the master key.
 */
export type { KeyAlgorithm, KeyProvider, RevocationMaterial, SigningKey } from './types';
export {
  getMasterKey,
  masterKeyId,
  deriveKey,
  deriveKeyCandidates,
  masterKeyPath,
  keyIdOf,
  masterKeyById,
  previousMasterKeys,
  wrapUnderMasterKey,
  unwrapUnderMasterKey,
} from './master-key';
export {
  createDevKeyProvider,
  getDevPki,
  getDevTsaKey,
  getRootCertificate,
  builtinTsaAnchors,
  devPkiDir,
  devPkiExists,
  DEV_NAMES,
  type DevPki,
  type DevEntity,
} from './dev';
export { createPkcs12KeyProvider, parsePkcs12, type Pkcs12Contents, type Pkcs12ProviderOptions } from './pkcs12';
export { createPkcs11KeyProvider, importCertificateToToken, ecdsaRawToDer, type Pkcs11Options } from './pkcs11';
export { getKeyProvider } from './provider';
export {
  getCrl,
  respondOcsp,
  buildOcspRequest,
  collectRevocationMaterial,
  REVOCATION_VALIDITY_MS,
  type CollectOptions,
} from './revocation';
export { derToPem, pemToDerAll, parseCertificate } from './util';
export * from './cms';
export { x509 } from './x509';
