/**
 * CAdES/CMS plumbing for PAdES (RFC 5652, RFC 5035, RFC 6211, RFC 3161) on pkijs + asn1js.
 * We never let pkijs sign or verify: signing goes through `SigningKey.sign()` (HSM-friendly)
 * and verification through node:crypto, so the bytes that are signed are always explicit.
 */
import crypto from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { SigningKey } from '../pki/types';

export const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  signingCertificate: '1.2.840.113549.1.9.16.2.12',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  cmsAlgorithmProtection: '1.2.840.113549.1.9.52',
  signatureTimeStampToken: '1.2.840.113549.1.9.16.2.14',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  rsaEncryption: '1.2.840.113549.1.1.1',
  sha256WithRSA: '1.2.840.113549.1.1.11',
  sha384WithRSA: '1.2.840.113549.1.1.12',
  sha512WithRSA: '1.2.840.113549.1.1.13',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  ecdsaSha384: '1.2.840.10045.4.3.3',
  ecdsaSha512: '1.2.840.10045.4.3.4',
  ecPublicKey: '1.2.840.10045.2.1',
} as const;

export const HASH_BY_OID: Record<string, string> = {
  [OID.sha1]: 'sha1',
  [OID.sha256]: 'sha256',
  [OID.sha384]: 'sha384',
  [OID.sha512]: 'sha512',
};

export function toAB(u: Uint8Array): ArrayBuffer {
  return u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer;
}

export function sha256(...parts: Uint8Array[]): Buffer {
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** ESS SigningCertificateV2 with one ESSCertIDv2 (SHA-256, hashAlgorithm omitted as DEFAULT) + IssuerSerial. */
export function signingCertificateV2(certDer: Uint8Array): asn1js.Sequence {
  const cert = pkijs.Certificate.fromBER(toAB(certDer));
  const issuerSerial = new asn1js.Sequence({
    value: [
      new asn1js.Sequence({
        value: [new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 4 }, value: [cert.issuer.toSchema()] })],
      }),
      cert.serialNumber,
    ],
  });
  const essCertIdV2 = new asn1js.Sequence({
    value: [new asn1js.OctetString({ valueHex: toAB(sha256(certDer)) }), issuerSerial],
  });
  return new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [essCertIdV2] })] });
}

function algId(oid: string, nullParams: boolean): pkijs.AlgorithmIdentifier {
  return new pkijs.AlgorithmIdentifier(
    nullParams ? { algorithmId: oid, algorithmParams: new asn1js.Null() } : { algorithmId: oid },
  );
}

export function signatureAlgorithmFor(key: SigningKey): pkijs.AlgorithmIdentifier {
  return key.algorithm === 'RSA' ? algId(OID.sha256WithRSA, true) : algId(OID.ecdsaSha256, false);
}

/** RFC 6211 CMSAlgorithmProtection. */
function cmsAlgorithmProtection(digest: pkijs.AlgorithmIdentifier, sig: pkijs.AlgorithmIdentifier): asn1js.Sequence {
  const sigSchema = sig.toSchema() as asn1js.Sequence;
  return new asn1js.Sequence({
    value: [
      digest.toSchema(),
      new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 1 }, value: sigSchema.valueBlock.value }),
    ],
  });
}

// --- DER assembly --------------------------------------------------------------------------------
// The CMS is assembled from DER pieces: the fixed parts (algorithm identifiers, attribute headers) are
// encoded once with pkijs/asn1js, the per-certificate parts (IssuerAndSerialNumber, ESS
// signing-certificate-v2) once per certificate, and certificates and the timestamp token are copied
// as they are. Sealing then parses no certificate and re-encodes nothing (that cost ~10 ms a seal).

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** True when `b` is exactly one definite-length TLV (a SEQUENCE), nothing before or after it. */
function isOneDerObject(b: Uint8Array): boolean {
  if (b.length < 2 || b[0] !== TAG.sequence) return false;
  let len = b[1];
  let off = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || b.length < 2 + n) return false;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[2 + i];
    off = 2 + n;
  }
  return off + len === b.length;
}

