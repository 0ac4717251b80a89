/**
 * ESS signing-certificate attributes (RFC 2634 v1 with SHA-1, RFC 5035 v2): built for our signatures
 * and TSA tokens, checked in every signature and time-stamp token we verify.
 */
import { createHash } from 'node:crypto';
import { certInfo } from './certificate';
import { TAG, bytesOf, children, contentOf, octetValue, oid, readOid, tlv, type Tlv } from './der';
import { OID, hashOidToName } from './oids';

/**
 * The DER Attribute `signing-certificate-v2` for one certificate: ESSCertIDv2 with SHA-256 (the
 * DEFAULT algorithm, so omitted) and IssuerSerial (GeneralNames with the issuer as directoryName).
 */
export function signingCertificateV2Attribute(certDer: Uint8Array): Buffer {
  const c = certInfo(certDer);
  const issuerSerial = tlv(TAG.sequence, tlv(TAG.sequence, tlv(0xa4, c.issuer)), c.serial);
  const essCertIdV2 = tlv(TAG.sequence, tlv(TAG.octetString, createHash('sha256').update(certDer).digest()), issuerSerial);
  const value = tlv(TAG.sequence, tlv(TAG.sequence, essCertIdV2));
  return tlv(TAG.sequence, oid(OID.signingCertificateV2), tlv(TAG.set, value));
}

export type EssResult = 'match' | 'mismatch' | 'absent' | 'malformed';

/**
 * Checks the first ESSCertID(v2) of a signing-certificate(-v2) attribute value against `certDer`:
 * the hash (v2: stated algorithm or SHA-256; v1: SHA-1) and, when present, the IssuerSerial.
 */
export function checkEssCertId(value: Tlv | undefined, v2: boolean, certDer: Uint8Array): EssResult {
  if (!value) return 'absent';
  try {
    const certs = children(children(value)[0]);
    const first = children(certs[0]);
    let idx = 0;
    let alg = v2 ? 'sha256' : 'sha1';
    if (v2 && first[0].tag === TAG.sequence) {
      const name = hashOidToName(readOid(children(first[0])[0]));
      if (!name) return 'malformed';
      alg = name;
      idx = 1;
    }
    if (first[idx].tag !== TAG.octetString) return 'malformed';
    if (!Buffer.from(octetValue(first[idx])).equals(createHash(alg).update(certDer).digest())) return 'mismatch';
    const is = first[idx + 1];
    if (is) {
      const serial = children(is)[1];
      if (!serial || !Buffer.from(bytesOf(serial)).equals(Buffer.from(certInfo(certDer).serial))) return 'mismatch';
    }
    return 'match';
  } catch {
    return 'malformed';
  }
}

export { contentOf };
