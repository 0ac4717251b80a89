/**
 * Independent checks of signed PDFs with poppler's pdfsig and the openssl CLI (not our verifier).
 * Signatures are located with a plain regex over the file bytes (no PDF parser of ours):
 * each `/ByteRange [a b c d]` whose gap [b, c) is a `<hex>` string.
 *
 *   const v = await independentlyVerify(pdfBytes, rootPem);
 *   expect(v.ok).toBe(true);   // every check below passed
 *
 * Limits: poppler ignores the DSS and cannot verify /DocTimeStamp — those are checked with
 * `openssl ts -verify -data` instead. Every CMS and time-stamp token is also parsed by Debian's
 * python3-asn1crypto (a strict DER parser, the one pyHanko uses) and must re-encode to the same bytes.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import { mkdtempSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as asn1js from 'asn1js';

const exec = promisify(execFile);

export interface FoundSignature {
  byteRange: [number, number, number, number];
  /** DER without the zero padding. */
  der: Buffer;
  /** `/Type /DocTimeStamp` / `/SubFilter /ETSI.RFC3161`. */
  isDocTimestamp: boolean;
}

async function run(cmd: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await exec(cmd, args, { maxBuffer: 64 * 1024 * 1024 });
    return { ok: true, out: `${r.stdout}${r.stderr}` };
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; message: string };
    return { ok: false, out: `${x.stdout ?? ''}${x.stderr ?? ''}${x.message}` };
  }
}

/** DER length of a TLV at the start of `b` (to strip the zero padding of /Contents). */
function derLength(b: Buffer): number {
  if (b[1] < 0x80) return 2 + b[1];
  const n = b[1] & 0x7f;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + b[2 + i];
  return 2 + n + len;
}

export function findSignatures(pdf: Uint8Array): FoundSignature[] {
  const s = Buffer.from(pdf.buffer, pdf.byteOffset, pdf.byteLength).toString('latin1');
  const out: FoundSignature[] = [];
  const re = /\/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) {
    const br = [m[1], m[2], m[3], m[4]].map(Number) as [number, number, number, number];
    const gap = s.slice(br[1], br[2]);
    if (!/^<[0-9A-Fa-f]+>$/.test(gap)) continue;
    const raw = Buffer.from(gap.slice(1, -1), 'hex');
    const der = raw.subarray(0, derLength(raw));
    // Look back for the dictionary start to classify it.
    const dictStart = s.lastIndexOf('<<', m.index);
    const dict = s.slice(dictStart, m.index + 400);
    out.push({ byteRange: br, der, isDocTimestamp: /\/DocTimeStamp|\/ETSI\.RFC3161/.test(dict) });
  }
  return out;
}

export function signedBytes(pdf: Uint8Array, br: [number, number, number, number]): Buffer {
  return Buffer.concat([Buffer.from(pdf.subarray(br[0], br[0] + br[1])), Buffer.from(pdf.subarray(br[2], br[2] + br[3]))]);
}

/** The signature timestamp token and the SignerInfo signature value of a CMS (asn1js walk). */
export function signatureTimestampOf(cmsDer: Uint8Array): { token: Buffer; signatureValue: Buffer } | undefined {
  const ci = asn1js.fromBER(new Uint8Array(cmsDer).buffer).result as asn1js.Sequence;
  const sd = ((ci.valueBlock.value[1] as asn1js.Constructed).valueBlock.value[0] as asn1js.Sequence).valueBlock.value;
  const signerInfos = sd[sd.length - 1] as asn1js.Set;
  const si = (signerInfos.valueBlock.value[0] as asn1js.Sequence).valueBlock.value;
  let sig: Buffer | undefined;
  let token: Buffer | undefined;
  for (const el of si) {
    if (el instanceof asn1js.OctetString) sig = Buffer.from(el.valueBlock.valueHexView);
    if (el.idBlock.tagClass === 3 && el.idBlock.tagNumber === 1) {
      for (const attr of (el as asn1js.Constructed).valueBlock.value as asn1js.Sequence[]) {
        const oid = (attr.valueBlock.value[0] as asn1js.ObjectIdentifier).valueBlock.toString();
        if (oid === '1.2.840.113549.1.9.16.2.14') token = Buffer.from((attr.valueBlock.value[1] as asn1js.Set).valueBlock.value[0].toBER(false));
      }
    }
  }
  return sig && token ? { token, signatureValue: sig } : undefined;
}

