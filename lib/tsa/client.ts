/**
 * RFC 3161 client: SHA-256 imprint, random 64-bit nonce, certReq TRUE, POST application/timestamp-query.
 * The reply is accepted only when the HTTP status is 200, PKIStatus is granted/grantedWithMods, the
 * TSTInfo imprint equals the request, the nonce is echoed, the token's CMS signature and ESS certificate id
 * verify, and the TSA certificate has a critical id-kp-timeStamping EKU (optionally: chains to trust anchors).
 * Network errors, timeouts and 5xx are retried with exponential backoff. Every failure is
 * AppError('tsa_unavailable') with a Japanese message; `details.reason` says what went wrong (no secrets).
 */
import { createHash, randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { getConfig } from '../config';
import { AppError } from '../errors';
import { sha256AlgorithmIdentifier } from '../pki/ess';
import { toArrayBuffer, toU8 } from '../pki/util';
import { checkTimestampToken } from './token';
import type { TimestampResult, TsaClient } from './types';

export interface TsaClientOptions {
  /** Default: TSA_URL, else the built-in TSA at APP_URL/api/tsa. */
  url?: string;
  username?: string;
  password?: string;
  /** Per attempt. Default TSA_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Extra attempts after the first on network errors / 5xx. Default 2. */
  retries?: number;
  /** First backoff delay; doubles each retry. Default 250 ms. */
  backoffMs?: number;
  /** Ask for this TSA policy (reqPolicy). */
  policy?: string;
  /** When given, the TSA certificate must chain to one of these (DER). */
  trustAnchors?: Uint8Array[];
}

export const TSA_ERROR_MESSAGE = 'タイムスタンプ局（TSA）から有効なタイムスタンプを取得できませんでした。しばらくしてから再度お試しください。';

class Retryable extends Error {}

function fail(reason: string, cause?: unknown): AppError {
  return new AppError('tsa_unavailable', TSA_ERROR_MESSAGE, { details: { reason }, cause });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Tokens this process has fully checked in `checkTimestampResponse` (signature, ESS, critical EKU,
 * imprint = requested digest, nonce, validity at genTime), keyed by the SHA-256 of the token bytes.
 * The sealer asks here before re-checking a token it got from a `TsaClient`: a token from our own
 * client was checked moments ago, so the expensive CMS parse is not repeated; any other token is
 * checked again in full. Bounded: the oldest entries are dropped (then the caller just re-checks).
 */
const checkedTokens = new Map<string, { digestHex: string; certificates: Uint8Array[] }>();
const CHECKED_TOKENS_MAX = 256;

function tokenKey(token: Uint8Array): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * The TSA chain (signer first) of `token` when `checkTimestampResponse` in this process accepted
 * exactly these bytes as a time-stamp of `sha256Digest`; undefined otherwise (check it yourself).
 */
export function checkedTimestampChain(token: Uint8Array, sha256Digest: Uint8Array): Uint8Array[] | undefined {
  const hit = checkedTokens.get(tokenKey(token));
  if (!hit || hit.digestHex !== Buffer.from(sha256Digest).toString('hex')) return undefined;
  return hit.certificates.map((c) => new Uint8Array(c));
}

/** Build a DER TimeStampReq for a SHA-256 digest. Returns the request and its nonce (hex). */
export function buildTimestampRequest(sha256Digest: Uint8Array, opts: { policy?: string; nonce?: Uint8Array } = {}) {
  const nonce = opts.nonce ?? randomBytes(8);
  const n = new Uint8Array(nonce);
  n[0] = (n[0] & 0x7f) | 0x40; // positive, exactly 8 significant bytes (no DER trimming)
  const req = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({
      hashAlgorithm: sha256AlgorithmIdentifier(),
      hashedMessage: new asn1js.OctetString({ valueHex: toArrayBuffer(sha256Digest) }),
    }),
    ...(opts.policy ? { reqPolicy: opts.policy } : {}),
    nonce: new asn1js.Integer({ valueHex: toArrayBuffer(n) }),
    certReq: true,
  });
  return { der: toU8(req.toSchema().toBER(false)), nonceHex: Buffer.from(n).toString('hex') };
}

/**
 * Check a DER TimeStampResp against the request's digest and nonce; returns the result or throws
 * AppError('tsa_unavailable').
 */
