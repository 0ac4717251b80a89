/**
 * The built-in RFC 3161 TSA, signing with the dev PKI's TSA key (or any `SigningKey` passed in).
 * `createTimestampResponse(req)` answers a DER TimeStampReq with a DER TimeStampResp; `startTsaServer()`
 * exposes it over plain node:http (tests, CLI, bench) the same way `POST /api/tsa` does in Next.js.
 *
 * The token is built by the crypto core (lib/pki/cms) as DER: TSTInfo (policy, random 128-bit serial,
 * genTime in whole seconds, accuracy 1 s, nonce echoed) in a SignedData whose one SignerInfo has the
 * signed attributes content-type (id-ct-TSTInfo), message-digest and ESS signing-certificate-v2; the TSA
 * certificate and its chain are included when certReq. One RSA signature per request is all the work.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FAILURE, buildTimestampToken, hashOidToName, parseTimestampRequest, timestampResponse, type TimestampRequest } from '../pki';
import { getDevTsaKey, keySigningKey } from '../pki/dev';
import type { SigningKey } from '../pki/types';

/** Policy of the built-in TSA (a UUID-derived OID, RFC 4122 §2.25 arc: no registration needed). */
export const BUILTIN_TSA_POLICY = '2.25.221735284914862066815787917563640914436';
export const TSA_MAX_REQUEST_BYTES = 64 * 1024;

const DIGEST_LENGTH: Record<string, number> = { sha256: 32, sha384: 48, sha512: 64 };

export interface TimestampResponseOptions {
  /** Signer (defaults to the dev PKI's TSA key). */
  signer?: SigningKey;
  /** Clock (tests). */
  now?: Date;
  policy?: string;
}

let devSigner: Promise<SigningKey> | undefined;
function defaultSigner(): Promise<SigningKey> {
  devSigner ??= getDevTsaKey().then((t) => keySigningKey(t.key, t.certificate, t.chain));
  devSigner.catch(() => (devSigner = undefined));
  return devSigner;
}

/** Answer a DER TimeStampReq with a DER TimeStampResp (granted, or rejection with a failInfo). */
export async function createTimestampResponse(requestDer: Uint8Array, opts: TimestampResponseOptions = {}): Promise<Uint8Array> {
  let req: TimestampRequest;
  try {
    req = parseTimestampRequest(requestDer);
  } catch {
    return timestampResponse(undefined, FAILURE.badDataFormat, 'malformed TimeStampReq');
  }
  const policy = opts.policy ?? BUILTIN_TSA_POLICY;
  const alg = hashOidToName(req.hashAlgorithm);
  if (req.version !== 1) return timestampResponse(undefined, FAILURE.badRequest, 'unsupported version');
  if (!alg || !DIGEST_LENGTH[alg]) return timestampResponse(undefined, FAILURE.badAlg, 'unsupported hash algorithm');
  if (req.imprint.length !== DIGEST_LENGTH[alg]) return timestampResponse(undefined, FAILURE.badDataFormat, 'digest length mismatch');
  if (req.policy && req.policy !== policy) return timestampResponse(undefined, FAILURE.unacceptedPolicy, 'unaccepted policy');
  if (req.hasExtensions) return timestampResponse(undefined, FAILURE.unacceptedExtension, 'extensions are not supported');
  try {
    const key = opts.signer ?? (await defaultSigner());
    const now = new Date(Math.floor((opts.now ?? new Date()).getTime() / 1000) * 1000);
    return timestampResponse(await buildTimestampToken({ request: req, policy, key, now }));
  } catch {
    return timestampResponse(undefined, FAILURE.systemFailure, 'system failure');
  }
}

export interface TsaServer {
  /** e.g. http://127.0.0.1:54321/ — POST application/timestamp-query to any path. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Read a request body up to `limit` bytes; undefined when larger. */
export function readLimited(req: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** A tiny standalone HTTP TSA (node:http), for tests, the CLI and the bench. */
export async function startTsaServer(opts: { port?: number; host?: string } & TimestampResponseOptions = {}): Promise<TsaServer> {
  const host = opts.host ?? '127.0.0.1';
  const server = http.createServer((req, res) => {
    void (async () => {
      try {
        if (req.method !== 'POST') {
          res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain; charset=utf-8' }).end('POST application/timestamp-query\n');
          return;
        }
        const ct = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
        if (ct !== 'application/timestamp-query') {
          res.writeHead(415, { 'content-type': 'text/plain; charset=utf-8' }).end('expected application/timestamp-query\n');
          return;
        }
        const body = await readLimited(req, TSA_MAX_REQUEST_BYTES);
        if (!body) {
          res.writeHead(413, { 'content-type': 'text/plain; charset=utf-8' }).end('request too large\n');
          return;
        }
        const reply = await createTimestampResponse(new Uint8Array(body), opts);
        res.writeHead(200, { 'content-type': 'application/timestamp-reply', 'content-length': reply.length }).end(Buffer.from(reply));
      } catch {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('internal error\n');
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
