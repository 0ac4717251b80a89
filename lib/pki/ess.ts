/**
 * Small CMS helpers pkijs lacks, shared by the built-in TSA and (if useful) the PAdES signer:
 *  - ESS signing-certificate-v2 (RFC 5035 / RFC 5816), hand-built with asn1js;
 *  - DER ordering of the signed-attributes SET OF (pkijs keeps insertion order; verifiers such as OpenSSL
 *    re-encode the set in DER order, so an unsorted set fails verification);
 *  - signing the signed attributes through any `sign(data)` function (works for HSM keys).
 */
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { KeyAlgorithm } from './types';
import { OID, hashOidToName, parseCertificate, toArrayBuffer, toU8 } from './util';

/** `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2 }` for one certificate, SHA-256. */
export function signingCertificateV2(certDer: Uint8Array): asn1js.Sequence {
  const cert = parseCertificate(certDer);
  const hash = createHash('sha256').update(certDer).digest();
  const essCertIdV2 = new asn1js.Sequence({
    value: [
      // hashAlgorithm omitted: DEFAULT id-sha256 (DER omits defaults)
      new asn1js.OctetString({ valueHex: toArrayBuffer(hash) }),
      new asn1js.Sequence({
        // IssuerSerial
        value: [
          new asn1js.Sequence({
            // GeneralNames with one directoryName [4] EXPLICIT Name
            value: [new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 4 }, value: [cert.issuer.toSchema()] })],
          }),
          new asn1js.Integer({ valueHex: toArrayBuffer(toU8(cert.serialNumber.valueBlock.valueHexView)) }),
        ],
      }),
    ],
  });
  return new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [essCertIdV2] })] });
}

export function signingCertificateV2Attribute(certDer: Uint8Array): pkijs.Attribute {
  return new pkijs.Attribute({ type: OID.signingCertificateV2, values: [signingCertificateV2(certDer)] });
}

/**
 * Check an ESS signing-certificate(-v2) attribute against `certDer`: the first ESSCertID's hash must equal
 * the certificate's hash (v2: the stated algorithm, default SHA-256; v1: SHA-1).
 * Returns undefined when no such attribute exists.
 */
export function checkEssCertId(attrs: pkijs.Attribute[] | undefined, certDer: Uint8Array): boolean | undefined {
  const attr = attrs?.find((a) => a.type === OID.signingCertificateV2 || a.type === OID.signingCertificate);
  if (!attr) return undefined;
  try {
    const scv = attr.values[0] as asn1js.Sequence;
    const certs = scv.valueBlock.value[0] as asn1js.Sequence;
    const first = certs.valueBlock.value[0] as asn1js.Sequence;
    const parts = first.valueBlock.value;
    let alg = attr.type === OID.signingCertificate ? 'sha1' : 'sha256';
    let idx = 0;
    if (attr.type === OID.signingCertificateV2 && parts[0] instanceof asn1js.Sequence) {
      const algId = new pkijs.AlgorithmIdentifier({ schema: parts[0] });
      const name = hashOidToName(algId.algorithmId);
      if (!name) return false;
      alg = name;
      idx = 1;
    }
    const certHash = toU8((parts[idx] as asn1js.OctetString).valueBlock.valueHexView);
    return Buffer.from(certHash).equals(createHash(alg).update(certDer).digest());
  } catch {
    return false;
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Sort attributes into DER SET OF order (by their encodings). */
export function derSortAttributes(attrs: pkijs.Attribute[]): pkijs.Attribute[] {
  return attrs
    .map((a) => ({ a, der: toU8(a.toSchema().toBER(false)) }))
    .sort((x, y) => compareBytes(x.der, y.der))
    .map((x) => x.a);
}

/** DER of the signed attributes as signed: `SET OF Attribute` (tag 0x31), in DER order. */
export function signedAttributesDer(attrs: pkijs.Attribute[]): Uint8Array {
  const set = new asn1js.Set({ value: derSortAttributes(attrs).map((a) => a.toSchema()) });
  return toU8(set.toBER(false));
}

export function contentTypeAttribute(oid: string): pkijs.Attribute {
  return new pkijs.Attribute({ type: OID.contentType, values: [new asn1js.ObjectIdentifier({ value: oid })] });
}

export function messageDigestAttribute(digest: Uint8Array): pkijs.Attribute {
  return new pkijs.Attribute({ type: OID.messageDigest, values: [new asn1js.OctetString({ valueHex: toArrayBuffer(digest) })] });
}

/** CMS signatureAlgorithm for SHA-256 with the given key algorithm. */
export function signatureAlgorithmFor(alg: KeyAlgorithm): pkijs.AlgorithmIdentifier {
  return alg === 'RSA'
    ? new pkijs.AlgorithmIdentifier({ algorithmId: '1.2.840.113549.1.1.11', algorithmParams: new asn1js.Null() })
    : new pkijs.AlgorithmIdentifier({ algorithmId: '1.2.840.10045.4.3.2' });
}

export function sha256AlgorithmIdentifier(): pkijs.AlgorithmIdentifier {
  return new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256, algorithmParams: new asn1js.Null() });
}
