/**
 * The dev key provider, checked with OpenSSL: certificate extensions, chain, sealing signatures,
 * CRL, OCSP (good/unknown, nonce), encryption of keys at rest, persistence and race-safe creation.
 */
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetConfig } from '@/lib/config';
import {
  collectRevocationMaterial,
  createDevKeyProvider,
  derToPem,
  getCrl,
  getDevPki,
  getKeyProvider,
  getMasterKey,
  getRootCertificate,
  respondOcsp,
  x509,
} from '@/lib/pki';
import { GET as rootRoute } from '@/app/pki/root.crt/route';
import { GET as crlRoute } from '@/app/pki/crl/route';
import { POST as ocspRoute } from '@/app/pki/ocsp/route';

const run = promisify(execFile);
const APP_URL = 'https://sign.example.lg.jp';
let dir: string;

async function openssl(args: string[], cwd = dir) {
  return run('openssl', args, { cwd, maxBuffer: 10 * 1024 * 1024 });
}

function pkiInfo(dataDir: string, env: Record<string, string> = {}) {
  return run('npx', ['tsx', 'scripts/pki-info.ts', '--json'], {
    cwd: path.resolve(import.meta.dirname, '../..'),
    env: { ...process.env, DATA_DIR: dataDir, APP_URL, ...env },
  }).then((r) => JSON.parse(r.stdout) as { root: { fingerprint256: string }; seal: { fingerprint256: string }; tsa: { fingerprint256: string } });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pki-dev-'));
  process.env.DATA_DIR = path.join(dir, 'data');
  process.env.APP_URL = APP_URL;
  process.env.KEY_PROVIDER = 'dev';
  delete process.env.MASTER_KEY;
  resetConfig();
  const pki = await getDevPki();
  await writeFile(path.join(dir, 'root.pem'), derToPem(pki.root.certDer));
  await writeFile(path.join(dir, 'seal.pem'), derToPem(pki.seal.certDer));
  await writeFile(path.join(dir, 'tsa.pem'), derToPem(pki.tsa.certDer));
});

afterAll(async () => {
  delete process.env.APP_URL;
  delete process.env.KEY_PROVIDER;
  resetConfig();
  await rm(dir, { recursive: true, force: true });
});

describe('dev PKI certificates', () => {
  it('root: self-signed CA with keyCertSign/cRLSign', async () => {
    const t = (await openssl(['x509', '-in', 'root.pem', '-noout', '-text', '-nameopt', 'utf8'])).stdout;
    expect(t).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
    expect(t).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(t).toMatch(/Public-Key: \((2048|3072) bit\)/);
    expect(t).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
  });

  it('sealing certificate names the service as 立会人, digitalSignature+nonRepudiation critical, CRL DP and AIA', async () => {
    const t = (await openssl(['x509', '-in', 'seal.pem', '-noout', '-text', '-nameopt', 'utf8'])).stdout;
    expect(t).toMatch(/Subject: C=JP, O=Tachiai Sign, CN=立会サイン 立会人署名/);
    expect(t).toMatch(/Key Usage: critical\s+Digital Signature, Non Repudiation/);
    expect(t).toContain(`URI:${APP_URL}/pki/crl`);
    expect(t).toContain(`OCSP - URI:${APP_URL}/pki/ocsp`);
    expect(t).toContain(`CA Issuers - URI:${APP_URL}/pki/root.crt`);
    expect(t).toMatch(/Authority Key Identifier/);
    const v = await openssl(['verify', '-CAfile', 'root.pem', 'seal.pem']);
    expect(v.stdout).toMatch(/seal.pem: OK/);
  });

  it('TSA certificate: EKU timeStamping critical, keyUsage digitalSignature, accepted by OpenSSL for timestamp signing', async () => {
    const t = (await openssl(['x509', '-in', 'tsa.pem', '-noout', '-text'])).stdout;
    expect(t).toMatch(/Extended Key Usage: critical\s+Time Stamping/);
    expect(t).toMatch(/Key Usage: critical\s+Digital Signature\n/);
    expect(t).toContain(`URI:${APP_URL}/pki/crl`);
    expect(t).toContain(`OCSP - URI:${APP_URL}/pki/ocsp`);
    const v = await openssl(['verify', '-CAfile', 'root.pem', '-purpose', 'timestampsign', 'tsa.pem']);
    expect(v.stdout).toMatch(/tsa.pem: OK/);
    // the sealing certificate is not a TSA certificate
    await expect(openssl(['verify', '-CAfile', 'root.pem', '-purpose', 'timestampsign', 'seal.pem'])).rejects.toThrow();
  });

  it('@peculiar/x509 reads the same extensions', async () => {
    const seal = new x509.X509Certificate(new Uint8Array((await getDevPki()).seal.certDer));
    const ku = seal.getExtension(x509.KeyUsagesExtension);
    expect(ku?.critical).toBe(true);
    expect(ku!.usages & x509.KeyUsageFlags.nonRepudiation).toBeTruthy();
    const tsa = new x509.X509Certificate(new Uint8Array((await getDevPki()).tsa.certDer));
    const eku = tsa.getExtension(x509.ExtendedKeyUsageExtension);
    expect(eku?.critical).toBe(true);
    expect(eku?.usages).toEqual(['1.3.6.1.5.5.7.3.8']);
  });
});

