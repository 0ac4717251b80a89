/**
 * CMS SignedData (RFC 5652) with one SignerInfo: built from DER pieces (always DER: sorted SET OFs,
 * a primitive eContent), parsed without re-encoding, and verified with node:crypto over the signed
 * attributes exactly as they are encoded. Signing goes through `SigningKey.sign()`, so an HSM key
 * works the same as a file key. Used by the PAdES signer, the built-in TSA and every verifier.
 */
import { constants, createHash, verify as nodeVerify } from 'node:crypto';
import type { KeyAlgorithm, SigningKey } from '../types';
import { certInfo, subjectKeyIdentifier } from './certificate';
import {
  DER_NULL,
  DerError,
  TAG,
  algorithmIdentifier,
  bytesOf,
  children,
  contentOf,
  derViolations,
  octetValue,
  oid,
  parseOne,
  readOid,
  setOf,
  tlv,
  toDer,
  type Tlv,
} from './der';
import { signingCertificateV2Attribute } from './ess';
import { OID, SIGNATURE_HASH, hashOidToName, type HashName } from './oids';

// ------------------------------------------------------------------------------------------ build

const sigAlgDer: Record<KeyAlgorithm, Buffer> = {
  RSA: algorithmIdentifier(OID.sha256WithRSA, true),
  'ECDSA-P256': algorithmIdentifier(OID.ecdsaSha256),
};
const SHA256_ALG = algorithmIdentifier(OID.sha256);

export function attribute(type: string, ...values: Uint8Array[]): Buffer {
  return tlv(TAG.sequence, oid(type), setOf(values));
}

/** RFC 6211 CMSAlgorithmProtection for SHA-256 with the key's signature algorithm. */
function algorithmProtection(alg: KeyAlgorithm): Buffer {
  const sig = sigAlgDer[alg];
  const inner = children(parseOne(sig)).map(bytesOf);
  return attribute(OID.cmsAlgorithmProtection, tlv(TAG.sequence, SHA256_ALG, tlv(TAG.ctx1, ...inner)));
}

/** Per signing certificate: the SignerInfo sid and its ESS attribute (built once). */
const certParts = new Map<string, { sid: Buffer; essAttr: Buffer }>();
function partsOf(certDer: Uint8Array) {
  const c = certInfo(certDer);
  let p = certParts.get(c.id);
  if (!p) {
    p = { sid: tlv(TAG.sequence, c.issuer, c.serial), essAttr: signingCertificateV2Attribute(certDer) };
    if (certParts.size >= 64) certParts.delete(certParts.keys().next().value!);
    certParts.set(c.id, p);
  }
  return p;
}

export interface BuildSignedDataOptions {
  eContentType: string;
  /** Encapsulated content (a TSTInfo); absent: detached. */
  eContent?: Uint8Array;
  /** SHA-256 of the content (detached or encapsulated). */
  contentDigest: Uint8Array;
  key: SigningKey;
  /** Certificates to include (the signer's chain; empty: none). */
  certificates: Uint8Array[];
  /** Add CMSAlgorithmProtection (RFC 6211). */
  algorithmProtection?: boolean;
  /** Unsigned attributes (DER Attribute each) made from the signature value, e.g. a signature time-stamp. */
  unsigned?: (signatureValue: Uint8Array) => Promise<Uint8Array[]>;
}

/**
 * A DER ContentInfo(SignedData) with one SignerInfo whose signed attributes are content-type,
 * message-digest, ESS signing-certificate-v2 (and CMSAlgorithmProtection). No signing-time.
 */
