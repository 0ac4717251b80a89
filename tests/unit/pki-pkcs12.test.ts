/**
 * The pkcs12 key provider with .p12 files made by `openssl pkcs12 -export` (RSA and ECDSA P-256, with a CA
 * chain; also the -legacy 3DES/RC2 format); signatures checked with `openssl dgst -sha256 -verify`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetConfig } from '@/lib/config';
import { isAppError } from '@/lib/errors';
import { createPkcs12KeyProvider, derToPem, getKeyProvider, getRootCertificate } from '@/lib/pki';

const run = promisify(execFile);
let dir: string;

async function openssl(args: string[]) {
  return run('openssl', args, { cwd: dir, maxBuffer: 10 * 1024 * 1024 });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pki-p12-'));
  process.env.DATA_DIR = path.join(dir, 'data');
  process.env.TSA_URL = 'https://tsa.example.jp/tsa'; // an external TSA: only the file's root is an anchor
  resetConfig();
  await writeFile(
    path.join(dir, 'ext.cnf'),
    '[leaf]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n',
  );
  await openssl([
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/C=JP/O=Test CA/CN=Test Root',
    '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  // RSA leaf
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'rsa.key', '-out', 'rsa.csr', '-subj', '/C=JP/O=Tachiai Sign/CN=RSA Seal']);
  // ECDSA P-256 leaf
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ec.key']);
  await openssl(['req', '-new', '-key', 'ec.key', '-out', 'ec.csr', '-subj', '/C=JP/O=Tachiai Sign/CN=EC Seal']);
  // P-384: refused
  await openssl(['ecparam', '-name', 'secp384r1', '-genkey', '-noout', '-out', 'p384.key']);
  await openssl(['req', '-new', '-key', 'p384.key', '-out', 'p384.csr', '-subj', '/CN=P384']);
  for (const n of ['rsa', 'ec', 'p384']) {
    await openssl(['x509', '-req', '-in', `${n}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${n}.crt`, '-days', '30', '-extfile', 'ext.cnf', '-extensions', 'leaf']);
    await openssl(['pkcs12', '-export', '-inkey', `${n}.key`, '-in', `${n}.crt`, '-certfile', 'ca.crt', '-out', `${n}.p12`, '-passout', 'pass:パスワード1']);
  }
  await openssl(['pkcs12', '-export', '-legacy', '-inkey', 'ec.key', '-in', 'ec.crt', '-certfile', 'ca.crt', '-out', 'ec-legacy.p12', '-passout', 'pass:pw']);
});

afterAll(async () => {
  delete process.env.KEY_PROVIDER;
  delete process.env.PKCS12_PATH;
  delete process.env.PKCS12_PASSWORD;
  delete process.env.TSA_URL;
  resetConfig();
  await rm(dir, { recursive: true, force: true });
});

async function signAndVerify(name: string, p12: string, password: string, expectAlg: 'RSA' | 'ECDSA-P256') {
  const provider = createPkcs12KeyProvider({ path: path.join(dir, p12), password });
  const key = await provider.sealingKey();
  expect(key.algorithm).toBe(expectAlg);
  // the certificate is the one openssl issued, byte for byte; the chain holds the CA
  const leafPem = await readFile(path.join(dir, `${name}.crt`), 'utf8');
  expect(derToPem(key.certificate).replace(/\s/g, '')).toBe(leafPem.replace(/\s/g, ''));
  expect(key.chain).toHaveLength(1);
  expect(derToPem(key.chain[0]).replace(/\s/g, '')).toBe((await readFile(path.join(dir, 'ca.crt'), 'utf8')).replace(/\s/g, ''));
  expect(await provider.trustAnchors()).toEqual([key.chain[0]]);

  const data = Buffer.from(`signed attributes of ${p12} 立会人`);
  await writeFile(path.join(dir, `${p12}.msg`), data);
  await writeFile(path.join(dir, `${p12}.sig`), await key.sign(data));
  await openssl(['x509', '-in', `${name}.crt`, '-pubkey', '-noout', '-out', `${name}.pub`]);
  const ok = await openssl(['dgst', '-sha256', '-verify', `${name}.pub`, '-signature', `${p12}.sig`, `${p12}.msg`]);
  expect(ok.stdout).toMatch(/Verified OK/);
  await writeFile(path.join(dir, `${p12}.bad`), Buffer.concat([data, Buffer.from('!')]));
  await expect(openssl(['dgst', '-sha256', '-verify', `${name}.pub`, '-signature', `${p12}.sig`, `${p12}.bad`])).rejects.toThrow();
}

describe('pkcs12 key provider', () => {
  it('RSA: loads key + chain, signature verifies with openssl', async () => {
    await signAndVerify('rsa', 'rsa.p12', 'パスワード1', 'RSA');
  });

  it('ECDSA P-256: loads key + chain, DER ECDSA signature verifies with openssl', async () => {
    await signAndVerify('ec', 'ec.p12', 'パスワード1', 'ECDSA-P256');
  });

  it('legacy (3DES/RC2) PKCS#12 files load too', async () => {
    await signAndVerify('ec', 'ec-legacy.p12', 'pw', 'ECDSA-P256');
  });

  it('wrong password, other curves and missing files fail with a clear error', async () => {
    const wrong = await createPkcs12KeyProvider({ path: path.join(dir, 'rsa.p12'), password: 'nope' }).sealingKey().catch((e: unknown) => e);
    expect(isAppError(wrong) && wrong.message).toMatch(/PKCS#12ファイルを読み込めません/);
    const p384 = await createPkcs12KeyProvider({ path: path.join(dir, 'p384.p12'), password: 'パスワード1' }).sealingKey().catch((e: unknown) => e);
    expect(isAppError(p384) && p384.message).toMatch(/P-256/);
    const missing = await createPkcs12KeyProvider({ path: path.join(dir, 'none.p12'), password: 'x' }).sealingKey().catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(Error);
  });

  it('getKeyProvider() picks pkcs12 from KEY_PROVIDER / PKCS12_PATH / PKCS12_PASSWORD', async () => {
    process.env.KEY_PROVIDER = 'pkcs12';
    process.env.PKCS12_PATH = path.join(dir, 'ec.p12');
    process.env.PKCS12_PASSWORD = 'パスワード1';
    resetConfig();
    const p = getKeyProvider();
    expect(p.kind).toBe('pkcs12');
    expect((await p.sealingKey()).algorithm).toBe('ECDSA-P256');
  });

  it('with the built-in TSA (TSA_URL unset) the dev root is a trust anchor too', async () => {
    delete process.env.TSA_URL;
    resetConfig();
    const key = await createPkcs12KeyProvider({ path: path.join(dir, 'rsa.p12'), password: 'パスワード1' }).sealingKey();
    const anchors = await createPkcs12KeyProvider({ path: path.join(dir, 'rsa.p12'), password: 'パスワード1' }).trustAnchors();
    expect(anchors).toHaveLength(2);
    expect(anchors[0]).toEqual(key.chain[0]);
    expect(anchors[1]).toEqual(await getRootCertificate());
  });
});