export async function checkTimestampResponse(
  respDer: Uint8Array,
  expect: { digest: Uint8Array; nonceHex: string; trustAnchors?: Uint8Array[]; policy?: string },
): Promise<TimestampResult> {
  let resp: pkijs.TimeStampResp;
  try {
    resp = pkijs.TimeStampResp.fromBER(toArrayBuffer(respDer));
  } catch (e) {
    throw fail('malformed TimeStampResp', e);
  }
  const status = resp.status.status;
  if (status !== pkijs.PKIStatus.granted && status !== pkijs.PKIStatus.grantedWithMods) {
    const text = resp.status.statusStrings?.map((s) => s.valueBlock.value).join('; ');
    throw fail(`TSA rejected the request (PKIStatus ${status}${text ? `: ${text}` : ''})`);
  }
  if (!resp.timeStampToken) throw fail('granted response without a token');
  const token = toU8(resp.timeStampToken.toSchema().toBER(false));
  const check = await checkTimestampToken(token, { digest: expect.digest, trustAnchors: expect.trustAnchors });
  const tok = check.token;
  if (!tok) throw fail('the token is not a valid TimeStampToken');
  if (tok.hashAlgorithmName !== 'sha256') throw fail('imprint hash algorithm differs from the request');
  if (!check.imprintValid) throw fail('imprint does not match the request');
  if (tok.nonce === undefined || BigInt(`0x${tok.nonce}`) !== BigInt(`0x${expect.nonceHex}`)) throw fail('nonce not echoed');
  if (expect.policy && tok.policy !== expect.policy) throw fail('TSA policy differs from the requested policy');
  if (!check.signatureValid) throw fail('token signature does not verify');
  if (!check.ekuValid) throw fail('TSA certificate lacks a critical timeStamping EKU');
  if (!check.essCertIdValid) throw fail('ESS signing-certificate does not match the TSA certificate');
  if (!check.certValidAtGenTime) throw fail('TSA certificate not valid at genTime');
  if (check.chainValid === false) throw fail('TSA certificate does not chain to a trust anchor');
  const signer = tok.signerCert!;
  const rest = tok.certificates.filter((c) => !Buffer.from(c).equals(Buffer.from(signer)));
  const certificates = [signer, ...rest];
  if (checkedTokens.size >= CHECKED_TOKENS_MAX) checkedTokens.delete(checkedTokens.keys().next().value!);
  checkedTokens.set(tokenKey(token), {
    digestHex: Buffer.from(expect.digest).toString('hex'),
    certificates: certificates.map((c) => new Uint8Array(c)),
  });
  return { token, genTime: tok.genTime, serialNumber: tok.serialNumber, certificates };
}

export function createTsaClient(opts: TsaClientOptions = {}): TsaClient {
  return {
    async timestamp(sha256Digest: Uint8Array): Promise<TimestampResult> {
      if (sha256Digest.length !== 32) throw new AppError('internal', 'タイムスタンプの対象はSHA-256ハッシュ値（32バイト）である必要があります。');
      const c = getConfig();
      const url = opts.url ?? c.tsaUrl;
      const username = opts.username ?? c.TSA_USERNAME;
      const password = opts.password ?? c.TSA_PASSWORD;
      const timeoutMs = opts.timeoutMs ?? c.TSA_TIMEOUT_MS;
      const retries = opts.retries ?? 2;
      const backoff = opts.backoffMs ?? 250;
      const { der, nonceHex } = buildTimestampRequest(sha256Digest, { policy: opts.policy });
      const headers: Record<string, string> = { 'content-type': 'application/timestamp-query', accept: 'application/timestamp-reply' };
      if (username !== undefined || password !== undefined) {
        headers.authorization = `Basic ${Buffer.from(`${username ?? ''}:${password ?? ''}`).toString('base64')}`;
      }
      let lastError: unknown;
      for (let attempt = 0; attempt <= retries; attempt++) {
        if (attempt > 0) await sleep(backoff * 2 ** (attempt - 1));
        let body: Uint8Array;
        try {
          const res = await fetch(url, { method: 'POST', headers, body: Buffer.from(der), signal: AbortSignal.timeout(timeoutMs) });
          if (res.status >= 500 || res.status === 429) throw new Retryable(`HTTP ${res.status}`);
          if (res.status !== 200) throw fail(`HTTP ${res.status}`);
          const ct = (res.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
          if (ct && ct !== 'application/timestamp-reply' && ct !== 'application/timestamp-response') {
            throw fail(`unexpected content-type ${ct}`);
          }
          body = new Uint8Array(await res.arrayBuffer());
        } catch (e) {
          if (e instanceof AppError) throw e;
          lastError = e;
          continue; // network error, timeout, 5xx: retry
        }
        return checkTimestampResponse(body, { digest: sha256Digest, nonceHex, trustAnchors: opts.trustAnchors, policy: opts.policy });
      }
      const reason = lastError instanceof Retryable ? lastError.message : `network error: ${(lastError as Error)?.name ?? 'unknown'}`;
      throw fail(`${reason} after ${retries + 1} attempts`, lastError);
    },
  };
}

let defaultClient: TsaClient | undefined;
/** The configured TSA client (TSA_URL, credentials, timeout from config). */
export function getTsaClient(): TsaClient {
  defaultClient ??= createTsaClient();
  return defaultClient;
}
