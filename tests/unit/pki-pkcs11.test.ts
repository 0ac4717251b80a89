/**
 * The pkcs11 key provider against a real SoftHSM2 token: keys imported with `softhsm2-util --import`
 * (non-extractable inside the token), certificates stored with importCertificateToToken, signatures
 * checked with `openssl dgst -sha256 -verify` (RSA and ECDSA P-256).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetConfig } from '@/lib/config';
import { isAppError } from '@/lib/errors';
import { createPkcs11KeyProvider, importCertificateToToken, pemToDerAll } from '@/lib/pki';

const run = promisify(execFile);
const MODULE = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so'].find((p) => existsSync(p))!;
let dir: string;

async function sh(cmd: string, args: string[]) {
  return run(cmd, args, { cwd: dir, env: process.env, maxBuffer: 10 * 1024 * 1024 });
}

const certDer = async (f: string) => pemToDerAll(await readFile(path.join(dir, f), 'utf8'))[0];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pki-p11-'));
  process.env.DATA_DIR = path.join(dir, 'data');
  process.env.TSA_URL = 'https://tsa.example.jp/tsa'; // external TSA: the token's root is the only anchor
  resetConfig();
  await mkdir(path.join(dir, 'tokens'));
  await writeFile(
    path.join(dir, 'softhsm2.conf'),
    `directories.tokendir = ${path.join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
  );
  process.env.SOFTHSM2_CONF = path.join(dir, 'softhsm2.conf'); // read by SoftHSM at C_Initialize
  await writeFile(
    path.join(dir, 'ext.cnf'),
    '[leaf]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nsubjectKeyIdentifier=hash\n',
  );
  await sh('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=HSM Test Root',
    '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await sh('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'rsa.p8']);
  await sh('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'ec.p8']);
  for (const n of ['rsa', 'ec']) {
    await sh('openssl', ['req', '-new', '-key', `${n}.p8`, '-out', `${n}.csr`, '-subj', `/O=Tachiai Sign/CN=HSM ${n}`]);
    await sh('openssl', ['x509', '-req', '-in', `${n}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${n}.crt`, '-days', '30', '-extfile', 'ext.cnf', '-extensions', 'leaf']);
  }
  await sh('softhsm2-util', ['--init-token', '--free', '--label', 'tachiai', '--pin', '1234', '--so-pin', '5678']);
  await sh('softhsm2-util', ['--import', 'rsa.p8', '--token', 'tachiai', '--label', 'seal-rsa', '--id', '01', '--pin', '1234']);
  await sh('softhsm2-util', ['--import', 'ec.p8', '--token', 'tachiai', '--label', 'seal-ec', '--id', '02', '--pin', '1234']);
  importCertificateToToken({ module: MODULE, pin: '1234', label: 'seal-rsa', id: new Uint8Array([1]), certificate: await certDer('rsa.crt') });
  importCertificateToToken({ module: MODULE, pin: '1234', label: 'seal-ec', id: new Uint8Array([2]), certificate: await certDer('ec.crt') });
  importCertificateToToken({ module: MODULE, pin: '1234', label: 'root', certificate: await certDer('ca.crt') });
});

afterAll(async () => {
  delete process.env.TSA_URL;
  resetConfig();
  await rm(dir, { recursive: true, force: true });
});

async function check(label: string, name: string, alg: 'RSA' | 'ECDSA-P256') {
  const provider = createPkcs11KeyProvider({ module: MODULE, pin: '1234', keyLabel: label });
  expect(provider.kind).toBe('pkcs11');
  const key = await provider.sealingKey();
  expect(key.algorithm).toBe(alg);
  expect(Buffer.from(key.certificate).equals(Buffer.from(await certDer(`${name}.crt`)))).toBe(true);
  expect(key.chain).toHaveLength(1);
  expect(Buffer.from(key.chain[0]).equals(Buffer.from(await certDer('ca.crt')))).toBe(true);
  expect(await provider.trustAnchors()).toHaveLength(1);
  const data = Buffer.from(`HSM signed attributes ${label}`);
  await writeFile(path.join(dir, `${label}.msg`), data);
  await writeFile(path.join(dir, `${label}.sig`), await key.sign(data));
  await sh('openssl', ['x509', '-in', `${name}.crt`, '-pubkey', '-noout', '-out', `${name}.pub`]);
  const { stdout } = await sh('openssl', ['dgst', '-sha256', '-verify', `${name}.pub`, '-signature', `${label}.sig`, `${label}.msg`]);
  expect(stdout).toMatch(/Verified OK/);
  await writeFile(path.join(dir, `${label}.bad`), Buffer.concat([data, Buffer.from('.')]));
  await expect(sh('openssl', ['dgst', '-sha256', '-verify', `${name}.pub`, '-signature', `${label}.sig`, `${label}.bad`])).rejects.toThrow();
}

describe('pkcs11 key provider (SoftHSM2)', () => {
  // first: before any session stays logged in (PKCS#11 login state is shared by all sessions of a process)
  it('refuses a wrong PIN', async () => {
    const wrongPin = await createPkcs11KeyProvider({ module: MODULE, pin: '9999', keyLabel: 'seal-rsa' }).sealingKey().catch((e: unknown) => e);
    expect(isAppError(wrongPin) && wrongPin.message).toMatch(/PIN/);
  });

  it('RSA key in the token signs; openssl verifies', async () => {
    await check('seal-rsa', 'rsa', 'RSA');
  });

  it('ECDSA P-256 key in the token signs (DER Ecdsa-Sig-Value); openssl verifies', async () => {
    await check('seal-ec', 'ec', 'ECDSA-P256');
  });

  it('unknown label and ambiguous key selection fail with clear errors', async () => {
    const unknown = await createPkcs11KeyProvider({ module: MODULE, pin: '1234', keyLabel: 'nope' }).sealingKey().catch((e: unknown) => e);
    expect(isAppError(unknown) && unknown.message).toMatch(/PKCS11_KEY_LABEL/);
    const ambiguous = await createPkcs11KeyProvider({ module: MODULE, pin: '1234' }).sealingKey().catch((e: unknown) => e);
    expect(isAppError(ambiguous) && ambiguous.message).toMatch(/複数/);
  });
});