let nssCache = new Map<string, string>();

/** An NSS database trusting `rootPems` (for pdfsig), cached per set of roots. */
export async function nssDbFor(rootPems: string[]): Promise<string> {
  const key = crypto.createHash('sha256').update(rootPems.join('\n')).digest('hex').slice(0, 16);
  const hit = nssCache.get(key);
  if (hit) return hit;
  const dir = path.join(os.tmpdir(), `tachiai-nss-${process.pid}-${key}`);
  if (!existsSync(path.join(dir, 'cert9.db'))) {
    mkdirSync(dir, { recursive: true });
    await exec('certutil', ['-N', '-d', `sql:${dir}`, '--empty-password']);
    for (const [i, pem] of rootPems.entries()) {
      const f = path.join(dir, `root${i}.pem`);
      writeFileSync(f, pem);
      await exec('certutil', ['-A', '-d', `sql:${dir}`, '-n', `root${i}`, '-t', 'CT,C,C', '-i', f]);
    }
  }
  nssCache.set(key, dir);
  return dir;
}

export interface PdfsigSignature {
  fieldName?: string;
  /** "Signature is Valid." */
  valid: boolean;
  /** "Certificate is Trusted." */
  trusted: boolean;
  totalDocumentSigned: boolean;
  /** poppler cannot verify document timestamps: "not yet verified". */
  notVerified: boolean;
  /** "Unknown issue with Certificate…": what poppler 22.12 says with -no-ocsp for certificates naming an OCSP URL. */
  unknownIssue: boolean;
  raw: string;
}

