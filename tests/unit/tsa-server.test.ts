/**
 * The built-in TSA over real HTTP (startTsaServer and the Next.js route handler), checked by OpenSSL:
 * `openssl ts -query` makes the request, `openssl ts -verify` checks our reply against the query
 * (imprint, nonce, EKU, ESS signing-certificate-v2, chain to the dev root) and against the data.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetConfig } from '@/lib/config';
import { derToPem, getDevPki } from '@/lib/pki';
import {
  createTsaClient,
  parseTimestampToken,
  startTsaServer,
  verifyTimestampToken,
  BUILTIN_TSA_POLICY,
  type TsaServer,
} from '@/lib/tsa';
import { POST as routePost } from '@/app/api/tsa/route';

const run = promisify(execFile);
let dir: string;
let tsa: TsaServer;
let root: Uint8Array;

async function openssl(args: string[]) {
  return run('openssl', args, { cwd: dir, maxBuffer: 10 * 1024 * 1024 });
}

async function post(url: string, body: Uint8Array, contentType = 'application/timestamp-query') {
  return fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body: Buffer.from(body) });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tsa-server-'));
  process.env.DATA_DIR = path.join(dir, 'data');
  delete process.env.MASTER_KEY;
  resetConfig();
  const pki = await getDevPki();
  root = pki.root.certDer;
  await writeFile(path.join(dir, 'root.pem'), derToPem(pki.root.certDer));
  await writeFile(path.join(dir, 'tsa.pem'), derToPem(pki.tsa.certDer));
  await writeFile(path.join(dir, 'contract.txt'), '契約書：令和8年度 道路補修工事\n'.repeat(50));
  await writeFile(path.join(dir, 'other.txt'), 'different data\n');
  tsa = await startTsaServer({ port: 0 });
});

afterAll(async () => {
  await tsa?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('built-in TSA over HTTP, verified by openssl ts -verify', () => {
  it('answers an OpenSSL query (with -cert) with a token OpenSSL verifies against the query and the data', async () => {
    await openssl(['ts', '-query', '-data', 'contract.txt', '-sha256', '-cert', '-out', 'req.tsq']);
    const res = await post(tsa.url, await readFile(path.join(dir, 'req.tsq')));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/timestamp-reply');
    await writeFile(path.join(dir, 'resp.tsr'), Buffer.from(await res.arrayBuffer()));

    const text = (await openssl(['ts', '-reply', '-in', 'resp.tsr', '-text'])).stdout;
    expect(text).toMatch(/Status: Granted/);
    expect(text).toContain(`Policy OID: ${BUILTIN_TSA_POLICY}`);
    expect(text).toMatch(/Nonce: 0x[0-9A-F]+/);
    expect(text).toMatch(/Accuracy: 0x01 seconds/);

    const byQuery = await openssl([
      'ts', '-verify', '-in', 'resp.tsr', '-queryfile', 'req.tsq', '-CAfile', 'root.pem', '-untrusted', 'tsa.pem',
    ]);
    expect(byQuery.stdout).toMatch(/Verification: OK/);
    const byData = await openssl(['ts', '-verify', '-in', 'resp.tsr', '-data', 'contract.txt', '-CAfile', 'root.pem']);
    expect(byData.stdout).toMatch(/Verification: OK/);
    // the ESS signing-certificate-v2 attribute is there (openssl cms prints the signed attributes)
    await openssl(['ts', '-reply', '-in', 'resp.tsr', '-token_out', '-out', 'token.der']);
    const cms = (await openssl(['cms', '-cmsout', '-print', '-inform', 'DER', '-in', 'token.der'])).stdout;
    expect(cms).toMatch(/id-smime-aa-signingCertificateV2/);
    expect(cms).not.toMatch(/signingTime/);
  });

  it('is rejected by OpenSSL for other data and for another CA', async () => {
    await expect(openssl(['ts', '-verify', '-in', 'resp.tsr', '-data', 'other.txt', '-CAfile', 'root.pem'])).rejects.toThrow(
      /Verification: FAILED|message imprint mismatch/,
    );
    await openssl([
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'x.key', '-out', 'x.pem', '-subj', '/CN=Unrelated', '-days', '2',
    ]);
    await expect(openssl(['ts', '-verify', '-in', 'resp.tsr', '-data', 'contract.txt', '-CAfile', 'x.pem'])).rejects.toThrow();
  });

  it('omits certificates when certReq is false (OpenSSL still verifies with -untrusted)', async () => {
    await openssl(['ts', '-query', '-data', 'contract.txt', '-sha512', '-no_nonce', '-out', 'req2.tsq']);
    const res = await post(tsa.url, await readFile(path.join(dir, 'req2.tsq')));
    await writeFile(path.join(dir, 'resp2.tsr'), Buffer.from(await res.arrayBuffer()));
    await openssl(['ts', '-reply', '-in', 'resp2.tsr', '-token_out', '-out', 'token2.der']);
    expect(parseTimestampToken(new Uint8Array(await readFile(path.join(dir, 'token2.der')))).certificates).toEqual([]);
    const v = await openssl([
      'ts', '-verify', '-in', 'resp2.tsr', '-queryfile', 'req2.tsq', '-CAfile', 'root.pem', '-untrusted', 'tsa.pem',
    ]);
    expect(v.stdout).toMatch(/Verification: OK/);
  });

  it('rejects SHA-1 imprints and garbage with a PKIStatus rejection, and bad HTTP with 4xx', async () => {
    await openssl(['ts', '-query', '-data', 'contract.txt', '-sha1', '-cert', '-out', 'req3.tsq']);
    const res = await post(tsa.url, await readFile(path.join(dir, 'req3.tsq')));
    await writeFile(path.join(dir, 'resp3.tsr'), Buffer.from(await res.arrayBuffer()));
    const text = (await openssl(['ts', '-reply', '-in', 'resp3.tsr', '-text'])).stdout;
    expect(text).toMatch(/Status: Rejected/);
    expect(text).toMatch(/unrecognized or unsupported algorithm/);

    const junk = await post(tsa.url, new TextEncoder().encode('not asn.1'));
    await writeFile(path.join(dir, 'resp4.tsr'), Buffer.from(await junk.arrayBuffer()));
    expect((await openssl(['ts', '-reply', '-in', 'resp4.tsr', '-text'])).stdout).toMatch(/Status: Rejected/);

    expect((await post(tsa.url, new Uint8Array(10), 'text/plain')).status).toBe(415);
    expect((await post(tsa.url, new Uint8Array(70 * 1024))).status).toBe(413);
    expect((await fetch(tsa.url)).status).toBe(405);
  });

  it('works with our own client and verifier (chain to the dev root)', async () => {
    const data = await readFile(path.join(dir, 'contract.txt'));
    const { createHash } = await import('node:crypto');
    const digest = new Uint8Array(createHash('sha256').update(data).digest());
    const r = await createTsaClient({ url: tsa.url, trustAnchors: [root] }).timestamp(digest);
    const v = await verifyTimestampToken(r.token, { trustAnchors: [root], data });
    expect(v.errors).toEqual([]);
    expect(v.valid).toBe(true);
    const bad = await verifyTimestampToken(r.token, { trustAnchors: [root], data: Buffer.concat([data, Buffer.from('x')]) });
    expect(bad.valid).toBe(false);
    expect(bad.imprintValid).toBe(false);
    // one flipped byte in the token's signature → signature invalid
    const tampered = Buffer.from(r.token);
    tampered[tampered.length - 10] ^= 0x01;
    const t = await verifyTimestampToken(new Uint8Array(tampered), { trustAnchors: [root], data });
    expect(t.valid).toBe(false);
    expect(t.signatureValid).toBe(false);
  });

  it('the Next.js route handler POST /api/tsa serves the same TSA', async () => {
    await openssl(['ts', '-query', '-data', 'contract.txt', '-sha256', '-cert', '-out', 'req5.tsq']);
    const req = new Request('http://localhost/api/tsa', {
      method: 'POST',
      headers: { 'content-type': 'application/timestamp-query' },
      body: await readFile(path.join(dir, 'req5.tsq')),
    });
    const res = await routePost(req);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/timestamp-reply');
    await writeFile(path.join(dir, 'resp5.tsr'), Buffer.from(await res.arrayBuffer()));
    const v = await openssl(['ts', '-verify', '-in', 'resp5.tsr', '-queryfile', 'req5.tsq', '-CAfile', 'root.pem', '-untrusted', 'tsa.pem']);
    expect(v.stdout).toMatch(/Verification: OK/);
    const wrong = await routePost(new Request('http://localhost/api/tsa', { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } }));
    expect(wrong.status).toBe(415);
  });
});
