/**
 * Verify one CMS SignerInfo with node:crypto (RFC 5652 §5.4, §5.6): content-type and message-digest
 * attributes against the (encapsulated or detached) content, and the signature over the DER of the signed
 * attributes exactly as encoded in the message. pkijs' own verify insists on the original data for
 * time-stamp tokens; this works from the content alone and supports RSA PKCS#1 v1.5, RSA-PSS and ECDSA.
 */
import { createHash, createPublicKey, constants, verify as nodeVerify } from 'node:crypto';
import type * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { OID, hashOidToName, toU8 } from './util';

export interface SignerInfoCheck {
  /** Signature over the signed attributes verifies with the certificate's key. */
  signatureValid: boolean;
  /** message-digest attribute equals the digest of the content. */
  digestValid: boolean;
  /** content-type attribute equals eContentType. */
  contentTypeValid: boolean;
  /** Digest of the content with the SignerInfo's digest algorithm. */
  contentDigest?: Uint8Array;
  error?: string;
}

const SIG_HASH: Record<string, string> = {
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};

export function checkSignerInfo(
  signedData: pkijs.SignedData,
  si: pkijs.SignerInfo,
  signerCert: pkijs.Certificate,
  detachedContent?: Uint8Array,
): SignerInfoCheck {
  const out: SignerInfoCheck = { signatureValid: false, digestValid: false, contentTypeValid: false };
  try {
    const digestName = hashOidToName(si.digestAlgorithm.algorithmId);
    if (!digestName) return { ...out, error: `unsupported digest ${si.digestAlgorithm.algorithmId}` };
    const eContent = signedData.encapContentInfo.eContent;
    const content = eContent ? toU8(eContent.getValue()) : detachedContent;
    if (!content) return { ...out, error: 'no content' };
    out.contentDigest = new Uint8Array(createHash(digestName).update(content).digest());
    const attrs = si.signedAttrs;
    if (!attrs || attrs.attributes.length === 0) return { ...out, error: 'no signed attributes' };
    const md = attrs.attributes.filter((a) => a.type === OID.messageDigest);
    const ct = attrs.attributes.filter((a) => a.type === OID.contentType);
    out.digestValid =
      md.length === 1 && Buffer.from(toU8((md[0].values[0] as asn1js.OctetString).valueBlock.valueHexView)).equals(out.contentDigest);
    out.contentTypeValid =
      ct.length === 1 && (ct[0].values[0] as asn1js.ObjectIdentifier).valueBlock.toString() === signedData.encapContentInfo.eContentType;
    // The signed bytes: the attributes as encoded in the message, with the [0] IMPLICIT tag replaced by SET.
    const enc = attrs.encodedValue.byteLength ? new Uint8Array(attrs.encodedValue.slice(0)) : toU8(attrs.toSchema().toBER(false));
    enc[0] = 0x31;
    const sigAlg = si.signatureAlgorithm.algorithmId;
    const pub = createPublicKey({
      key: Buffer.from(signerCert.subjectPublicKeyInfo.toSchema().toBER(false)),
      format: 'der',
      type: 'spki',
    });
    const signature = toU8(si.signature.valueBlock.valueHexView);
    if (sigAlg === '1.2.840.113549.1.1.10') {
      const params = new pkijs.RSASSAPSSParams({ schema: si.signatureAlgorithm.algorithmParams });
      const h = hashOidToName(params.hashAlgorithm.algorithmId) ?? 'sha1';
      out.signatureValid = nodeVerify(h, enc, { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: params.saltLength }, signature);
    } else {
      const h = SIG_HASH[sigAlg] ?? (sigAlg === OID.rsaEncryption || sigAlg === OID.ecPublicKey ? digestName : undefined);
      if (!h) return { ...out, error: `unsupported signature algorithm ${sigAlg}` };
      out.signatureValid = nodeVerify(h, enc, pub, signature);
    }
  } catch (e) {
    out.error = (e as Error).message;
  }
  return out;
}