describe('dev key provider', () => {
  it('signs with SHA-256/RSA; OpenSSL verifies the signature with the sealing certificate', async () => {
    const provider = getKeyProvider();
    expect(provider.kind).toBe('dev');
    const key = await provider.sealingKey();
    expect(key.algorithm).toBe('RSA');
    expect(key.chain).toHaveLength(1);
    const data = new TextEncoder().encode('signed attributes DER stand-in 立会人');
    await writeFile(path.join(dir, 'msg.bin'), data);
    await writeFile(path.join(dir, 'msg.sig'), await key.sign(data));
    await openssl(['x509', '-in', 'seal.pem', '-pubkey', '-noout', '-out', 'seal.pub']);
    const v = await openssl(['dgst', '-sha256', '-verify', 'seal.pub', '-signature', 'msg.sig', 'msg.bin']);
    expect(v.stdout).toMatch(/Verified OK/);
    await writeFile(path.join(dir, 'msg2.bin'), 'other');
    await expect(openssl(['dgst', '-sha256', '-verify', 'seal.pub', '-signature', 'msg.sig', 'msg2.bin'])).rejects.toThrow();
    expect(await provider.trustAnchors()).toEqual([await getRootCertificate()]);
  });

  it('stores private keys encrypted under the master key; the master key file is 0600', async () => {
    const pkiDir = path.join(dir, 'data', 'pki', 'dev');
    const files = await readdir(pkiDir);
    for (const k of ['root.key', 'seal.key', 'tsa.key']) {
      expect(files).toContain(k);
      const pem = await readFile(path.join(pkiDir, k), 'utf8');
      expect(pem).not.toMatch(/BEGIN PRIVATE KEY|BEGIN RSA PRIVATE KEY/);
      expect(pem).toMatch(/BEGIN ENCRYPTED PRIVATE KEY/);
      expect((await stat(path.join(pkiDir, k))).mode & 0o077).toBe(0);
    }
    await expect(openssl(['pkey', '-in', path.join(pkiDir, 'seal.key'), '-passin', 'pass:wrong', '-noout'])).rejects.toThrow();
    const mk = await stat(path.join(dir, 'data', 'master.key'));
    expect(mk.mode & 0o777).toBe(0o600);
    expect((await getMasterKey()).length).toBe(32);
    expect(files.filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('survives a restart (another process loads the same certificates) and refuses a different master key', async () => {
    const pki = await getDevPki();
    const info = await pkiInfo(path.join(dir, 'data'));
    expect(info.root.fingerprint256).toBe(new X509Certificate(Buffer.from(pki.root.certDer)).fingerprint256);
    expect(info.seal.fingerprint256).toBe(new X509Certificate(Buffer.from(pki.seal.certDer)).fingerprint256);
    expect(info.tsa.fingerprint256).toBe(new X509Certificate(Buffer.from(pki.tsa.certDer)).fingerprint256);
    const otherKey = Buffer.alloc(32, 7).toString('base64');
    await expect(pkiInfo(path.join(dir, 'data'), { MASTER_KEY: otherKey })).rejects.toThrow(/復号できません/);
  });

  it('two processes starting at once on an empty DATA_DIR end up with one PKI', async () => {
    const fresh = path.join(dir, 'race');
    const [a, b] = await Promise.all([pkiInfo(fresh), pkiInfo(fresh)]);
    expect(a.root.fingerprint256).toBe(b.root.fingerprint256);
    expect(a.seal.fingerprint256).toBe(b.seal.fingerprint256);
    const c = await pkiInfo(fresh);
    expect(c.tsa.fingerprint256).toBe(a.tsa.fingerprint256);
    expect((await readdir(path.join(fresh, 'pki'))).sort()).toEqual(['dev']);
  }, 180_000); // two tsx processes start (and compile) at once
});

describe('CRL and OCSP', () => {
  it('CRL: signed by the root, empty, nextUpdate about 7 days ahead; served at /pki/crl', async () => {
    const res = await crlRoute();
    expect(res.headers.get('content-type')).toBe('application/pkix-crl');
    await writeFile(path.join(dir, 'root.crl'), Buffer.from(await res.arrayBuffer()));
    const { stdout, stderr } = await openssl(['crl', '-inform', 'DER', '-in', 'root.crl', '-CAfile', 'root.pem', '-noout', '-text']);
    expect(stdout + stderr).toMatch(/verify OK/);
    expect(stdout).toMatch(/No Revoked Certificates/);
    expect(stdout).toMatch(/CRL Number/);
    const next = /Next Update: (.+)/.exec(stdout)![1];
    const days = (new Date(next).getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThan(7.1);
    expect(Buffer.from(await getCrl()).equals(await readFile(path.join(dir, 'root.crl')))).toBe(true); // cached
  });

  it('OCSP: OpenSSL request → our responder → OpenSSL says good (nonce checked); unknown for a foreign certificate', async () => {
    await openssl(['ocsp', '-issuer', 'root.pem', '-cert', 'seal.pem', '-cert', 'tsa.pem', '-reqout', 'req.der']);
    const res = await ocspRoute(
      new Request('http://localhost/pki/ocsp', {
        method: 'POST',
        headers: { 'content-type': 'application/ocsp-request' },
        body: await readFile(path.join(dir, 'req.der')),
      }),
    );
    expect(res.headers.get('content-type')).toBe('application/ocsp-response');
    await writeFile(path.join(dir, 'resp.der'), Buffer.from(await res.arrayBuffer()));
    // with -reqin (and no -cert, which would make openssl build its own request) openssl checks the nonce echo
    const withNonce = await openssl(['ocsp', '-reqin', 'req.der', '-respin', 'resp.der', '-issuer', 'root.pem', '-CAfile', 'root.pem']);
    expect(withNonce.stderr).toMatch(/Response verify OK/);
    expect(withNonce.stderr + withNonce.stdout).not.toMatch(/nonce/i);
    const { stdout, stderr } = await openssl([
      'ocsp', '-respin', 'resp.der', '-no_nonce', '-issuer', 'root.pem', '-CAfile', 'root.pem', '-cert', 'seal.pem', '-cert', 'tsa.pem',
    ]);
    expect(stderr).toMatch(/Response verify OK/);
    expect(stdout).toMatch(/seal.pem: good/);
    expect(stdout).toMatch(/tsa.pem: good/);

    // a certificate the root never issued
    await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'f.key', '-out', 'foreign.pem', '-subj', '/CN=Foreign', '-days', '2']);
    await openssl(['ocsp', '-issuer', 'root.pem', '-cert', 'foreign.pem', '-reqout', 'req2.der']);
    await writeFile(path.join(dir, 'resp2.der'), await respondOcsp(new Uint8Array(await readFile(path.join(dir, 'req2.der')))));
    const u = await openssl(['ocsp', '-respin', 'resp2.der', '-no_nonce', '-issuer', 'root.pem', '-CAfile', 'root.pem', '-cert', 'foreign.pem']);
    expect(u.stdout).toMatch(/foreign.pem: unknown/);

    // garbage → malformedRequest
    await writeFile(path.join(dir, 'resp3.der'), await respondOcsp(new Uint8Array([1, 2, 3])));
    const m = await openssl(['ocsp', '-respin', 'resp3.der', '-resp_text', '-noverify']).catch((e: { stdout: string }) => e);
    expect(m.stdout).toMatch(/malformedrequest/i);
  });

  it('/pki/root.crt serves the root in DER', async () => {
    const res = await rootRoute();
    expect(res.headers.get('content-type')).toBe('application/pkix-cert');
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(await getRootCertificate()))).toBe(true);
  });

  it('collectRevocationMaterial for the dev chains: certificates, a CRL and OCSP responses OpenSSL accepts', async () => {
    const key = await createDevKeyProvider().sealingKey();
    const m = await collectRevocationMaterial([key.certificate, ...key.chain]);
    const hashes = m.certs.map((c) => createHash('sha256').update(c).digest('hex'));
    expect(hashes).toContain(createHash('sha256').update(key.certificate).digest('hex'));
    expect(hashes).toContain(createHash('sha256').update(await getRootCertificate()).digest('hex'));
    expect(m.crls).toHaveLength(1);
    expect(m.ocsps).toHaveLength(1);
    await writeFile(path.join(dir, 'coll.der'), m.ocsps[0]);
    const { stdout, stderr } = await openssl(['ocsp', '-respin', 'coll.der', '-no_nonce', '-issuer', 'root.pem', '-CAfile', 'root.pem', '-cert', 'seal.pem']);
    expect(stderr).toMatch(/Response verify OK/);
    expect(stdout).toMatch(/seal.pem: good/);

    // TSA chain without the root given: the root is added from the dev PKI
    const pki = await getDevPki();
    const t = await collectRevocationMaterial([pki.tsa.certDer]);
    expect(t.certs).toHaveLength(2);
    expect(t.ocsps).toHaveLength(1);
    expect(t.crls).toHaveLength(1);
  });
});
