/**
 * Key providers: where the service's sealing key and certificates come from.
 * `dev` (generated under var/pki), `pkcs12` (file + password), `pkcs11` (HSM). The signer in
 * lib/pades only sees this interface, so a new provider never touches the signer.
 */

export type KeyAlgorithm = 'RSA' | 'ECDSA-P256';

/** A private key that signs; the key itself may never leave its module (HSM). */
export interface SigningKey {
  /** Signer certificate, DER. */
  certificate: Uint8Array;
  /** Issuer chain above the signer, DER, nearest first; the root last (may be omitted for a public CA). */
  chain: Uint8Array[];
  algorithm: KeyAlgorithm;
  /**
   * Sign `data` with SHA-256 (RSASSA-PKCS1-v1_5 for RSA; ECDSA returns a DER `Ecdsa-Sig-Value`).
   * The provider hashes; callers pass the DER of the signed attributes.
   */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** Validation material to embed in a DSS (B-LT) for a certificate chain. */
export interface RevocationMaterial {
  certs: Uint8Array[];
  crls: Uint8Array[];
  ocsps: Uint8Array[];
}

export interface KeyProvider {
  readonly kind: 'dev' | 'pkcs12' | 'pkcs11';
  /** The witness (立会人) sealing key. */
  sealingKey(): Promise<SigningKey>;
  /** Trust anchors (DER) our verifier accepts for this provider's chains (e.g. the dev root). */
  trustAnchors(): Promise<Uint8Array[]>;
}