/** One DER TLV: `tag` (a single identifier octet) around the concatenated `parts`. */
export function derTlv(tag: number, ...parts: Uint8Array[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

const TAG = { integer: 0x02, octetString: 0x04, sequence: 0x30, set: 0x31, ctx0: 0xa0, ctx1: 0xa1 } as const;

let fixedParts:
  | {
      digestAlg: Buffer;
      sigAlg: Record<SigningKey['algorithm'], Buffer>;
      contentTypeAttr: Buffer;
      algProtectionAttr: Record<SigningKey['algorithm'], Buffer>;
      messageDigestOid: Buffer;
      timestampAttrOid: Buffer;
      dataContentInfo: Buffer;
      signedDataOid: Buffer;
    }
  | undefined;

function fixed() {
  if (fixedParts) return fixedParts;
  const ber = (x: { toBER(sizeOnly?: boolean): ArrayBuffer }) => Buffer.from(x.toBER(false));
  const digestAlg = algId(OID.sha256, false);
  const sigAlgOf = (a: SigningKey['algorithm']) => (a === 'RSA' ? algId(OID.sha256WithRSA, true) : algId(OID.ecdsaSha256, false));
  const attr = (type: string, value: asn1js.AsnType) => ber(new pkijs.Attribute({ type, values: [value] }).toSchema());
  fixedParts = {
    digestAlg: ber(digestAlg.toSchema()),
    sigAlg: { RSA: ber(sigAlgOf('RSA').toSchema()), 'ECDSA-P256': ber(sigAlgOf('ECDSA-P256').toSchema()) },
    contentTypeAttr: attr(OID.contentType, new asn1js.ObjectIdentifier({ value: OID.data })),
    algProtectionAttr: {
      RSA: attr(OID.cmsAlgorithmProtection, cmsAlgorithmProtection(digestAlg, sigAlgOf('RSA'))),
      'ECDSA-P256': attr(OID.cmsAlgorithmProtection, cmsAlgorithmProtection(digestAlg, sigAlgOf('ECDSA-P256'))),
    },
    messageDigestOid: ber(new asn1js.ObjectIdentifier({ value: OID.messageDigest })),
    timestampAttrOid: ber(new asn1js.ObjectIdentifier({ value: OID.signatureTimeStampToken })),
    dataContentInfo: ber(new pkijs.EncapsulatedContentInfo({ eContentType: OID.data }).toSchema()),
    signedDataOid: ber(new asn1js.ObjectIdentifier({ value: OID.signedData })),
  };
  return fixedParts;
}

/** Per signing certificate (by SHA-256 of its DER): the SignerInfo sid and the ESS attribute. */
const certParts = new Map<string, { sid: Buffer; essAttr: Buffer }>();
function partsOf(certDer: Uint8Array): { sid: Buffer; essAttr: Buffer } {
  const k = sha256(certDer).toString('hex');
  let p = certParts.get(k);
  if (!p) {
    const cert = pkijs.Certificate.fromBER(toAB(certDer));
    const sid = new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: cert.serialNumber });
    p = {
      sid: Buffer.from(sid.toSchema().toBER(false)),
      essAttr: Buffer.from(new pkijs.Attribute({ type: OID.signingCertificateV2, values: [signingCertificateV2(certDer)] }).toSchema().toBER(false)),
    };
    if (certParts.size >= 32) certParts.delete(certParts.keys().next().value!);
    certParts.set(k, p);
  }
  return p;
}

/**
 * Builds the detached PAdES CMS (SignedData) over a SHA-256 content digest.
 * `timestamp` is called with SHA-256(signature value) and returns a TimeStampToken (DER) that is
 * added as the unsigned signature-time-stamp attribute (B-T). No signing-time attribute (PAdES).
 * Signed attributes (DER-sorted): content-type, message-digest, ESS signing-certificate-v2 and
 * CMSAlgorithmProtection.
 */