/** Runs `pdfsig -nssdir sql:DB file` (`noOcsp`: add -no-ocsp; poppler then says "Unknown issue" for some chains). */
export async function pdfsig(pdf: Uint8Array, rootPems: string[], opts: { noOcsp?: boolean } = {}): Promise<{ ok: boolean; signatures: PdfsigSignature[]; out: string }> {
  const db = await nssDbFor(rootPems);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pdfsig-'));
  const f = path.join(dir, 'f.pdf');
  writeFileSync(f, pdf);
  const r = await run('pdfsig', ['-nssdir', `sql:${db}`, ...(opts.noOcsp ? ['-no-ocsp'] : []), f]);
  const blocks = r.out.split(/^Signature #\d+:/m).slice(1);
  const signatures = blocks.map((b) => ({
    fieldName: /Signature Field Name: (.*)/.exec(b)?.[1]?.trim(),
    valid: /Signature Validation: Signature is Valid\./.test(b),
    trusted: /Certificate Validation: Certificate is Trusted\./.test(b),
    totalDocumentSigned: /Total document signed/.test(b),
    notVerified: /not yet been verified/.test(b),
    unknownIssue: /Unknown issue with Certificate/.test(b),
    raw: b,
  }));
  return { ok: r.ok, signatures, out: r.out };
}

/** `openssl cms -verify` of the CMS over its ByteRange bytes, trusting `rootPem`. */
export async function opensslCmsVerify(pdf: Uint8Array, sig: FoundSignature, rootPem: string): Promise<{ ok: boolean; out: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cmsv-'));
  writeFileSync(path.join(dir, 'sig.der'), sig.der);
  writeFileSync(path.join(dir, 'content.bin'), signedBytes(pdf, sig.byteRange));
  writeFileSync(path.join(dir, 'root.pem'), rootPem);
  const r = await run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', path.join(dir, 'sig.der'), '-content', path.join(dir, 'content.bin'), '-CAfile', path.join(dir, 'root.pem'), '-purpose', 'any', '-out', '/dev/null']);
  return { ok: r.ok && /Verification successful/.test(r.out), out: r.out };
}

/** `openssl ts -verify -digest HEX` of the signature timestamp (imprint = SHA-256 of the SignerInfo signature value). */
export async function opensslVerifySignatureTimestamp(sig: FoundSignature, rootPem: string): Promise<{ ok: boolean; out: string }> {
  const st = signatureTimestampOf(sig.der);
  if (!st) return { ok: false, out: 'no signature timestamp' };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsv-'));
  writeFileSync(path.join(dir, 'token.der'), st.token);
  writeFileSync(path.join(dir, 'root.pem'), rootPem);
  const digest = crypto.createHash('sha256').update(st.signatureValue).digest('hex');
  const r = await run('openssl', ['ts', '-verify', '-in', path.join(dir, 'token.der'), '-token_in', '-digest', digest, '-CAfile', path.join(dir, 'root.pem')]);
  return { ok: r.ok && /Verification: OK/.test(r.out), out: r.out };
}

/** `openssl ts -verify -data` of a document timestamp over its ByteRange bytes. */
export async function opensslVerifyDocTimestamp(pdf: Uint8Array, sig: FoundSignature, rootPem: string): Promise<{ ok: boolean; out: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dtsv-'));
  writeFileSync(path.join(dir, 'token.der'), sig.der);
  writeFileSync(path.join(dir, 'data.bin'), signedBytes(pdf, sig.byteRange));
  writeFileSync(path.join(dir, 'root.pem'), rootPem);
  const r = await run('openssl', ['ts', '-verify', '-in', path.join(dir, 'token.der'), '-token_in', '-data', path.join(dir, 'data.bin'), '-CAfile', path.join(dir, 'root.pem')]);
  return { ok: r.ok && /Verification: OK/.test(r.out), out: r.out };
}

export type Asn1Kind = 'cms' | 'tst' | 'tsresp' | 'tsreq' | 'ocsp' | 'crl' | 'cert';

/**
 * Strict DER check by asn1crypto (tests/helpers/asn1crypto_check.py, run with Debian's /usr/bin/python3):
 * parses each structure with its asn1crypto class, touches `.native` of every part (and the TSTInfo of
 * a token) and requires `dump(force=True)` to give the same bytes. Returns the failures.
 */
export async function asn1cryptoCheck(items: Array<{ kind: Asn1Kind; der: Uint8Array; name?: string }>): Promise<string[]> {
  if (!items.length) return [];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'asn1c-'));
  const args = items.map((it, i) => {
    const f = path.join(dir, `${i}-${it.kind}.der`);
    writeFileSync(f, it.der);
    return `${it.kind}=${f}`;
  });
  const r = await run('/usr/bin/python3', [path.join(import.meta.dirname, 'asn1crypto_check.py'), ...args]);
  if (!r.ok) return [`asn1crypto_check.py failed: ${r.out.slice(0, 300)}`];
  const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as { file: string; ok: boolean; error?: string });
  return lines.flatMap((l, i) => (l.ok ? [] : [`asn1crypto (${items[i].name ?? items[i].kind}): ${l.error}`]));
}

export interface IndependentResult {
  ok: boolean;
  signatures: number;
  docTimestamps: number;
  failures: string[];
  pdfsig: PdfsigSignature[];
}

/**
 * Every check an independent tool can do: pdfsig (valid + trusted for approval signatures),
 * openssl cms -verify per signature, openssl ts -verify for each signature timestamp and each
 * document timestamp, asn1crypto's strict DER parse of every CMS and token, and qpdf --check for
 * the file structure.
 */
