/**
 * The PAdES signature's CMS: a detached SignedData (eContentType id-data) over the ByteRange digest,
 * built by the crypto core (lib/pki/cms) with the signed attributes content-type, message-digest,
 * ESS signing-certificate-v2 and CMSAlgorithmProtection — and no signing-time (the time is the
 * signature dictionary's /M) — plus the RFC 3161 signature time-stamp as an unsigned attribute (B-T).
 */
import { createHash } from 'node:crypto';
import { OID, attribute, buildSignedData, parseOne } from '../pki';
import type { SigningKey } from '../pki/types';

/**
 * Builds the detached PAdES CMS over a SHA-256 content digest. `timestamp` is called with
 * SHA-256(signature value) and returns a DER TimeStampToken for the signature-time-stamp attribute.
 */
export async function buildPadesCms(
  contentDigest: Uint8Array,
  key: SigningKey,
  timestamp?: (signatureDigest: Uint8Array) => Promise<Uint8Array>,
): Promise<{ der: Uint8Array; signatureValue: Uint8Array }> {
  const { der, signatureValue } = await buildSignedData({
    eContentType: OID.data,
    contentDigest,
    key,
    certificates: [key.certificate, ...key.chain],
    algorithmProtection: true,
    unsigned: timestamp
      ? async (sig) => {
          const token = await timestamp(createHash('sha256').update(sig).digest());
          parseOne(token); // exactly one ASN.1 object
          return [attribute(OID.signatureTimeStampToken, token)];
        }
      : undefined,
  });
  return { der, signatureValue };
}
