/**
 * End to end with the real lib/pki dev provider and the built-in TSA over HTTP (startTsaServer):
 * seal with the configured defaults → our verifier (default trust anchors), openssl/pdfsig, the
 * /api/verify route handler, and the seal/verify CLIs.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetConfig } from '../../lib/config';
import { addArchiveTimestamp, sealPdf, verifyPdf, type VerificationReport } from '../../lib/pades';
import { derToPem, getRootCertificate, respondOcsp } from '../../lib/pki';
import { createTsaClient, startTsaServer, type TsaServer } from '../../lib/tsa';
import { corpusFile } from '../helpers/pdf-corpus';
import { independentlyVerify, startOcspHttp } from '../helpers/independent-verify';

const exec = promisify(execFile);
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pades-devpki-'));
let server: TsaServer;
let sealed: Uint8Array;
let rootPem: string;
let ocsp: { url: string; close(): Promise<void> };

beforeAll(async () => {
  // The dev PKI names ${APP_URL}/pki/ocsp in its certificates: serve it on loopback so pdfsig can check them.
  ocsp = await startOcspHttp((req) => respondOcsp(req));
  process.env.DATA_DIR = dataDir;
  process.env.APP_URL = ocsp.url;
  resetConfig();
  server = await startTsaServer({ port: 0 });
  sealed = await sealPdf(corpusFile('objstm'), {
    reason: '立会人型電子署名（書類ID: ENV-DEV-1）',
    tsa: createTsaClient({ url: server.url }),
  });
  rootPem = derToPem(await getRootCertificate());
}, 120_000); // creates the dev PKI (three RSA keys): slow on a busy machine
afterAll(async () => {
  await server?.close();
  await ocsp?.close();
});

describe('sealing with the dev key provider and the built-in TSA over HTTP', () => {
  it('is B-LTA for our verifier with the default trust anchors', async () => {
    const r = await verifyPdf(sealed);
    expect(r.problems).toEqual([]);
    expect(r.valid).toBe(true);
    expect(r.level).toBe('B-LTA');
    expect(r.signatures[0].signer?.subject).toContain('立会人署名');
    expect(r.signatures[0].checks.revocation?.ok).toBe(true);
  });

  it('passes openssl cms/ts and pdfsig (trusted, with OCSP answered on loopback)', async () => {
    const ind = await independentlyVerify(sealed, rootPem);
    expect(ind.failures).toEqual([]);
    expect(ind.pdfsig[0].valid).toBe(true);
    expect(ind.pdfsig[0].trusted).toBe(true);
  });

  it('renews the archive timestamp with the defaults', async () => {
    const renewed = await addArchiveTimestamp(sealed, { tsa: createTsaClient({ url: server.url }) });
    const r = await verifyPdf(renewed);
    expect(r.valid).toBe(true);
    expect(r.signatures.filter((s) => s.kind === 'doc_timestamp')).toHaveLength(2);
  });

  it('POST /api/verify returns the report; invalid inputs get Japanese errors', async () => {
    const { POST } = await import('../../app/api/verify/route');
    const form = new FormData();
    form.append('file', new File([Buffer.from(sealed)], 'sealed.pdf', { type: 'application/pdf' }));
    const res = await POST(new Request('http://localhost/api/verify', { method: 'POST', body: form }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as VerificationReport;
    expect(body.valid).toBe(true);
    expect(body.level).toBe('B-LTA');

    const tampered = Buffer.from(sealed);
    tampered[200] ^= 1;
    const res2 = await POST(new Request('http://localhost/api/verify', { method: 'POST', body: tampered, headers: { 'content-type': 'application/pdf' } }));
    expect(((await res2.json()) as VerificationReport).valid).toBe(false);

    const res3 = await POST(new Request('http://localhost/api/verify', { method: 'POST', body: new FormData() }));
    expect(res3.status).toBe(400);
    expect(((await res3.json()) as { error: { message: string } }).error.message).toContain('PDF');
  });

  it('CLIs: npm run seal / npm run verify (exit codes 0 valid, 1 invalid)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pades-cli-'));
    writeFileSync(path.join(dir, 'in.pdf'), corpusFile('chromium'));
    const env = { ...process.env, DATA_DIR: dataDir, APP_URL: ocsp.url, TSA_URL: '' };
    delete (env as Record<string, string | undefined>).TSA_URL;
    const s = await exec('npx', ['tsx', 'scripts/seal.ts', path.join(dir, 'in.pdf'), path.join(dir, 'out.pdf')], { env });
    expect(s.stdout).toContain('封緘しました');
    const v = await exec('npx', ['tsx', 'scripts/verify.ts', path.join(dir, 'out.pdf')], { env });
    expect(v.stdout).toContain('判定: 有効（PAdES B-LTA）');
    const bad = Buffer.from(readFileSync(path.join(dir, 'out.pdf')));
    bad[300] ^= 1;
    writeFileSync(path.join(dir, 'bad.pdf'), bad);
    const e = await exec('npx', ['tsx', 'scripts/verify.ts', path.join(dir, 'bad.pdf')], { env }).catch((x) => x);
    expect(e.code).toBe(1);
    expect(e.stdout).toContain('判定: 無効');
  }, 240_000); // three CLI processes, each compiling TypeScript at start
});
