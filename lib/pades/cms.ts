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

function parseAsn1(der: Uint8Array): asn1js.AsnType {
  const r = asn1js.fromBER(toAB(der));
  if (r.offset === -1) throw new Error('bad DER');
  return r.result;
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

/**
 * Builds the detached PAdES CMS (SignedData) over a SHA-256 content digest.
 * `timestamp` is called with SHA-256(signature value) and returns a TimeStampToken (DER) that is
 * added as the unsigned signature-time-stamp attribute (B-T). No signing-time attribute (PAdES).
 */
export async function buildPadesCms(
  contentDigest: Uint8Array,
  key: SigningKey,
  timestamp?: (signatureDigest: Uint8Array) => Promise<Uint8Array>,
): Promise<{ der: Uint8Array; signatureValue: Uint8Array; timestampToken?: Uint8Array }> {
  const cert = pkijs.Certificate.fromBER(toAB(key.certificate));
  const digestAlg = algId(OID.sha256, false);
  const sigAlg = signatureAlgorithmFor(key);
  const attrs = [
    new pkijs.Attribute({ type: OID.contentType, values: [new asn1js.ObjectIdentifier({ value: OID.data })] }),
    new pkijs.Attribute({ type: OID.messageDigest, values: [new asn1js.OctetString({ valueHex: toAB(contentDigest) })] }),
    new pkijs.Attribute({ type: OID.signingCertificateV2, values: [signingCertificateV2(key.certificate)] }),
    new pkijs.Attribute({ type: OID.cmsAlgorithmProtection, values: [cmsAlgorithmProtection(digestAlg, sigAlg)] }),
  ];
  // DER: SET OF sorted by encoding.
  const enc = attrs.map((a) => Buffer.from(a.toSchema().toBER(false)));
  const order = attrs.map((_, i) => i).sort((a, b) => Buffer.compare(enc[a], enc[b]));
  const signedAttrs = new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: order.map((i) => attrs[i]) });
  const toSign = new Uint8Array(signedAttrs.toSchema().toBER(false));
  toSign[0] = 0x31; // signed as an explicit SET OF (RFC 5652 §5.4)
  const signatureValue = await key.sign(toSign);

  const signerInfo = new pkijs.SignerInfo({
    version: 1,
    sid: new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: cert.serialNumber }),
    digestAlgorithm: digestAlg,
    signedAttrs,
    signatureAlgorithm: sigAlg,
    signature: new asn1js.OctetString({ valueHex: toAB(signatureValue) }),
  });
  let timestampToken: Uint8Array | undefined;
  if (timestamp) {
    timestampToken = await timestamp(sha256(signatureValue));
    signerInfo.unsignedAttrs = new pkijs.SignedAndUnsignedAttributes({
      type: 1,
      attributes: [new pkijs.Attribute({ type: OID.signatureTimeStampToken, values: [parseAsn1(timestampToken)] })],
    });
  }
  const certs = [key.certificate, ...key.chain].map((d) => pkijs.Certificate.fromBER(toAB(d)));
  const sd = new pkijs.SignedData({
    version: 1,
    digestAlgorithms: [digestAlg],
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: OID.data }),
    certificates: certs,
    signerInfos: [signerInfo],
  });
  const ci = new pkijs.ContentInfo({ contentType: OID.signedData, content: sd.toSchema(true) });
  return { der: new Uint8Array(ci.toSchema().toBER(false)), signatureValue, timestampToken };
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
