/**
 * collectRevocationMaterial for a foreign chain (as with a pkcs12 provider or an external TSA): the issuer is
 * fetched via AIA caIssuers, the CRL from the CRL distribution point, and an OCSP response from the AIA OCSP
 * URL — all served over real HTTP by an OpenSSL CA (`openssl ca -gencrl`, `openssl ocsp -index`).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetConfig } from '@/lib/config';
import { collectRevocationMaterial, devPkiExists, pemToDerAll } from '@/lib/pki';

const run = promisify(execFile);
let dir: string;
let server: http.Server;
let base: string;
const hits: string[] = [];

async function openssl(args: string[]) {
  return run('openssl', args, { cwd: dir, maxBuffer: 10 * 1024 * 1024 });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pki-rev-'));
  process.env.DATA_DIR = path.join(dir, 'data');
  resetConfig();
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        hits.push(`${req.method} ${req.url}`);
        try {
          if (req.url === '/ca.crl') {
            res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(await readFile(path.join(dir, 'ca.crl.der')));
          } else if (req.url === '/ca.crt') {
            res.writeHead(200, { 'content-type': 'application/pkix-cert' }).end(await readFile(path.join(dir, 'ca.der')));
          } else if (req.url === '/ocsp' && req.method === 'POST') {
            const id = Math.random().toString(16).slice(2);
            await writeFile(path.join(dir, `oreq-${id}.der`), Buffer.concat(chunks));
            await openssl([
              'ocsp', '-index', 'index.txt', '-rsigner', 'ca.crt', '-rkey', 'ca.key', '-CA', 'ca.crt',
              '-reqin', `oreq-${id}.der`, '-respout', `oresp-${id}.der`,
            ]);
            res.writeHead(200, { 'content-type': 'application/ocsp-response' }).end(await readFile(path.join(dir, `oresp-${id}.der`)));
          } else {
            res.writeHead(404).end();
          }
        } catch (e) {
          res.writeHead(500).end(String(e));
        }
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  await writeFile(
    path.join(dir, 'ca.cnf'),
    [
      '[ca]', 'default_ca = CA_default', '[CA_default]', `database = ${path.join(dir, 'index.txt')}`,
      `crlnumber = ${path.join(dir, 'crlnumber')}`, 'default_md = sha256', 'default_crl_days = 7', '',
      '[leaf]', 'basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,nonRepudiation',
      `crlDistributionPoints=URI:${base}/ca.crl`, `authorityInfoAccess=OCSP;URI:${base}/ocsp,caIssuers;URI:${base}/ca.crt`, '',
    ].join('\n'),
  );
  await writeFile(path.join(dir, 'crlnumber'), '01\n');
  await openssl([
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=Foreign CA',
    '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);
  await openssl(['x509', '-in', 'ca.crt', '-outform', 'DER', '-out', 'ca.der']);
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=Foreign Leaf']);
  await openssl([
    'x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', '0x1234', '-out', 'leaf.crt', '-days', '20',
    '-extfile', 'ca.cnf', '-extensions', 'leaf',
  ]);
  const enddate = (await openssl(['x509', '-in', 'leaf.crt', '-noout', '-enddate'])).stdout.trim().replace('notAfter=', '');
  const d = new Date(enddate);
  const p2 = (n: number) => String(n).padStart(2, '0');
  const exp = `${p2(d.getUTCFullYear() % 100)}${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}${p2(d.getUTCSeconds())}Z`;
  await writeFile(path.join(dir, 'index.txt'), `V\t${exp}\t\t1234\tunknown\t/CN=Foreign Leaf\n`);
  await openssl(['ca', '-gencrl', '-config', 'ca.cnf', '-keyfile', 'ca.key', '-cert', 'ca.crt', '-out', 'ca.crl']);
  await openssl(['crl', '-in', 'ca.crl', '-outform', 'DER', '-out', 'ca.crl.der']);
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await rm(dir, { recursive: true, force: true });
});

describe('collectRevocationMaterial for a foreign chain over HTTP', () => {
  it('fetches the issuer (AIA caIssuers), the CRL (CRL DP) and a good OCSP response (AIA OCSP)', async () => {
    const leaf = pemToDerAll(await readFile(path.join(dir, 'leaf.crt'), 'utf8'))[0];
    const m = await collectRevocationMaterial([leaf], { timeoutMs: 10_000 });
    expect(await devPkiExists()).toBe(false); // a foreign chain never creates the dev PKI
    expect(hits).toEqual(expect.arrayContaining(['GET /ca.crt', 'GET /ca.crl', 'POST /ocsp']));
    expect(m.certs).toHaveLength(2);
    expect(Buffer.from(m.certs[1]).equals(await readFile(path.join(dir, 'ca.der')))).toBe(true);
    expect(m.crls).toHaveLength(1);
    expect(Buffer.from(m.crls[0]).equals(await readFile(path.join(dir, 'ca.crl.der')))).toBe(true);
    expect(m.ocsps).toHaveLength(1);
    await writeFile(path.join(dir, 'got.der'), m.ocsps[0]);
    const { stdout, stderr } = await openssl(['ocsp', '-respin', 'got.der', '-no_nonce', '-issuer', 'ca.crt', '-CAfile', 'ca.crt', '-cert', 'leaf.crt']);
    expect(stderr).toMatch(/Response verify OK/);
    expect(stdout).toMatch(/leaf.crt: good/);
  });

  it('is best effort: unreachable services give certificates only, without throwing', async () => {
    const leaf = pemToDerAll(await readFile(path.join(dir, 'leaf.crt'), 'utf8'))[0];
    const ca = new Uint8Array(await readFile(path.join(dir, 'ca.der')));
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    const m = await collectRevocationMaterial([leaf, ca], { timeoutMs: 1000 });
    expect(m.certs).toHaveLength(2);
    expect(m.crls).toEqual([]);
    expect(m.ocsps).toEqual([]);
  });
});
