/**
 * RFC 3161 time-stamp structures and the one rule set for time-stamp tokens. Requests, TSTInfo and
 * responses are built as DER; a token is accepted only when its CMS signature and message digest
 * verify, it carries an ESS signing-certificate(-v2) matching the TSA certificate, that certificate
 * has the timeStamping key purpose in a critical EKU and was valid at genTime, the imprint matches
 * (when the data is given), the TSA chains to a trust anchor (when anchors are given), and the token
 * is DER (strict validators refuse BER).
 */
import { createHash, randomBytes } from 'node:crypto';
import { certInfo, certValidAt, hasCriticalTimeStampingEku } from './certificate';
import {
  DER_NULL,
  DER_TRUE,
  DerError,
  TAG,
  algorithmIdentifier,
  bytesOf,
  children,
  contentOf,
  generalizedTime,
  intHex,
  octetValue,
  oid,
  parseOne,
  readOid,
  readTime,
  smallInt,
  tlv,
  uint,
} from './der';
import { checkEssCertId } from './ess';
import { OID, hashOidToName, type HashName } from './oids';
import { buildPath, type CertPath } from './path';
import { attrValue, buildSignedData, findSignerCertificate, parseSignedData, verifySignerInfo, type SignedDataView } from './signed-data';
import type { SigningKey } from '../types';

export class TimestampTokenError extends Error {}

// ------------------------------------------------------------------------------------ request

export interface TimestampRequest {
  hashAlgorithm: string;
  /** The AlgorithmIdentifier carried NULL parameters. */
  hashParamsNull: boolean;
  imprint: Uint8Array;
  policy?: string;
  /** Unsigned hex. */
  nonceHex?: string;
  nonce?: Uint8Array;
  certReq: boolean;
  version: number;
  hasExtensions: boolean;
}

/** A DER TimeStampReq for a SHA-256 digest, with a random positive 64-bit nonce and certReq TRUE. */
export function buildTimestampRequest(sha256Digest: Uint8Array, opts: { policy?: string; nonce?: Uint8Array } = {}): { der: Buffer; nonceHex: string } {
  const n = Buffer.from(opts.nonce ?? randomBytes(8));
  n[0] = (n[0] & 0x7f) | 0x40; // positive, all 8 octets significant
  const der = tlv(
    TAG.sequence,
    smallInt(1),
    tlv(TAG.sequence, algorithmIdentifier(OID.sha256, true), tlv(TAG.octetString, sha256Digest)),
    ...(opts.policy ? [oid(opts.policy)] : []),
    uint(n),
    DER_TRUE,
  );
  return { der, nonceHex: n.toString('hex') };
}

export function parseTimestampRequest(der: Uint8Array): TimestampRequest {
  const f = children(parseOne(der));
  const version = Number.parseInt(intHex(f[0]), 16);
  const [alg, digest] = children(f[1]);
  const algParts = children(alg);
  const out: TimestampRequest = {
    version,
    hashAlgorithm: readOid(algParts[0]),
    hashParamsNull: algParts[1]?.tag === TAG.null,
    imprint: octetValue(digest),
    certReq: false,
    hasExtensions: false,
  };
  for (const x of f.slice(2)) {
    if (x.tag === TAG.oid) out.policy = readOid(x);
    else if (x.tag === TAG.integer) {
      out.nonceHex = intHex(x);
      out.nonce = contentOf(x);
    } else if (x.tag === TAG.boolean) out.certReq = contentOf(x)[0] !== 0;
    else if (x.tag === TAG.ctx0) out.hasExtensions = true;
  }
  return out;
}

// ------------------------------------------------------------------------------------ TSTInfo

export interface TstInfo {
  policy: string;
  hashAlgorithm: string;
  hashName?: HashName;
  imprint: Uint8Array;
  serialHex: string;
  genTime: Date;
  accuracyMs?: number;
  nonceHex?: string;
}