export async function buildSignedData(o: BuildSignedDataOptions): Promise<{ der: Buffer; signatureValue: Uint8Array }> {
  const { sid, essAttr } = partsOf(o.key.certificate);
  const attrs = [
    attribute(OID.contentType, oid(o.eContentType)),
    attribute(OID.messageDigest, tlv(TAG.octetString, o.contentDigest)),
    essAttr,
    ...(o.algorithmProtection ? [algorithmProtection(o.key.algorithm)] : []),
  ].sort(Buffer.compare);
  const signatureValue = await o.key.sign(tlv(TAG.set, ...attrs)); // signed as an explicit SET OF
  const unsigned = o.unsigned ? await o.unsigned(signatureValue) : [];
  const signerInfo = tlv(
    TAG.sequence,
    Buffer.from([TAG.integer, 1, 1]),
    sid,
    SHA256_ALG,
    tlv(TAG.ctx0, ...attrs),
    sigAlgDer[o.key.algorithm],
    tlv(TAG.octetString, signatureValue),
    ...(unsigned.length ? [setOf(unsigned, TAG.ctx1)] : []),
  );
  const eci = o.eContent
    ? tlv(TAG.sequence, oid(o.eContentType), tlv(TAG.ctx0, tlv(TAG.octetString, o.eContent)))
    : tlv(TAG.sequence, oid(o.eContentType));
  const signedData = tlv(
    TAG.sequence,
    // version 3 when eContentType is not id-data (RFC 5652 §5.1), else 1
    Buffer.from([TAG.integer, 1, o.eContentType === OID.data ? 1 : 3]),
    setOf([SHA256_ALG]),
    eci,
    ...(o.certificates.length ? [setOf(o.certificates, TAG.ctx0)] : []),
    tlv(TAG.set, signerInfo),
  );
  return { der: tlv(TAG.sequence, oid(OID.signedData), tlv(TAG.ctx0, signedData)), signatureValue };
}

// ------------------------------------------------------------------------------------------ parse

export interface Attr {
  type: string;
  values: Tlv[];
}

export interface SignerInfoView {
  sid: { issuer: Uint8Array; serial: Uint8Array } | { keyId: Uint8Array };
  digestAlgorithm: string;
  /** The [0] IMPLICIT signed attributes as encoded (tag included). */
  signedAttrsDer?: Uint8Array;
  signedAttrs: Attr[];
  signatureAlgorithm: string;
  signatureParams?: Tlv;
  signature: Uint8Array;
  unsignedAttrs: Attr[];
}

export interface SignedDataView {
  /** The ContentInfo's own bytes (any /Contents padding cut off). */
  der: Uint8Array;
  eContentType: string;
  eContent?: Uint8Array;
  /** Certificates exactly as encoded. */
  certificates: Uint8Array[];
  signerInfos: SignerInfoView[];
  /** Where the encoding is not DER (empty = DER). */
  encodingProblems: string[];
}

function attrs(t: Tlv | undefined): Attr[] {
  if (!t) return [];
  return children(t).map((a) => {
    const [type, values] = children(a);
    return { type: readOid(type), values: children(values) };
  });
}

export function attrValue(list: Attr[], type: string): Tlv | undefined {
  return list.find((a) => a.type === type)?.values[0];
}

function parseSignerInfo(t: Tlv): SignerInfoView {
  const f = children(t);
  let i = 1;
  const sidT = f[i++];
  const sid =
    sidT.tag === TAG.sequence
      ? { issuer: bytesOf(children(sidT)[0]), serial: bytesOf(children(sidT)[1]) }
      : { keyId: contentOf(sidT) };
  const digestAlgorithm = readOid(children(f[i++])[0]);
  let signed: Tlv | undefined;
  if (f[i].tag === TAG.ctx0) signed = f[i++];
  const sigAlg = children(f[i++]);
  const signature = octetValue(f[i++]);
  const unsigned = f[i]?.tag === TAG.ctx1 ? f[i] : undefined;
  return {
    sid,
    digestAlgorithm,
    signedAttrsDer: signed ? bytesOf(signed) : undefined,
    signedAttrs: attrs(signed),
    signatureAlgorithm: readOid(sigAlg[0]),
    signatureParams: sigAlg[1],
    signature,
    unsignedAttrs: attrs(unsigned),
  };
}

/**
 * Parses a ContentInfo(SignedData). Trailing zero bytes (the padding of a PDF /Contents) are
 * ignored when `padded`. BER is read but every deviation from DER is listed in `encodingProblems`.
 */
