/**
 * The built-in RFC 3161 TSA, signing with the dev PKI's TSA key (or any `SigningKey` passed in).
 * `createTimestampResponse(req)` answers a DER TimeStampReq with a DER TimeStampResp; `startTsaServer()`
 * exposes it over plain node:http (tests, CLI, bench) the same way `POST /api/tsa` does in Next.js.
 *
 * The token: TSTInfo (policy, random 128-bit serial, genTime in whole seconds, accuracy 1 s, nonce echoed)
 * in a SignedData whose one SignerInfo has signed attributes content-type (id-ct-TSTInfo), message-digest
 * and ESS signing-certificate-v2 (DER-sorted); the TSA certificate and its chain are included when certReq.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { getDevTsaKey, keySigningKey } from '../pki/dev';
import {
  contentTypeAttribute,
  derSortAttributes,
  messageDigestAttribute,
  sha256AlgorithmIdentifier,
  signatureAlgorithmFor,
  signedAttributesDer,
  signingCertificateV2Attribute,
} from '../pki/ess';
import type { SigningKey } from '../pki/types';
import { OID, hashOidToName, parseCertificate, toArrayBuffer, toU8 } from '../pki/util';

/** Policy of the built-in TSA (a UUID-derived OID, RFC 4122 §2.25 arc: no registration needed). */
export const BUILTIN_TSA_POLICY = '2.25.221735284914862066815787917563640914436';
export const TSA_MAX_REQUEST_BYTES = 64 * 1024;

/** PKIFailureInfo bit numbers (RFC 3161 §2.4.2). */
const FAIL = { badAlg: 0, badRequest: 2, badDataFormat: 5, unacceptedPolicy: 15, unacceptedExtension: 16, systemFailure: 25 } as const;

function failInfoBits(bit: number): asn1js.BitString {
  const bytes = new Uint8Array(Math.floor(bit / 8) + 1);
  bytes[Math.floor(bit / 8)] = 0x80 >> bit % 8;
  return new asn1js.BitString({ valueHex: toArrayBuffer(bytes), unusedBits: 7 - (bit % 8) });
}

function rejection(bit: number, text: string): Uint8Array {
  const resp = new pkijs.TimeStampResp({
    status: new pkijs.PKIStatusInfo({
      status: pkijs.PKIStatus.rejection,
      statusStrings: [new asn1js.Utf8String({ value: text })],
      failInfo: failInfoBits(bit),
    }),
  });
  return toU8(resp.toSchema().toBER(false));
}

const DIGEST_LENGTH: Record<string, number> = { sha256: 32, sha384: 48, sha512: 64 };

export interface TimestampResponseOptions {
  /** Signer (defaults to the dev PKI's TSA key). */
  signer?: SigningKey;
  /** Clock (tests). */
  now?: Date;
  policy?: string;
}

/** Per TSA certificate (by SHA-256 of its DER): parsed certificates and the ESS attribute, built once. */
const signerParts = new Map<string, { cert: pkijs.Certificate; chain: pkijs.Certificate[]; essAttr: pkijs.Attribute }>();
function partsOf(signer: SigningKey) {
  const h = createHash('sha256').update(signer.certificate);
  for (const c of signer.chain) h.update(createHash('sha256').update(c).digest());
  const k = h.digest('hex');
  let p = signerParts.get(k);
  if (!p) {
    p = {
      cert: parseCertificate(signer.certificate),
      chain: signer.chain.map(parseCertificate),
      essAttr: signingCertificateV2Attribute(signer.certificate),
    };
    if (signerParts.size >= 16) signerParts.delete(signerParts.keys().next().value!);
    signerParts.set(k, p);
  }
  return p;
}

async function defaultSigner(): Promise<SigningKey> {
  const t = await getDevTsaKey();
  return keySigningKey(t.key, t.certificate, t.chain);
}

