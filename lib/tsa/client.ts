/**
 * RFC 3161 client: SHA-256 imprint, random 64-bit nonce, certReq TRUE, POST application/timestamp-query.
 * The reply is accepted only when the HTTP status is 200, PKIStatus is granted/grantedWithMods, the
 * TSTInfo imprint equals the request, the nonce is echoed, the token's CMS signature and ESS certificate id
 * verify, and the TSA certificate has a critical id-kp-timeStamping EKU (optionally: chains to trust anchors).
 * Network errors, timeouts and 5xx are retried with exponential backoff. Every failure is
 * AppError('tsa_unavailable') with a Japanese message; `details.reason` says what went wrong (no secrets).
 */
import { createHash } from 'node:crypto';
import { getConfig } from '../config';
import { AppError } from '../errors';
import {
  buildTimestampRequest as coreBuildRequest,
  canonicalSignedData,
  checkTimestampToken,
  parseTimestampResponse,
  parseTimestampToken,
  type ParsedTimestampToken,
  type TimestampFailure,
} from '../pki';
import { postBinary } from './http';
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
 * Tokens this process has fully checked in `checkTimestampResponse`, keyed by the SHA-256 of the token
 * bytes. The sealer asks here before re-checking a token it got from a `TsaClient`: a token from our
 * own client was checked moments ago, so the check is not repeated; any other token is checked again.
 * Bounded: the oldest entries are dropped (then the caller just re-checks).
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
  const r = coreBuildRequest(sha256Digest, opts);
  return { der: new Uint8Array(r.der), nonceHex: r.nonceHex };
}

const REASON: Record<TimestampFailure, string> = {
  malformed: 'the token is not a valid TimeStampToken',
  not_der: 'the token is not DER',
  signer_count: 'the token does not have exactly one signer',
  signer_cert_missing: 'the TSA certificate is not in the token',
  signature: 'token signature does not verify',
  ess: 'ESS signing-certificate does not match the TSA certificate',
  eku: 'TSA certificate lacks a critical timeStamping EKU',
  cert_validity: 'TSA certificate not valid at genTime',
  imprint: 'imprint does not match the request',
  untrusted: 'TSA certificate does not chain to a trust anchor',
};

/**
 * Check a DER TimeStampResp against the request's digest and nonce; returns the result or throws
 * AppError('tsa_unavailable'). A token in BER (some TSAs send a constructed eContent) is re-encoded
 * as DER first — its signature covers the content and the DER signed attributes, so it stays valid —
 * because strict validators refuse BER inside a PDF signature.
 */
export async function checkTimestampResponse(
  respDer: Uint8Array,
  expect: { digest: Uint8Array; nonceHex: string; trustAnchors?: Uint8Array[]; policy?: string },
): Promise<TimestampResult> {
  let resp: ReturnType<typeof parseTimestampResponse>;
  try {
    resp = parseTimestampResponse(respDer);
  } catch (e) {
    throw fail('malformed TimeStampResp', e);
  }
  if (resp.status !== 0 && resp.status !== 1) throw fail(`TSA rejected the request (PKIStatus ${resp.status}${resp.statusText ? `: ${resp.statusText}` : ''})`);
  if (!resp.token) throw fail('granted response without a token');
  let token: Uint8Array;
  let parsed: ParsedTimestampToken;
  try {
    token = resp.token;
    parsed = parseTimestampToken(token);
    const canonical = canonicalSignedData(token, parsed.signedData.encodingProblems.length > 0);
    if (canonical !== token) {
      token = canonical;
      parsed = parseTimestampToken(token);
    }
  } catch (e) {
    throw fail(REASON.malformed, e);
  }
  const tok = parsed.tst;
  if (tok.hashName !== 'sha256') throw fail('imprint hash algorithm differs from the request');
  if (tok.nonceHex === undefined || BigInt(`0x${tok.nonceHex}`) !== BigInt(`0x${expect.nonceHex}`)) throw fail('nonce not echoed');
  if (expect.policy && tok.policy !== expect.policy) throw fail('TSA policy differs from the requested policy');
  const check = checkTimestampToken(parsed, { digest: expect.digest, trustAnchors: expect.trustAnchors?.length ? expect.trustAnchors : undefined });
  if (!check.valid) throw fail(REASON[check.failures.includes('imprint') ? 'imprint' : check.failures[0]]);
  const signer = check.signerCert!;
  const rest = parsed.certificates.filter((c) => !Buffer.from(c).equals(Buffer.from(signer)));
  const certificates = [signer, ...rest];
  if (checkedTokens.size >= CHECKED_TOKENS_MAX) checkedTokens.delete(checkedTokens.keys().next().value!);
  checkedTokens.set(tokenKey(token), {
    digestHex: Buffer.from(expect.digest).toString('hex'),
    certificates: certificates.map((c) => new Uint8Array(c)),
  });
  return { token, genTime: tok.genTime, serialNumber: tok.serialHex, certificates };
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
          const res = await postBinary(url, der, headers, timeoutMs);
          if (res.status >= 500 || res.status === 429) throw new Retryable(`HTTP ${res.status}`);
          if (res.status !== 200) throw fail(`HTTP ${res.status}`);
          const ct = res.contentType;
          if (ct && ct !== 'application/timestamp-reply' && ct !== 'application/timestamp-response') {
            throw fail(`unexpected content-type ${ct}`);
          }
          body = res.body;
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