export function parseSignedData(der: Uint8Array, opts: { padded?: boolean } = {}): SignedDataView {
  const ci = parseOne(der, opts.padded);
  const [type, explicit] = children(ci);
  if (readOid(type) !== OID.signedData) throw new DerError('not a SignedData');
  const sd = children(explicit)[0];
  const f = children(sd);
  const eci = children(f[2]);
  const eContentType = readOid(eci[0]);
  let eContent: Uint8Array | undefined;
  const encodingProblems: string[] = [];
  let named = -1;
  if (eci[1]) {
    const oct = children(eci[1])[0];
    if (oct.constructed) {
      encodingProblems.push('eContent is a constructed OCTET STRING (BER)');
      named = oct.start;
    }
    eContent = octetValue(oct);
  }
  let i = 3;
  const certificates: Uint8Array[] = [];
  if (f[i]?.tag === TAG.ctx0) {
    for (const c of children(f[i])) if (c.tag === TAG.sequence) certificates.push(bytesOf(c));
    i++;
  }
  if (f[i]?.tag === 0xa1) i++; // crls
  const signerInfos = children(f[i]).map(parseSignerInfo);
  const whole = bytesOf(ci);
  // Unsigned attributes (a signature time-stamp token) are checked as what they are, by their users.
  const unsignedRanges = children(f[i])
    .map((s) => children(s).find((x) => x.tag === TAG.ctx1))
    .filter((u): u is Tlv => !!u)
    .map((u) => [u.start, u.end] as const);
  for (const v of derViolations(ci, [], 64)) {
    const at = Number(/\(offset (\d+)\)$/.exec(v)?.[1] ?? -1);
    if (at === named || unsignedRanges.some(([a, b]) => at > a && at < b)) continue;
    encodingProblems.push(v);
  }
  // The signed attributes (an IMPLICIT [0] SET OF) are signed in DER order: a different order in the
  // message makes verifiers that use the bytes as sent and those that re-encode disagree. (An unsorted
  // certificates set is left alone: OpenSSL's own tokens have one and no validator refuses it.)
  const sorted = (t: Tlv | undefined, what: string) => {
    const kids = t ? children(t).map((k) => Buffer.from(bytesOf(k))) : [];
    for (let k = 1; k < kids.length; k++)
      if (Buffer.compare(kids[k - 1], kids[k]) > 0) return void encodingProblems.push(`${what} not in DER SET OF order`);
  };
  for (const s of children(f[i])) {
    const sf = children(s);
    sorted(sf.find((x) => x.tag === TAG.ctx0), 'signed attributes');
  }
  return { der: whole, eContentType, eContent, certificates, signerInfos, encodingProblems };
}

/** The signer's certificate among `certs` (IssuerAndSerialNumber or SubjectKeyIdentifier). */
export function findSignerCertificate(si: SignerInfoView, certs: Uint8Array[]): Uint8Array | undefined {
  for (const d of certs) {
    let c;
    try {
      c = certInfo(d);
    } catch {
      continue;
    }
    if ('issuer' in si.sid) {
      if (Buffer.from(c.issuer).equals(Buffer.from(si.sid.issuer)) && Buffer.from(c.serial).equals(Buffer.from(si.sid.serial))) return d;
    } else {
      const ski = subjectKeyIdentifier(c);
      if (ski && Buffer.from(ski).equals(Buffer.from(si.sid.keyId))) return d;
    }
  }
  return undefined;
}

// ----------------------------------------------------------------------------------------- verify

export interface SignerInfoCheck {
  /** The signature over the DER signed attributes verifies with the certificate's key. */
  signatureValid: boolean;
  /** Exactly one message-digest attribute, equal to the content's digest. */
  digestValid: boolean;
  /** Exactly one content-type attribute, equal to eContentType. */
  contentTypeValid: boolean;
  /** Why the signature could not be checked at all (unsupported algorithm, no signed attributes…). */
  error?: string;
}

/**
 * Verifies a SignerInfo over `content` (the encapsulated content when there is one, else the
 * detached content passed in, or a function giving the detached content's digest per algorithm).
 */
