/**
 * Time-stamp token inspection for callers outside the verifier (the TSA client's tests, archive
 * renewal): a flat view of a token and a check against trust anchors, both from the crypto core's
 * one rule set (lib/pki/cms). Failure texts come from lib/i18n (`verify.code.ts.*`).
 */
import { t } from '../i18n';
import {
  TimestampTokenError,
  checkTimestampToken as coreCheck,
  parseTimestampToken as coreParse,
  type TimestampCheck,
  type TimestampFailure,
} from '../pki';

export { TimestampTokenError };

export interface ParsedTimestampToken {
  genTime: Date;
  /** The time-stamped digest (TSTInfo.messageImprint.hashedMessage). */
  imprint: Uint8Array;
  /** Hash algorithm OID of the imprint, and its name when known. */
  hashAlgorithm: string;
  hashAlgorithmName?: string;
  /** Hex. */
  serialNumber: string;
  nonce?: string;
  policy: string;
  accuracyMs?: number;
  /** All certificates carried in the token (DER, as encoded). */
  certificates: Uint8Array[];
  /** The TSA (signer) certificate, when present in the token. */
  signerCert?: Uint8Array;
}

/** Parse a TimeStampToken (DER ContentInfo). Throws TimestampTokenError when it is not one. */
export function parseTimestampToken(der: Uint8Array): ParsedTimestampToken {
  const p = coreParse(der, { padded: true });
  return {
    genTime: p.tst.genTime,
    imprint: p.tst.imprint,
    hashAlgorithm: p.tst.hashAlgorithm,
    hashAlgorithmName: p.tst.hashName,
    serialNumber: p.tst.serialHex,
    nonce: p.tst.nonceHex,
    policy: p.tst.policy,
    accuracyMs: p.tst.accuracyMs,
    certificates: p.certificates,
    signerCert: p.signerCert,
  };
}

export interface TokenCheckOptions {
  trustAnchors: Uint8Array[];
  data?: Uint8Array;
  digest?: Uint8Array;
  certificates?: Uint8Array[];
}

export interface TimestampVerification {
  valid: boolean;
  signatureValid: boolean;
  essCertIdValid: boolean;
  ekuValid: boolean;
  imprintValid?: boolean;
  chainValid: boolean;
  certValidAtGenTime: boolean;
  /** Typed failures and their Japanese texts. */
  failures: TimestampFailure[];
  errors: string[];
  token?: ParsedTimestampToken;
}

export function timestampFailureMessage(f: TimestampFailure): string {
  return t('ja', `verify.code.ts.${f}`);
}

/** Verify a token against trust anchors and, when given, the data or digest it should cover. */
export async function verifyTimestampToken(der: Uint8Array, opts: TokenCheckOptions): Promise<TimestampVerification> {
  const r: TimestampCheck = coreCheck(der, opts);
  const has = (f: TimestampFailure) => r.failures.includes(f) || r.failures.includes('malformed');
  return {
    valid: r.valid && opts.trustAnchors.length > 0,
    signatureValid: !has('signature') && !has('signer_cert_missing') && !has('signer_count'),
    essCertIdValid: !has('ess'),
    ekuValid: !has('eku'),
    imprintValid: opts.data || opts.digest ? !has('imprint') : undefined,
    chainValid: !has('untrusted') && opts.trustAnchors.length > 0,
    certValidAtGenTime: !has('cert_validity'),
    failures: r.failures,
    errors: r.failures.map(timestampFailureMessage),
    token: r.token ? parseTimestampToken(r.token.signedData.der) : undefined,
  };
}