export async function buildPadesCms(
  contentDigest: Uint8Array,
  key: SigningKey,
  timestamp?: (signatureDigest: Uint8Array) => Promise<Uint8Array>,
): Promise<{ der: Uint8Array; signatureValue: Uint8Array; timestampToken?: Uint8Array }> {
  const f = fixed();
  const { sid, essAttr } = partsOf(key.certificate);
  const mdAttr = derTlv(TAG.sequence, f.messageDigestOid, derTlv(TAG.set, derTlv(TAG.octetString, contentDigest)));
  // DER: SET OF sorted by encoding.
  const attrs = [f.contentTypeAttr, mdAttr, essAttr, f.algProtectionAttr[key.algorithm]].sort(Buffer.compare);
  const toSign = derTlv(TAG.set, ...attrs); // signed as an explicit SET OF (RFC 5652 §5.4)
  const signatureValue = await key.sign(new Uint8Array(toSign));

  let timestampToken: Uint8Array | undefined;
  let unsigned: Buffer[] = [];
  if (timestamp) {
    timestampToken = await timestamp(sha256(signatureValue));
    if (!isOneDerObject(timestampToken)) throw new Error('timestamp token is not one DER object');
    unsigned = [derTlv(TAG.ctx1, derTlv(TAG.sequence, f.timestampAttrOid, derTlv(TAG.set, timestampToken)))];
  }
  const signerInfo = derTlv(
    TAG.sequence,
    Buffer.from([TAG.integer, 1, 1]),
    sid,
    f.digestAlg,
    derTlv(TAG.ctx0, ...attrs),
    f.sigAlg[key.algorithm],
    derTlv(TAG.octetString, signatureValue),
    ...unsigned,
  );
  const signedData = derTlv(
    TAG.sequence,
    Buffer.from([TAG.integer, 1, 1]),
    derTlv(TAG.set, f.digestAlg),
    f.dataContentInfo,
    derTlv(TAG.ctx0, key.certificate, ...key.chain),
    derTlv(TAG.set, signerInfo),
  );
  const ci = derTlv(TAG.sequence, f.signedDataOid, derTlv(TAG.ctx0, signedData));
  return { der: new Uint8Array(ci), signatureValue, timestampToken };
}

/** Parses a DER ContentInfo(SignedData). Trailing zero padding (from /Contents) is ignored. */
export function parseSignedData(der: Uint8Array): { sd: pkijs.SignedData; length: number } {
  const r = asn1js.fromBER(toAB(der));
  if (r.offset === -1) throw new Error('CMS の DER を解析できません');
  const ci = new pkijs.ContentInfo({ schema: r.result });
  if (ci.contentType !== OID.signedData) throw new Error('SignedData ではありません');
  return { sd: new pkijs.SignedData({ schema: ci.content }), length: r.offset };
}

export function certDer(c: pkijs.CertificateSetItem): Uint8Array | undefined {
  return c instanceof pkijs.Certificate ? new Uint8Array(c.toSchema().toBER(false)) : undefined;
}

/** Node's hash name for a signature verification from the SignerInfo algorithms. */
export function verifyParams(si: pkijs.SignerInfo): { hash: string } {
  const sigOid = si.signatureAlgorithm.algorithmId;
  const byOid: Record<string, string> = {
    [OID.sha256WithRSA]: 'sha256',
    [OID.sha384WithRSA]: 'sha384',
    [OID.sha512WithRSA]: 'sha512',
    [OID.ecdsaSha256]: 'sha256',
    [OID.ecdsaSha384]: 'sha384',
    [OID.ecdsaSha512]: 'sha512',
  };
  const h = byOid[sigOid] ?? ((sigOid === OID.rsaEncryption || sigOid === OID.ecPublicKey) ? HASH_BY_OID[si.digestAlgorithm.algorithmId] : undefined);
  if (!h) throw new Error(`未対応の署名アルゴリズムです（${sigOid}）`);
  return { hash: h };
}

export function attrValue(si: pkijs.SignerInfo, oid: string, signed = true): asn1js.AsnType | undefined {
  const set = signed ? si.signedAttrs : si.unsignedAttrs;
  return set?.attributes.find((a) => a.type === oid)?.values[0];
}

/** Finds the SignerInfo's certificate among `certs` (IssuerAndSerialNumber or SubjectKeyIdentifier). */
export function findSignerCert(si: pkijs.SignerInfo, certs: Uint8Array[]): Uint8Array | undefined {
  for (const d of certs) {
    const c = pkijs.Certificate.fromBER(toAB(d));
    if (si.sid instanceof pkijs.IssuerAndSerialNumber) {
      if (c.issuer.isEqual(si.sid.issuer) && c.serialNumber.isEqual(si.sid.serialNumber)) return d;
    } else if (si.sid instanceof asn1js.Constructed || si.sid instanceof asn1js.OctetString) {
      const ski = c.extensions?.find((e) => e.extnID === '2.5.29.14');
      const skiVal = ski ? Buffer.from((ski.parsedValue as asn1js.OctetString).valueBlock.valueHexView) : undefined;
      const sidVal = si.sid instanceof asn1js.OctetString ? Buffer.from(si.sid.valueBlock.valueHexView) : undefined;
      if (skiVal && sidVal && skiVal.equals(sidVal)) return d;
    }
  }
  return undefined;
}

