/**
 * Our RFC 3161 client against an independent TSA: `openssl ts -reply` behind a small node:http handler.
 * Bad replies are produced by feeding OpenSSL a doctored request (other nonce / imprint / policy), so the
 * reply itself is a genuine OpenSSL token that does not match what the client asked for.
 * OpenSSL refuses to sign with a certificate lacking a critical timeStamping EKU, so that case is served by
 * our own token builder with such a certificate (the rest of the token is valid).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetConfig } from '@/lib/config';
import { isAppError } from '@/lib/errors';
import { createPkcs12KeyProvider } from '@/lib/pki';
import { checkedTimestampChain, createTimestampResponse, createTsaClient, verifyTimestampToken, type TsaClient } from '@/lib/tsa';

const run = promisify(execFile);
let dir: string;
let server: http.Server;
let baseUrl: string;
let requests = 0;
let caDer: Uint8Array;

type Mode = 'good' | 'wrong-nonce' | 'wrong-imprint' | 'reject' | 'bad-cert' | 'flaky' | 'auth' | 'hang' | 'html';

async function openssl(args: string[], cwd = dir) {
  return run('openssl', args, { cwd, maxBuffer: 10 * 1024 * 1024 });
}

function doctor(reqDer: Buffer, mode: Mode): Buffer {
  const req = pkijs.TimeStampReq.fromBER(new Uint8Array(reqDer).buffer);
  if (mode === 'wrong-nonce') req.nonce = new asn1js.Integer({ value: 12345 });
  if (mode === 'wrong-imprint') {
    const other = createHash('sha256').update('something else').digest();
    req.messageImprint.hashedMessage = new asn1js.OctetString({ valueHex: new Uint8Array(other).buffer });
  }
  if (mode === 'reject') req.reqPolicy = '1.2.3.4.99'; // not in the TSA's policies → rejection
  return Buffer.from(req.toSchema().toBER(false));
}

async function opensslReply(reqDer: Buffer): Promise<Buffer> {
  const id = `${Date.now()}-${Math.random().toString(16).slice(2)}`;
  const q = path.join(dir, `q-${id}.tsq`);
  const r = path.join(dir, `r-${id}.tsr`);
  await writeFile(q, reqDer);
  await openssl(['ts', '-reply', '-queryfile', q, '-config', 'ts.cnf', '-inkey', 'tsa.key', '-signer', 'tsa.crt', '-chain', 'ca.crt', '-out', r]);
  return readFile(r);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tsa-client-'));
  process.env.DATA_DIR = path.join(dir, 'data');
  delete process.env.TSA_URL;
  resetConfig();
  await writeFile(
    path.join(dir, 'ext.cnf'),
    [
      '[tsa]',
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=critical,timeStamping',
      'subjectKeyIdentifier=hash',
      'authorityKeyIdentifier=keyid',
      '[plain]',
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'subjectKeyIdentifier=hash',
      '',
    ].join('\n'),
  );
  await writeFile(
    path.join(dir, 'ts.cnf'),
    [
      '[ tsa ]',
      'default_tsa = tsa_config1',
      '[ tsa_config1 ]',
      `serial = ${path.join(dir, 'tsaserial')}`,
      'crypto_device = builtin',
      'signer_digest = sha256',
      'default_policy = 1.2.3.4.1',
      'other_policies = 1.2.3.4.5.6',
      'digests = sha256, sha384, sha512',
      'accuracy = secs:1',
      'ordering = yes',
      'tsa_name = no',
      'ess_cert_id_chain = no',
      'ess_cert_id_alg = sha256',
      '',
    ].join('\n'),
  );
  await writeFile(path.join(dir, 'tsaserial'), '01\n');
  await openssl([
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=OpenSSL Test TSA Root',
    '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  for (const [name, ext] of [['tsa', 'tsa'], ['plain', 'plain']]) {
    await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=OpenSSL Test ${name}`]);
    await openssl([
      'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`,
      '-days', '30', '-extfile', 'ext.cnf', '-extensions', ext,
    ]);
  }
  // a PKCS#12 for the "plain" (non-TSA) certificate, to sign tokens with our own builder
  await openssl(['pkcs12', '-export', '-inkey', 'plain.key', '-in', 'plain.crt', '-certfile', 'ca.crt', '-out', 'plain.p12', '-passout', 'pass:x']);
  caDer = await pemFileToDer(path.join(dir, 'ca.crt'));
  const plain = await createPkcs12KeyProvider({ path: path.join(dir, 'plain.p12'), password: 'x' }).sealingKey();

  let flaky = 0;
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        requests++;
        const mode = (req.url ?? '/good').slice(1) as Mode;
        const body = Buffer.concat(chunks);
        try {
          if (req.headers['content-type'] !== 'application/timestamp-query') {
            res.writeHead(415).end();
            return;
          }
          if (mode === 'hang') return; // never answers
          if (mode === 'flaky' && flaky++ === 0) {
            res.writeHead(503).end();
            return;
          }
          if (mode === 'auth') {
            const expected = `Basic ${Buffer.from('tsauser:tsapass').toString('base64')}`;
            if (req.headers.authorization !== expected) {
              res.writeHead(401, { 'www-authenticate': 'Basic realm="tsa"' }).end();
              return;
            }
          }
          if (mode === 'html') {
            res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>');
            return;
          }
          const reply =
            mode === 'bad-cert'
              ? Buffer.from(await createTimestampResponse(new Uint8Array(body), { signer: plain }))
              : await opensslReply(mode === 'good' || mode === 'flaky' || mode === 'auth' ? body : doctor(body, mode));
          res.writeHead(200, { 'content-type': 'application/timestamp-reply' }).end(reply);
        } catch (e) {
          res.writeHead(500).end(String(e));
        }
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

async function pemFileToDer(file: string): Promise<Uint8Array> {
  const { stdout } = await run('openssl', ['x509', '-in', file, '-outform', 'DER'], { encoding: 'buffer' });
  return new Uint8Array(stdout);
}

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await rm(dir, { recursive: true, force: true });
});

const digest = new Uint8Array(createHash('sha256').update('契約書 PDF の署名値').digest());

function client(mode: Mode, extra: Parameters<typeof createTsaClient>[0] = {}): TsaClient {
  return createTsaClient({ url: `${baseUrl}/${mode}`, timeoutMs: 10_000, retries: 0, backoffMs: 10, ...extra });
}

async function expectTsaError(p: Promise<unknown>, reason: RegExp) {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isAppError(e), `expected AppError, got ${String(e)}`).toBe(true);
  if (!isAppError(e)) return;
  expect(e.code).toBe('tsa_unavailable');
  expect(e.message).toMatch(/タイムスタンプ/);
  expect(String(e.details?.reason)).toMatch(reason);
}

describe('TSA client against openssl ts -reply', () => {
  it('accepts a good OpenSSL reply and returns a token that verifies', async () => {
    const r = await client('good', { trustAnchors: [caDer] }).timestamp(digest);
    expect(r.token.length).toBeGreaterThan(500);
    expect(r.certificates.length).toBeGreaterThanOrEqual(1);
    expect(Math.abs(r.genTime.getTime() - Date.now())).toBeLessThan(5 * 60_000);
    expect(r.serialNumber).toMatch(/^[0-9a-f]+$/);
    const v = await verifyTimestampToken(r.token, { trustAnchors: [caDer], digest });
    expect(v.errors).toEqual([]);
    expect(v.valid).toBe(true);
    // and OpenSSL agrees about the token we kept
    await writeFile(path.join(dir, 'kept.tst'), r.token);
    const { stdout } = await openssl([
      'ts', '-verify', '-in', 'kept.tst', '-token_in', '-digest', Buffer.from(digest).toString('hex'), '-CAfile', 'ca.crt',
    ]);
    expect(stdout).toMatch(/Verification: OK/);
  });

  it('returns the TSA certificates byte for byte and remembers only the exact tokens it accepted, per digest', async () => {
    const r = await client('good').timestamp(digest);
    // OpenSSL's own certificate bytes (signer first), not a re-encoding.
    expect(Buffer.from(r.certificates[0]).equals(Buffer.from(await pemFileToDer(path.join(dir, 'tsa.crt'))))).toBe(true);
    // The sealer skips its re-check only for these bytes and this digest.
    const chain = checkedTimestampChain(r.token, digest);
    expect(chain?.map((c) => Buffer.from(c).toString('hex'))).toEqual(r.certificates.map((c) => Buffer.from(c).toString('hex')));
    expect(checkedTimestampChain(r.token, createHash('sha256').update('other').digest())).toBeUndefined();
    const flipped = new Uint8Array(r.token);
    flipped[flipped.length - 1] ^= 1;
    expect(checkedTimestampChain(flipped, digest)).toBeUndefined();
  });

  it('rejects a reply whose nonce differs from the request', async () => {
    await expectTsaError(client('wrong-nonce').timestamp(digest), /nonce/);
  });

  it('rejects a reply for another imprint', async () => {
    await expectTsaError(client('wrong-imprint').timestamp(digest), /imprint/);
  });

  it('rejects a rejection status', async () => {
    await expectTsaError(client('reject').timestamp(digest), /rejected|PKIStatus 2/);
  });

  it('rejects a token signed by a certificate without a critical timeStamping EKU', async () => {
    await expectTsaError(client('bad-cert').timestamp(digest), /timeStamping/);
  });

  it('rejects a token whose TSA does not chain to the configured trust anchors', async () => {
    const otherRoot = await pemFileToDer(path.join(dir, 'plain.crt')); // not the TSA's issuer
    await expectTsaError(client('good', { trustAnchors: [otherRoot] }).timestamp(digest), /trust anchor/);
  });

  it('asks for a policy (reqPolicy) and gets it', async () => {
    const r = await client('good', { policy: '1.2.3.4.5.6' }).timestamp(digest);
    const { parseTimestampToken } = await import('@/lib/tsa');
    expect(parseTimestampToken(r.token).policy).toBe('1.2.3.4.5.6');
  });

  it('retries a 5xx and then succeeds', async () => {
    const before = requests;
    const r = await client('flaky', { retries: 2 }).timestamp(digest);
    expect(r.token.length).toBeGreaterThan(0);
    expect(requests - before).toBe(2);
  });

  it('sends basic auth when configured; without it a 401 fails without retrying', async () => {
    const r = await client('auth', { username: 'tsauser', password: 'tsapass' }).timestamp(digest);
    expect(r.token.length).toBeGreaterThan(0);
    const before = requests;
    await expectTsaError(client('auth', { retries: 3 }).timestamp(digest), /HTTP 401/);
    expect(requests - before).toBe(1);
  });

  it('times out, retries, and reports tsa_unavailable', async () => {
    const before = requests;
    await expectTsaError(client('hang', { timeoutMs: 300, retries: 1 }).timestamp(digest), /after 2 attempts/);
    expect(requests - before).toBe(2);
  });

  it('refuses a non-timestamp content type and an unreachable TSA', async () => {
    await expectTsaError(client('html').timestamp(digest), /content-type/);
    await expectTsaError(
      createTsaClient({ url: 'http://127.0.0.1:9/', retries: 1, backoffMs: 10, timeoutMs: 2000 }).timestamp(digest),
      /network error/,
    );
  });
});
