/**
 * Inspect and verify RFC 3161 TimeStampTokens (a CMS SignedData over a TSTInfo).
 * Used by the TSA client (response checks) and by the PAdES verifier (signature and document time-stamps).
 */
import { createHash, X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { checkSignerInfo } from '../pki/cms-verify';
import { checkEssCertId } from '../pki/ess';
import { OID, certToDer, hasCriticalTimeStampingEku, hashOidToName, toArrayBuffer, toU8 } from '../pki/util';

export interface ParsedTimestampToken {
  genTime: Date;
  /** The time-stamped digest (TSTInfo.messageImprint.hashedMessage). */
  imprint: Uint8Array;
  /** Hash algorithm OID of the imprint. */
  hashAlgorithm: string;
  /** 'sha256' etc. when known. */
  hashAlgorithmName?: string;
  /** Hex. */
  serialNumber: string;
  /** Hex, when the request carried one. */
  nonce?: string;
  policy: string;
  /** Accuracy in milliseconds, when stated. */
  accuracyMs?: number;
  /** All certificates carried in the token (DER). */
  certificates: Uint8Array[];
  /** The TSA (signer) certificate, when present in the token. */
  signerCert?: Uint8Array;
  signedData: pkijs.SignedData;
}

export class TimestampTokenError extends Error {}

function intHex(i: asn1js.Integer): string {
  return Buffer.from(i.valueBlock.valueHexView).toString('hex');
}

function octets(o: asn1js.OctetString): Uint8Array {
  return toU8(o.getValue());
}

/** Which certificate in `certs` matches the signer identifier. */
function findSigner(si: pkijs.SignerInfo, certs: pkijs.Certificate[]): pkijs.Certificate | undefined {
  if (si.sid instanceof pkijs.IssuerAndSerialNumber) {
    const sid = si.sid;
    return certs.find((c) => c.issuer.isEqual(sid.issuer) && c.serialNumber.isEqual(sid.serialNumber));
  }
  const keyId = Buffer.from((si.sid as asn1js.OctetString).valueBlock.valueHexView);
  return certs.find((c) => {
    const ext = c.extensions?.find((e) => e.extnID === OID.subjectKeyIdentifier);
    const ski = ext ? Buffer.from((ext.parsedValue as asn1js.OctetString).valueBlock.valueHexView) : undefined;
    return ski?.equals(keyId);
  });
}

/**
 * The certificates of a SignedData exactly as they are encoded in it (no re-encoding), in the order
 * pkijs lists its `Certificate` entries; undefined when that cannot be matched up.
 */
function rawCertificates(signedDataBlock: unknown): Uint8Array[] | undefined {
  const seq = signedDataBlock as asn1js.Sequence;
  const items = seq?.valueBlock?.value;
  if (!Array.isArray(items)) return undefined;
  const set = items.find((b) => b.idBlock.tagClass === 3 && b.idBlock.tagNumber === 0) as asn1js.Constructed | undefined;
  if (!set) return [];
  const out: Uint8Array[] = [];
  for (const b of set.valueBlock.value) {
    if (b.idBlock.tagClass === 1 && b.idBlock.tagNumber === 16) out.push(new Uint8Array(b.valueBeforeDecodeView));
  }
  return out;
}

/** Parse a TimeStampToken (DER ContentInfo). Throws TimestampTokenError when it is not one. */
export function parseTimestampToken(der: Uint8Array): ParsedTimestampToken {
  let signedData: pkijs.SignedData;
  let tst: pkijs.TSTInfo;
  let raw: Uint8Array[] | undefined;
  try {
    const ci = pkijs.ContentInfo.fromBER(toArrayBuffer(der));
    if (ci.contentType !== OID.signedData) throw new TimestampTokenError('not a SignedData');
    raw = rawCertificates(ci.content);
    signedData = new pkijs.SignedData({ schema: ci.content });
    if (signedData.encapContentInfo.eContentType !== OID.tstInfo || !signedData.encapContentInfo.eContent) {
      throw new TimestampTokenError('eContentType is not id-ct-TSTInfo');
    }
    tst = pkijs.TSTInfo.fromBER(signedData.encapContentInfo.eContent.getValue());
  } catch (e) {
    if (e instanceof TimestampTokenError) throw e;
    throw new TimestampTokenError(`not a TimeStampToken: ${(e as Error).message}`);
  }
  const certs = (signedData.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate);
  const ders = raw && raw.length === certs.length ? raw : certs.map(certToDer);
  const signer = signedData.signerInfos[0] ? findSigner(signedData.signerInfos[0], certs) : undefined;
  const acc = tst.accuracy;
  const accuracyMs = acc ? (acc.seconds ?? 0) * 1000 + (acc.millis ?? 0) + (acc.micros ?? 0) / 1000 : undefined;
  return {
    genTime: tst.genTime,
    imprint: octets(tst.messageImprint.hashedMessage),
    hashAlgorithm: tst.messageImprint.hashAlgorithm.algorithmId,
    hashAlgorithmName: hashOidToName(tst.messageImprint.hashAlgorithm.algorithmId),
    serialNumber: intHex(tst.serialNumber),
    nonce: tst.nonce ? intHex(tst.nonce) : undefined,
    policy: tst.policy,
    accuracyMs,
    certificates: ders,
    signerCert: signer ? ders[certs.indexOf(signer)] : undefined,
    signedData,
  };
}

export interface TokenCheckOptions {
  /** Trust anchors (DER). When empty/absent the chain is not checked (`chainValid` undefined). */
  trustAnchors?: Uint8Array[];
  /** The time-stamped data: hashed with the token's algorithm and compared with the imprint. */
  data?: Uint8Array;
  /** Or the digest itself. */
  digest?: Uint8Array;
  /** Extra certificates to build the chain / find the signer (e.g. from a PDF's DSS). */
  certificates?: Uint8Array[];
}

export interface TimestampVerification {
  /** Everything checked passed, including the chain to a trust anchor and the imprint (when data/digest given). */
  valid: boolean;
  /** CMS signature over the signed attributes and message-digest over the TSTInfo. */
  signatureValid: boolean;
  /** ESS signing-certificate(-v2) present and matching the signer certificate. */
  essCertIdValid: boolean;
  /** TSA certificate carries EKU id-kp-timeStamping, critical. */
  ekuValid: boolean;
  /** Undefined when neither data nor digest was given. */
  imprintValid?: boolean;
  /** Undefined when no trust anchors were given. */
  chainValid?: boolean;
  /** The TSA certificate was valid at genTime. */
  certValidAtGenTime: boolean;
  /** Japanese, user-presentable reasons for each failed check. */
  errors: string[];
  token?: ParsedTimestampToken;
}

/** Check a token's signature, ESS certificate id, EKU, imprint and (optionally) chain. Never throws. */
export async function checkTimestampToken(der: Uint8Array, opts: TokenCheckOptions = {}): Promise<TimestampVerification> {
  const out: TimestampVerification = {
    valid: false,
    signatureValid: false,
    essCertIdValid: false,
    ekuValid: false,
    certValidAtGenTime: false,
    errors: [],
  };
  let tok: ParsedTimestampToken;
  try {
    tok = parseTimestampToken(der);
  } catch {
    out.errors.push('タイムスタンプトークンの形式が正しくありません。');
    return out;
  }
  out.token = tok;
  const extra = (opts.certificates ?? []).map((d) => pkijs.Certificate.fromBER(toArrayBuffer(d)));
  const si = tok.signedData.signerInfos[0];
  if (tok.signedData.signerInfos.length !== 1 || !si) {
    out.errors.push('タイムスタンプトークンの署名者情報が1つではありません。');
    return out;
  }
  const tokenCerts = (tok.signedData.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate);
  const signer = findSigner(si, [...tokenCerts, ...extra]);
  if (!signer) {
    out.errors.push('タイムスタンプ局（TSA）の証明書が見つかりません。');
    return out;
  }
  const inToken = tokenCerts.indexOf(signer);
  const signerDer = inToken >= 0 ? tok.certificates[inToken] : opts.certificates![extra.indexOf(signer)];
  tok.signerCert ??= signerDer;

  // CMS signature over the signed attributes, message-digest over the TSTInfo, content-type
  const cms = checkSignerInfo(tok.signedData, si, signer);
  out.signatureValid = cms.signatureValid && cms.digestValid && cms.contentTypeValid;
  if (!out.signatureValid) out.errors.push('タイムスタンプトークンの署名が正しくありません。');

  out.essCertIdValid = checkEssCertId(si.signedAttrs?.attributes, signerDer) === true;
  if (!out.essCertIdValid) out.errors.push('タイムスタンプトークンの署名証明書属性（ESS signing-certificate）が一致しません。');

  out.ekuValid = hasCriticalTimeStampingEku(signer);
  if (!out.ekuValid) out.errors.push('TSA証明書に重要（critical）な拡張キー用途 timeStamping がありません。');

  const x = new X509Certificate(Buffer.from(signerDer));
  const t = tok.genTime.getTime();
  out.certValidAtGenTime = t >= new Date(x.validFrom).getTime() && t <= new Date(x.validTo).getTime();
  if (!out.certValidAtGenTime) out.errors.push('タイムスタンプの時刻にTSA証明書が有効期間外です。');

  if (opts.data || opts.digest) {
    let expected: Uint8Array | undefined = opts.digest;
    if (opts.data) {
      const alg = tok.hashAlgorithmName;
      expected = alg ? new Uint8Array(createHash(alg).update(opts.data).digest()) : undefined;
    }
    out.imprintValid = !!expected && Buffer.from(expected).equals(Buffer.from(tok.imprint));
    if (!out.imprintValid) out.errors.push('タイムスタンプの対象データ（ハッシュ値）が一致しません。');
  }

  if (opts.trustAnchors && opts.trustAnchors.length > 0) {
    try {
      const anchors = opts.trustAnchors.map((d) => pkijs.Certificate.fromBER(toArrayBuffer(d)));
      const engine = new pkijs.CertificateChainValidationEngine({
        trustedCerts: anchors,
        certs: [signer, ...tokenCerts.filter((c) => c !== signer), ...extra],
        checkDate: tok.genTime,
      });
      const r = await engine.verify();
      out.chainValid = r.result === true;
    } catch {
      out.chainValid = false;
    }
    if (!out.chainValid) out.errors.push('TSA証明書が信頼できるルート証明書につながりません。');
  }

  out.valid =
    out.signatureValid &&
    out.essCertIdValid &&
    out.ekuValid &&
    out.certValidAtGenTime &&
    out.imprintValid !== false &&
    out.chainValid !== false;
  return out;
}

/**
 * Verify a token against trust anchors (required) and, when given, the data or digest it should cover.
 * `valid` is true only when the chain reaches an anchor and every other check passes.
 */
export async function verifyTimestampToken(
  der: Uint8Array,
  opts: TokenCheckOptions & { trustAnchors: Uint8Array[] },
): Promise<TimestampVerification> {
  const r = await checkTimestampToken(der, opts);
  if (r.chainValid === undefined) {
    r.chainValid = false;
    r.valid = false;
    r.errors.push('信頼できるルート証明書が設定されていません。');
  }
  return r;
}