export function parseTstInfo(der: Uint8Array): TstInfo {
  const f = children(parseOne(der));
  const [alg, digest] = children(f[2]);
  const hashAlgorithm = readOid(children(alg)[0]);
  const out: TstInfo = {
    policy: readOid(f[1]),
    hashAlgorithm,
    hashName: hashOidToName(hashAlgorithm),
    imprint: octetValue(digest),
    serialHex: intHex(f[3]),
    genTime: readTime(f[4]),
  };
  for (const x of f.slice(5)) {
    if (x.tag === TAG.sequence) {
      let ms = 0;
      for (const a of children(x)) {
        const v = Number.parseInt(Buffer.from(contentOf(a)).toString('hex') || '0', 16);
        ms += a.tag === TAG.integer ? v * 1000 : a.tag === 0x80 ? v : v / 1000;
      }
      out.accuracyMs = ms;
    } else if (x.tag === TAG.integer) out.nonceHex = intHex(x);
  }
  return out;
}

export interface BuildTokenOptions {
  request: TimestampRequest;
  policy: string;
  key: SigningKey;
  now: Date;
  /** Serial number (positive); random 128-bit when absent. */
  serial?: Uint8Array;
}

/** A DER TimeStampToken answering `request` (genTime in whole seconds, accuracy 1 s, nonce echoed). */
export async function buildTimestampToken(o: BuildTokenOptions): Promise<Buffer> {
  const serial = Buffer.from(o.serial ?? randomBytes(16));
  serial[0] = (serial[0] & 0x7f) | 0x01;
  const tst = tlv(
    TAG.sequence,
    smallInt(1),
    oid(o.policy),
    tlv(TAG.sequence, algorithmIdentifier(o.request.hashAlgorithm, o.request.hashParamsNull), tlv(TAG.octetString, o.request.imprint)),
    uint(serial),
    generalizedTime(o.now),
    tlv(TAG.sequence, smallInt(1)),
    ...(o.request.nonce ? [uint(o.request.nonce)] : []),
  );
  const { der } = await buildSignedData({
    eContentType: OID.tstInfo,
    eContent: tst,
    contentDigest: createHash('sha256').update(tst).digest(),
    key: o.key,
    certificates: o.request.certReq ? [o.key.certificate, ...o.key.chain] : [],
  });
  return der;
}

/** PKIFailureInfo bit numbers (RFC 3161 §2.4.2). */
export const FAILURE = { badAlg: 0, badRequest: 2, badDataFormat: 5, unacceptedPolicy: 15, unacceptedExtension: 16, systemFailure: 25 } as const;

/** DER TimeStampResp: granted with a token, or a rejection with a failure bit and text. */
export function timestampResponse(token: Uint8Array): Buffer;
export function timestampResponse(token: undefined, failBit: number, text: string): Buffer;
export function timestampResponse(token: Uint8Array | undefined, failBit = 0, text = ''): Buffer {
  if (token) return tlv(TAG.sequence, tlv(TAG.sequence, smallInt(0)), token);
  const bytes = Buffer.alloc(Math.floor(failBit / 8) + 1);
  bytes[Math.floor(failBit / 8)] = 0x80 >> failBit % 8;
  const bits = tlv(TAG.bitString, Buffer.from([7 - (failBit % 8)]), bytes);
  return tlv(TAG.sequence, tlv(TAG.sequence, smallInt(2), tlv(TAG.sequence, tlv(TAG.utf8String, Buffer.from(text, 'utf8'))), bits));
}

/** Status and token (exact bytes) of a TimeStampResp. */
export function parseTimestampResponse(der: Uint8Array): { status: number; statusText?: string; token?: Uint8Array } {
  const f = children(parseOne(der));
  const st = children(f[0]);
  const status = Number.parseInt(intHex(st[0]), 16);
  const text = st[1]?.tag === TAG.sequence ? children(st[1]).map((s) => Buffer.from(contentOf(s)).toString('utf8')).join('; ') : undefined;
  return { status, statusText: text, token: f[1] ? bytesOf(f[1]) : undefined };
}

// ------------------------------------------------------------------------------------- token

export interface ParsedTimestampToken {
  signedData: SignedDataView;
  tst: TstInfo;
  /** Certificates carried in the token (DER, as encoded). */
  certificates: Uint8Array[];
  /** The TSA certificate, when the token carries it. */
  signerCert?: Uint8Array;
}