/** Answer a DER TimeStampReq with a DER TimeStampResp (granted, or rejection with a failInfo). */
export async function createTimestampResponse(requestDer: Uint8Array, opts: TimestampResponseOptions = {}): Promise<Uint8Array> {
  let req: pkijs.TimeStampReq;
  try {
    req = pkijs.TimeStampReq.fromBER(toArrayBuffer(requestDer));
  } catch {
    return rejection(FAIL.badDataFormat, 'malformed TimeStampReq');
  }
  const policy = opts.policy ?? BUILTIN_TSA_POLICY;
  const alg = hashOidToName(req.messageImprint.hashAlgorithm.algorithmId);
  const imprint = toU8(req.messageImprint.hashedMessage.getValue());
  if (req.version !== 1) return rejection(FAIL.badRequest, 'unsupported version');
  if (!alg || !DIGEST_LENGTH[alg]) return rejection(FAIL.badAlg, 'unsupported hash algorithm');
  if (imprint.length !== DIGEST_LENGTH[alg]) return rejection(FAIL.badDataFormat, 'digest length mismatch');
  if (req.reqPolicy && req.reqPolicy !== policy) return rejection(FAIL.unacceptedPolicy, 'unaccepted policy');
  if (req.extensions?.length) return rejection(FAIL.unacceptedExtension, 'extensions are not supported');

  try {
    const signer = opts.signer ?? (await defaultSigner());
    const { cert, chain, essAttr } = partsOf(signer);
    const now = new Date(Math.floor((opts.now ?? new Date()).getTime() / 1000) * 1000);
    const serial = randomBytes(16);
    serial[0] = (serial[0] & 0x7f) | 0x01;
    const tst = new pkijs.TSTInfo({
      version: 1,
      policy,
      messageImprint: new pkijs.MessageImprint({
        hashAlgorithm: new pkijs.AlgorithmIdentifier({
          algorithmId: req.messageImprint.hashAlgorithm.algorithmId,
          algorithmParams: new asn1js.Null(),
        }),
        hashedMessage: new asn1js.OctetString({ valueHex: toArrayBuffer(imprint) }),
      }),
      serialNumber: new asn1js.Integer({ valueHex: toArrayBuffer(serial) }),
      genTime: now,
      accuracy: new pkijs.Accuracy({ seconds: 1 }),
      ...(req.nonce ? { nonce: new asn1js.Integer({ valueHex: toArrayBuffer(toU8(req.nonce.valueBlock.valueHexView)) }) } : {}),
    });
    const tstDer = toU8(tst.toSchema().toBER(false));

    const attrs = derSortAttributes([
      contentTypeAttribute(OID.tstInfo),
      messageDigestAttribute(new Uint8Array(createHash('sha256').update(tstDer).digest())),
      essAttr,
    ]);
    const signature = await signer.sign(signedAttributesDer(attrs));
    const signerInfo = new pkijs.SignerInfo({
      version: 1,
      sid: new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: cert.serialNumber }),
      digestAlgorithm: sha256AlgorithmIdentifier(),
      signedAttrs: new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: attrs }),
      signatureAlgorithm: signatureAlgorithmFor(signer.algorithm),
      signature: new asn1js.OctetString({ valueHex: toArrayBuffer(signature) }),
    });
    const sd = new pkijs.SignedData({
      version: 3,
      digestAlgorithms: [sha256AlgorithmIdentifier()],
      encapContentInfo: new pkijs.EncapsulatedContentInfo({
        eContentType: OID.tstInfo,
        eContent: new asn1js.OctetString({ valueHex: toArrayBuffer(tstDer) }),
      }),
      signerInfos: [signerInfo],
      ...(req.certReq ? { certificates: [cert, ...chain] } : {}),
    });
    const token = new pkijs.ContentInfo({ contentType: OID.signedData, content: sd.toSchema(true) });
    const resp = new pkijs.TimeStampResp({
      status: new pkijs.PKIStatusInfo({ status: pkijs.PKIStatus.granted }),
      timeStampToken: token,
    });
    return toU8(resp.toSchema().toBER(false));
  } catch {
    return rejection(FAIL.systemFailure, 'system failure');
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
