/**
 * A throwaway PKI made with the openssl CLI (independent of lib/pki): root CA, sealing certificates
 * (RSA-2048 and ECDSA P-256), a TSA certificate with critical EKU timeStamping, a CRL, and an
 * RFC 3161 TsaClient backed by `openssl ts -reply`. Used by the PAdES tests and the bench.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KeyProvider, RevocationMaterial, SigningKey } from '../../lib/pki/types';
import type { TimestampResult, TsaClient } from '../../lib/tsa/types';

const run = (dir: string, args: string[], input?: string) =>
  execFileSync('openssl', args, { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'], input });

export interface TestPki {
  dir: string;
  rootPem: string;
  rootDer: Uint8Array;
  rsaKey: SigningKey;
  ecKey: SigningKey;
  provider(alg?: 'RSA' | 'ECDSA-P256'): KeyProvider;
  tsa: TsaClient;
  revocation: (chain: Uint8Array[]) => Promise<RevocationMaterial>;
  /** A second, unrelated root (for "untrusted root" tests). */
  otherRootDer: Uint8Array;
  otherRootPem: string;
  otherKey: SigningKey;
}

const pemToDer = (pem: string) => new Uint8Array(Buffer.from(pem.replace(/-----[^-]+-----|\s+/g, ''), 'base64'));

function signingKey(dir: string, certFile: string, keyFile: string, chain: Uint8Array[], algorithm: 'RSA' | 'ECDSA-P256'): SigningKey {
  const key = crypto.createPrivateKey(readFileSync(path.join(dir, keyFile)));
  return {
    certificate: pemToDer(readFileSync(path.join(dir, certFile), 'utf8')),
    chain,
    algorithm,
    async sign(data) {
      return new Uint8Array(crypto.sign('sha256', data, key));
    },
  };
}

let cached: TestPki | undefined;

export function createTestPki(): TestPki {
  if (cached) return cached;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pades-pki-'));
  writeFileSync(
    path.join(dir, 'ext.cnf'),
    `[ca]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
[seal]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,nonRepudiation
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
crlDistributionPoints=URI:http://127.0.0.1:9/pki/crl
[tsa]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=critical,timeStamping
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
crlDistributionPoints=URI:http://127.0.0.1:9/pki/crl
[ca_sect]
default_ca=myca
[myca]
database=index.txt
crlnumber=crlnumber
default_md=sha256
default_crl_days=7
[tsa_config]
default_tsa=tsa1
[tsa1]
serial=tsaserial
signer_digest=sha256
default_policy=1.2.3.4.1
digests=sha256,sha384,sha512
accuracy=secs:1
ordering=no
tsa_name=no
ess_cert_id_chain=no
ess_cert_id_alg=sha256
`,
  );
  writeFileSync(path.join(dir, 'index.txt'), '');
  writeFileSync(path.join(dir, 'crlnumber'), '01\n');
  writeFileSync(path.join(dir, 'tsaserial'), '01\n');
  const mkRoot = (name: string, cn: string) => {
    run(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '3650', '-subj', `/O=Tachiai Test/CN=${cn}`, '-sha256', '-config', '/dev/null', '-extensions', 'ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  };
  // `-config /dev/null` lacks the [ca] section; use ext via -addext only.
  const mkRootSafe = (name: string, cn: string) => {
    try {
      mkRoot(name, cn);
    } catch {
      run(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '3650', '-subj', `/O=Tachiai Test/CN=${cn}`, '-sha256', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    }
  };
  mkRootSafe('root', 'Test Root CA');
  mkRootSafe('other', 'Other Root CA');
  const leaf = (name: string, keyArgs: string[], cn: string, ext: string, ca = 'root') => {
    run(dir, ['req', '-new', ...keyArgs, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/O=Tachiai Test/CN=${cn}`]);
    run(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '825', '-sha256', '-extfile', 'ext.cnf', '-extensions', ext]);
  };
  leaf('seal-rsa', ['-newkey', 'rsa:2048'], 'Tachiai Seal RSA', 'seal');
  leaf('seal-ec', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'Tachiai Seal EC', 'seal');
  leaf('tsa', ['-newkey', 'rsa:2048'], 'Tachiai Test TSA', 'tsa');
  leaf('seal-other', ['-newkey', 'rsa:2048'], 'Someone Else', 'seal', 'other');
  run(dir, ['ca', '-config', 'ext.cnf', '-name', 'myca', '-gencrl', '-keyfile', 'root.key', '-cert', 'root.pem', '-out', 'crl.pem']);
  run(dir, ['crl', '-in', 'crl.pem', '-outform', 'DER', '-out', 'crl.der']);
  const rootPem = readFileSync(path.join(dir, 'root.pem'), 'utf8');
  const rootDer = pemToDer(rootPem);
  const otherRootPem = readFileSync(path.join(dir, 'other.pem'), 'utf8');
  const otherRootDer = pemToDer(otherRootPem);
  const crlDer = new Uint8Array(readFileSync(path.join(dir, 'crl.der')));
  const rsaKey = signingKey(dir, 'seal-rsa.pem', 'seal-rsa.key', [rootDer], 'RSA');
  const ecKey = signingKey(dir, 'seal-ec.pem', 'seal-ec.key', [rootDer], 'ECDSA-P256');
  const otherKey = signingKey(dir, 'seal-other.pem', 'seal-other.key', [otherRootDer], 'RSA');
  let n = 0;
  const tsa: TsaClient = {
    async timestamp(digest: Uint8Array): Promise<TimestampResult> {
      const id = `${process.pid}-${n++}`;
      run(dir, ['ts', '-query', '-digest', Buffer.from(digest).toString('hex'), '-sha256', '-cert', '-out', `q${id}.tsq`]);
      run(dir, ['ts', '-reply', '-config', 'ext.cnf', '-section', 'tsa1', '-queryfile', `q${id}.tsq`, '-signer', 'tsa.pem', '-inkey', 'tsa.key', '-chain', 'root.pem', '-token_out', '-out', `t${id}.der`]);
      const token = new Uint8Array(readFileSync(path.join(dir, `t${id}.der`)));
      return { token, genTime: new Date(), serialNumber: String(n), certificates: [pemToDer(readFileSync(path.join(dir, 'tsa.pem'), 'utf8')), rootDer] };
    },
  };
  const revocation = async (chain: Uint8Array[]): Promise<RevocationMaterial> => ({ certs: [...chain, rootDer], crls: [crlDer], ocsps: [] });
  const provider = (alg: 'RSA' | 'ECDSA-P256' = 'RSA'): KeyProvider => ({
    kind: 'dev',
    sealingKey: async () => (alg === 'RSA' ? rsaKey : ecKey),
    trustAnchors: async () => [rootDer],
  });
  cached = { dir, rootPem, rootDer, rsaKey, ecKey, provider, tsa, revocation, otherRootDer, otherRootPem, otherKey };
  return cached;
}