export async function independentlyVerify(
  pdf: Uint8Array,
  rootPem: string | string[],
  opts: {
    /**
     * 'require' (default): pdfsig must say "Certificate is Trusted". 'lenient': also accept poppler's
     * "Unknown issue" (-no-ocsp with certificates that carry an AIA OCSP URL, e.g. the lib/pki dev chain);
     * trust is then still checked independently by `openssl cms -verify -CAfile`.
     */
    pdfsigTrust?: 'require' | 'lenient';
  } = {},
): Promise<IndependentResult> {
  const roots = Array.isArray(rootPem) ? rootPem : [rootPem];
  const bundle = roots.join('\n');
  const failures: string[] = [];
  const sigs = findSignatures(pdf);
  if (!sigs.length) failures.push('no signatures found');
  const ps = await pdfsig(pdf, roots);
  const approval = ps.signatures.filter((s) => !s.notVerified);
  if (approval.length !== sigs.filter((s) => !s.isDocTimestamp).length) failures.push(`pdfsig saw ${approval.length} verifiable signatures`);
  for (const s of approval) {
    if (!s.valid) failures.push(`pdfsig: ${s.fieldName} not valid`);
    if (!s.trusted && !(opts.pdfsigTrust === 'lenient' && s.unknownIssue)) failures.push(`pdfsig: ${s.fieldName} not trusted: ${/Certificate Validation: (.*)/.exec(s.raw)?.[1]}`);
  }
  for (const [i, s] of sigs.entries()) {
    if (s.isDocTimestamp) {
      const r = await opensslVerifyDocTimestamp(pdf, s, bundle);
      if (!r.ok) failures.push(`openssl ts -verify -data (document timestamp #${i + 1}): ${r.out.slice(0, 300)}`);
    } else {
      const r = await opensslCmsVerify(pdf, s, bundle);
      if (!r.ok) failures.push(`openssl cms -verify (#${i + 1}): ${r.out.slice(0, 300)}`);
      if (signatureTimestampOf(s.der)) {
        const t = await opensslVerifySignatureTimestamp(s, bundle);
        if (!t.ok) failures.push(`openssl ts -verify -digest (signature timestamp #${i + 1}): ${t.out.slice(0, 300)}`);
      }
    }
  }
  failures.push(...(await asn1cryptoCheck(sigs.map((s, i) => ({ kind: s.isDocTimestamp ? 'tst' : 'cms', der: s.der, name: `signature #${i + 1}` })))));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qpdfc-'));
  writeFileSync(path.join(dir, 'f.pdf'), pdf);
  const q = await run('qpdf', ['--check', path.join(dir, 'f.pdf')]);
  if (!q.ok) failures.push(`qpdf --check: ${q.out.slice(0, 300)}`);
  return {
    ok: failures.length === 0,
    signatures: sigs.filter((s) => !s.isDocTimestamp).length,
    docTimestamps: sigs.filter((s) => s.isDocTimestamp).length,
    failures,
    pdfsig: ps.signatures,
  };
}

export function resetIndependentVerifyCache(): void {
  nssCache = new Map();
}

/**
 * A loopback HTTP OCSP responder (POST body or GET /…/<base64>) so that pdfsig/NSS can check
 * certificates whose AIA names `${APP_URL}/pki/ocsp`: start it, set APP_URL to `url` BEFORE the
 * dev PKI is created, then `independentlyVerify(pdf, root)` with the default strict pdfsig trust.
 */
export async function startOcspHttp(respond: (req: Uint8Array) => Promise<Uint8Array>): Promise<{ url: string; close(): Promise<void> }> {
  const http = await import('node:http');
  const server = http.createServer(async (req, res) => {
    try {
      let body: Buffer;
      if (req.method === 'POST') {
        const parts: Buffer[] = [];
        for await (const c of req) parts.push(c as Buffer);
        body = Buffer.concat(parts);
      } else {
        const last = decodeURIComponent((req.url ?? '').split('/').pop() ?? '');
        body = Buffer.from(last, 'base64');
      }
      const out = await respond(body);
      res.writeHead(200, { 'content-type': 'application/ocsp-response' }).end(Buffer.from(out));
    } catch {
      res.writeHead(400).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}