/** Parse a TimeStampToken (DER ContentInfo; trailing zero padding allowed when `padded`). */
export function parseTimestampToken(der: Uint8Array, opts: { padded?: boolean } = {}): ParsedTimestampToken {
  let sd: SignedDataView;
  let tst: TstInfo;
  try {
    sd = parseSignedData(der, opts);
    if (sd.eContentType !== OID.tstInfo || !sd.eContent) throw new TimestampTokenError('eContentType is not id-ct-TSTInfo');
    tst = parseTstInfo(sd.eContent);
  } catch (e) {
    if (e instanceof TimestampTokenError) throw e;
    throw new TimestampTokenError(`not a TimeStampToken: ${(e as Error).message}`);
  }
  const si = sd.signerInfos[0];
  return { signedData: sd, tst, certificates: sd.certificates, signerCert: si ? findSignerCertificate(si, sd.certificates) : undefined };
}

/** Why a token is not acceptable (typed; the verifier maps these to its check codes). */
export type TimestampFailure =
  | 'malformed'
  | 'not_der'
  | 'signer_count'
  | 'signer_cert_missing'
  | 'signature'
  | 'ess'
  | 'eku'
  | 'cert_validity'
  | 'imprint'
  | 'untrusted';

export interface TimestampCheck {
  token?: ParsedTimestampToken;
  /** The TSA certificate (from the token or the extra certificates). */
  signerCert?: Uint8Array;
  failures: TimestampFailure[];
  /** Where the token is not DER. */
  encodingProblems: string[];
  /** Path to an anchor (when anchors were given). */
  path?: CertPath;
  valid: boolean;
}

export interface TimestampCheckOptions {
  /** The time-stamped data (hashed with the token's algorithm) or its digest. */
  data?: Uint8Array;
  digest?: Uint8Array;
  /** Trust anchors: when given, the TSA certificate must chain to one of them. */
  trustAnchors?: Uint8Array[];
  /** More certificates for finding the TSA certificate and its path (e.g. from a DSS). */
  certificates?: Uint8Array[];
  padded?: boolean;
}

/** Checks a token with the one rule set. Never throws. */
export function checkTimestampToken(input: Uint8Array | ParsedTimestampToken, opts: TimestampCheckOptions = {}): TimestampCheck {
  const out: TimestampCheck = { failures: [], encodingProblems: [], valid: false };
  let tok: ParsedTimestampToken;
  try {
    tok = input instanceof Uint8Array ? parseTimestampToken(input, { padded: opts.padded }) : input;
  } catch {
    out.failures.push('malformed');
    return out;
  }
  out.token = tok;
  const sd = tok.signedData;
  out.encodingProblems = [...sd.encodingProblems];
  if (out.encodingProblems.length) out.failures.push('not_der');
  const si = sd.signerInfos[0];
  if (sd.signerInfos.length !== 1 || !si) {
    out.failures.push('signer_count');
    return out;
  }
  const signer = tok.signerCert ?? findSignerCertificate(si, opts.certificates ?? []);
  out.signerCert = signer;
  if (!signer) {
    out.failures.push('signer_cert_missing');
    return out;
  }
  const cms = verifySignerInfo(sd, si, signer);
  if (!(cms.signatureValid && cms.digestValid && cms.contentTypeValid)) out.failures.push('signature');
  const v2 = attrValue(si.signedAttrs, OID.signingCertificateV2);
  const ess = v2 ? checkEssCertId(v2, true, signer) : checkEssCertId(attrValue(si.signedAttrs, OID.signingCertificate), false, signer);
  if (ess !== 'match') out.failures.push('ess');
  const c = certInfo(signer);
  if (!hasCriticalTimeStampingEku(c)) out.failures.push('eku');
  if (!certValidAt(c, tok.tst.genTime)) out.failures.push('cert_validity');
  if (opts.data || opts.digest) {
    const expected = opts.digest ?? (tok.tst.hashName ? createHash(tok.tst.hashName).update(opts.data!).digest() : undefined);
    if (!expected || !Buffer.from(expected).equals(Buffer.from(tok.tst.imprint))) out.failures.push('imprint');
  }
  if (opts.trustAnchors) {
    out.path = buildPath(signer, [...tok.certificates, ...(opts.certificates ?? [])], opts.trustAnchors, tok.tst.genTime);
    if (!out.path.trusted) out.failures.push('untrusted');
  }
  out.valid = out.failures.length === 0;
  return out;
}