export function verifySignerInfo(
  sd: SignedDataView,
  si: SignerInfoView,
  signerCertDer: Uint8Array,
  content?: Uint8Array | ((hash: HashName) => Uint8Array),
): SignerInfoCheck {
  const out: SignerInfoCheck = { signatureValid: false, digestValid: false, contentTypeValid: false };
  const hash = hashOidToName(si.digestAlgorithm);
  if (!hash) return { ...out, error: `unsupported digest algorithm ${si.digestAlgorithm}` };
  if (!si.signedAttrsDer) return { ...out, error: 'no signed attributes' };
  const data = sd.eContent ?? content;
  if (!data) return { ...out, error: 'no content' };
  const digest = typeof data === 'function' ? data(hash) : createHash(hash).update(data).digest();
  const md = si.signedAttrs.filter((a) => a.type === OID.messageDigest);
  const ct = si.signedAttrs.filter((a) => a.type === OID.contentType);
  out.digestValid = md.length === 1 && md[0].values.length === 1 && Buffer.from(octetValue(md[0].values[0])).equals(Buffer.from(digest));
  out.contentTypeValid = ct.length === 1 && ct[0].values.length === 1 && readOid(ct[0].values[0]) === sd.eContentType;
  const signed = Buffer.from(si.signedAttrsDer);
  signed[0] = TAG.set; // signed as SET OF, not as the [0] IMPLICIT tag
  try {
    const key = certInfo(signerCertDer).x509.publicKey;
    if (si.signatureAlgorithm === OID.rsaPss) {
      const p = si.signatureParams ? children(si.signatureParams) : [];
      const hashT = p.find((x) => x.tag === TAG.ctx0);
      const saltT = p.find((x) => x.tag === 0xa2);
      const h = hashT ? hashOidToName(readOid(children(children(hashT)[0])[0])) ?? 'sha1' : 'sha1';
      const salt = saltT ? Number.parseInt(Buffer.from(contentOf(children(saltT)[0])).toString('hex'), 16) : 20;
      out.signatureValid = nodeVerify(h, signed, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: salt }, si.signature);
    } else {
      const h = SIGNATURE_HASH[si.signatureAlgorithm] ?? (si.signatureAlgorithm === OID.rsaEncryption || si.signatureAlgorithm === OID.ecPublicKey ? hash : undefined);
      if (!h) return { ...out, error: `unsupported signature algorithm ${si.signatureAlgorithm}` };
      out.signatureValid = nodeVerify(h, signed, key, si.signature);
    }
  } catch (e) {
    out.error = (e as Error).message;
  }
  return out;
}

/** Verify a signature over `tbs` (a CRL's or OCSP response's to-be-signed bytes) with a certificate's key. */
export function verifyTbs(tbs: Uint8Array, sigAlgOid: string, signature: Uint8Array, signerCertDer: Uint8Array): boolean {
  const h = SIGNATURE_HASH[sigAlgOid];
  if (!h) return false;
  try {
    return nodeVerify(h, tbs, certInfo(signerCertDer).x509.publicKey, signature);
  } catch {
    return false;
  }
}



/**
 * The DER form of a SignedData from elsewhere (a TSA's token), as we embed it: BER re-encoded as DER
 * (`toDer`) and the certificates SET OF sorted. Neither is covered by the signature — it signs the
 * content's value and the DER of the signed attributes, which are left as they are — so the token
 * stays valid. Returns the input itself when it is DER already. `ber`: whether the encoding has BER
 * forms, when the caller already knows (parseSignedData's encodingProblems).
 */
export function canonicalSignedData(der: Uint8Array, ber?: boolean): Uint8Array {
  let t = parseOne(der);
  if (ber ?? derViolations(t).some((v) => !v.startsWith('SET OF not sorted'))) t = parseOne(toDer(t));
  const [type, explicit] = children(t);
  const fields = children(children(explicit)[0]);
  const parts = fields.map(bytesOf);
  const ci = fields.findIndex((x, i) => i >= 3 && x.tag === TAG.ctx0);
  if (ci >= 0) parts[ci] = setOf(children(fields[ci]).map(bytesOf), TAG.ctx0);
  const out = tlv(TAG.sequence, bytesOf(type), tlv(TAG.ctx0, tlv(TAG.sequence, ...parts)));
  return Buffer.compare(out, Buffer.from(der)) === 0 ? der : new Uint8Array(out);
}
