/**
 * `npx tsx scripts/pki-info.ts [--json | --root-pem]` — create (if needed) and describe the dev PKI: where it
 * lives, the certificates' subjects and SHA-256 fingerprints; `--root-pem` prints the root certificate (PEM) to
 * import into a trust store (Acrobat, NSS for pdfsig) for development. Never prints keys.
 */
import { X509Certificate } from 'node:crypto';
import { getConfig } from '../lib/config';
import { derToPem, devPkiDir, getDevPki, masterKeyId } from '../lib/pki';

async function main() {
  const pki = await getDevPki();
  if (process.argv.includes('--root-pem')) {
    process.stdout.write(derToPem(pki.root.certDer));
    return;
  }
  const describe = (der: Uint8Array) => {
    const x = new X509Certificate(Buffer.from(der));
    return { subject: x.subject.replace(/\n/g, ', '), fingerprint256: x.fingerprint256, validTo: x.validTo };
  };
  const info = {
    dir: devPkiDir(),
    masterKeyId: await masterKeyId(),
    appUrl: getConfig().APP_URL,
    root: describe(pki.root.certDer),
    seal: describe(pki.seal.certDer),
    tsa: describe(pki.tsa.certDer),
  };
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(info)}\n`);
    return;
  }
  console.log(`dev PKI: ${info.dir} (master key id ${info.masterKeyId})`);
  for (const k of ['root', 'seal', 'tsa'] as const) console.log(`${k.padEnd(5)} ${info[k].subject}\n      SHA-256 ${info[k].fingerprint256}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? `${e.name}: ${e.message}` : e);
  process.exit(1);
});