/**
 * Checks a SignerInfo: message-digest attribute equals `contentDigest(hashName)`, and the signature
 * over the DER signed attributes verifies with the signer certificate. Returns problems (empty = ok).
 */
export function checkSignerInfo(
  si: pkijs.SignerInfo,
  signerCertDer: Uint8Array,
  contentDigest: (hash: string) => Uint8Array,
): string[] {
  const problems: string[] = [];
  const hashName = HASH_BY_OID[si.digestAlgorithm.algorithmId];
  if (!hashName) return [`未対応のダイジェストアルゴリズムです（${si.digestAlgorithm.algorithmId}）`];
  if (!si.signedAttrs) return ['署名属性（signedAttrs）がありません'];
  const md = attrValue(si, OID.messageDigest);
  if (!(md instanceof asn1js.OctetString)) problems.push('message-digest 属性がありません');
  else if (!Buffer.from(md.valueBlock.valueHexView).equals(Buffer.from(contentDigest(hashName))))
    problems.push('文書のハッシュ値が署名時と一致しません（改ざんの可能性）');
  try {
    const { hash } = verifyParams(si);
    const pub = new crypto.X509Certificate(Buffer.from(signerCertDer)).publicKey;
    const ok = crypto.verify(hash, Buffer.from(si.signedAttrs.encodedValue), pub, Buffer.from(si.signature.valueBlock.valueHexView));
    if (!ok) problems.push('署名値の検証に失敗しました');
  } catch (e) {
    problems.push(`署名値を検証できません: ${(e as Error).message}`);
  }
  return problems;
}

export interface ParsedTimestamp {
  genTime: Date;
  hashAlgorithm: string;
  imprint: Uint8Array;
  serialNumber: string;
  tsaCert?: Uint8Array;
  certificates: Uint8Array[];
  problems: string[];
}

/** Parses and cryptographically checks a TimeStampToken (CMS over TSTInfo). Trust is checked by the caller. */
export function checkTimestampToken(token: Uint8Array): ParsedTimestamp {
  const { sd } = parseSignedData(token);
  if (sd.encapContentInfo.eContentType !== OID.tstInfo) throw new Error('タイムスタンプトークンではありません');
  const econtent = sd.encapContentInfo.eContent;
  if (!econtent) throw new Error('TSTInfo がありません');
  const tstBytes = econtentBytes(econtent);
  const tst = pkijs.TSTInfo.fromBER(toAB(tstBytes));
  const certificates = (sd.certificates ?? []).map(certDer).filter((x): x is Uint8Array => !!x);
  const si = sd.signerInfos[0];
  const problems: string[] = [];
  const tsaCert = si ? findSignerCert(si, certificates) : undefined;
  if (!si) problems.push('タイムスタンプに SignerInfo がありません');
  else if (!tsaCert) problems.push('タイムスタンプ局（TSA）の証明書がトークンに含まれていません');
  else {
    problems.push(...checkSignerInfo(si, tsaCert, (h) => crypto.createHash(h).update(tstBytes).digest()));
    const x = new crypto.X509Certificate(Buffer.from(tsaCert));
    if (!/Time Stamping|1\.3\.6\.1\.5\.5\.7\.3\.8/.test(String(x.keyUsage ?? [])) && !(x.keyUsage ?? []).includes('1.3.6.1.5.5.7.3.8'))
      problems.push('TSA 証明書に timeStamping の拡張キー用途がありません');
    const ess = attrValue(si, OID.signingCertificateV2) ?? attrValue(si, OID.signingCertificate);
    if (!ess) problems.push('タイムスタンプに ESS signing-certificate 属性がありません');
  }
  return {
    genTime: tst.genTime,
    hashAlgorithm: HASH_BY_OID[tst.messageImprint.hashAlgorithm.algorithmId] ?? tst.messageImprint.hashAlgorithm.algorithmId,
    imprint: new Uint8Array(tst.messageImprint.hashedMessage.valueBlock.valueHexView),
    serialNumber: Buffer.from(tst.serialNumber.valueBlock.valueHexView).toString('hex'),
    tsaCert,
    certificates,
    problems,
  };
}

function econtentBytes(e: asn1js.OctetString): Uint8Array {
  // Constructed OCTET STRING (BER) is concatenated.
  if (e.idBlock.isConstructed) {
    const parts = (e.valueBlock.value as asn1js.OctetString[]).map((p) => Buffer.from(p.valueBlock.valueHexView));
    return Buffer.concat(parts);
  }
  return new Uint8Array(e.valueBlock.valueHexView);
}
