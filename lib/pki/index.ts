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
export { derToPem, pemToDerAll, hasCriticalTimeStampingEku, parseCertificate } from './util';
export { x509 } from './x509';
export {
  signingCertificateV2,
  signingCertificateV2Attribute,
  checkEssCertId,
  derSortAttributes,
  signedAttributesDer,
  contentTypeAttribute,
  messageDigestAttribute,
  signatureAlgorithmFor,
  sha256AlgorithmIdentifier,
} from './ess';
export { checkSignerInfo, type SignerInfoCheck } from './cms-verify';
