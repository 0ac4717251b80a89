/**
 * Seal benchmark (`npm run bench -- seal`). Prints `name: value unit` lines:
 *   seal.tsa_server_ms        the built-in TSA answering one request in-process (parse, TSTInfo, one RSA signature); target ≤ 2
 *   seal.tsa_rtt_ms           our client's round trip to it on loopback (HTTP, response checks); target ≤ 3
 *   seal.small.ms             sealing a ~0.2 MB text PDF, both TSA calls included; target ≤ 10 (seal.small.target_ms)
 *   seal.small.floor_ms       SHA-256 over the file twice + one RSA-2048 signature with node:crypto
 *   seal.large.ms / .floor_ms a ~30 MB scanned PDF; target ≤ 2 × floor + 10 (seal.large.target_ms)
 *   seal.cpu_ms_per_seal      process CPU time per small seal (user + system, the in-process TSA included):
 *                             seals per second on N cores ≈ N × 1000 / this
 *   seal.large.peak_rss_mb / baseline / delta / warm_delta_rss_mb, seal.large.file_mb; target warm delta ≤ 1.5 × file
 * Keys: the dev key provider in a temp DATA_DIR; TSA: the built-in TSA (startTsaServer) on loopback.
 * floor = what sealing cannot avoid: hashing the file for the signature and for the document time-stamp
 * and one RSA signature with its own key. In-process revocation material (CRL/OCSP for the dev chain)
 * is memoised for 60 s, so it is not in the timed seals. Peak RSS: a child process
 * (tests/bench/_seal-child.ts) seals the large file; baseline = its RSS before reading the file; a second
 * child first seals a one-page PDF, so its delta leaves out one-time costs (warm_delta ≈ input + output).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import crypto from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  PDFDocument,
  StandardFonts,
  concatTransformationMatrix,
  drawObject,
  popGraphicsState,
  pushGraphicsState,
} from '@cantoo/pdf-lib';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function smallPdf(): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const line = 'Article. The parties agree to the terms set out in this contract. 0123456789 ';
  for (let p = 0; p < 70; p++) {
    const page = doc.addPage([595, 842]);
    for (let y = 800; y > 40; y -= 12) page.drawText(`${p}:${y} ${line}`, { x: 30, y, size: 9, font });
  }
  return doc.save({ useObjectStreams: false });
}

async function largePdf(targetMb: number): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const w = 1240, h = 1754; // A4 at 150 dpi, grayscale noise ≈ 2.1 MB per page, incompressible
  const pages = Math.ceil((targetMb * 1024 * 1024) / (w * h));
  for (let i = 0; i < pages; i++) {
    const img = doc.context.stream(crypto.randomBytes(w * h), {
      Type: 'XObject', Subtype: 'Image', Width: w, Height: h, ColorSpace: 'DeviceGray', BitsPerComponent: 8,
    });
    const ref = doc.context.register(img);
    const page = doc.addPage([595, 842]);
    const name = page.node.newXObject('Scan', ref);
    page.pushOperators(pushGraphicsState(), concatTransformationMatrix(595, 0, 0, 842, 0, 0), drawObject(name), popGraphicsState());
  }
  return doc.save();
}

function floorMs(bytes: Uint8Array, key: crypto.KeyObject, reps: number): number {
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 2; i++) crypto.createHash('sha256').update(bytes).digest();
    crypto.sign('sha256', crypto.randomBytes(200), key);
    times.push(performance.now() - t0);
  }
  return median(times);
}

export default async function bench(): Promise<void> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-seal-'));
  process.env.DATA_DIR = tmp;
  const { resetConfig } = await import('../../lib/config');
  resetConfig();
  const { sealPdf } = await import('../../lib/pades');
  const { createDevKeyProvider } = await import('../../lib/pki');
  const { startTsaServer, createTsaClient, createTimestampResponse, buildTimestampRequest } = await import('../../lib/tsa');

  const provider = createDevKeyProvider();
  await provider.sealingKey(); // create the dev PKI outside the timings
  const server = await startTsaServer({ port: 0 });
  const tsa = createTsaClient({ url: server.url });
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  try {
    const small = await smallPdf();
    const large = await largePdf(30);
    const largeFile = path.join(tmp, 'large.pdf');
    writeFileSync(largeFile, large);

    // Count the TSA calls a seal makes (same client, so the same round trips).
    let tsaCalls = 0;
    const countingTsa: typeof tsa = {
      timestamp: (d) => {
        tsaCalls++;
        return tsa.timestamp(d);
      },
    };
    const seal = (pdf: Uint8Array) => sealPdf(pdf, { reason: 'bench 立会人型電子署名', keyProvider: provider, tsa: countingTsa });
    await seal(small); // warm-up
    tsaCalls = 0;
    await seal(small);
    const callsPerSeal = tsaCalls;
    const st: number[] = [];
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < 15; i++) {
      const t0 = performance.now();
      await seal(small);
      st.push(performance.now() - t0);
    }
    const cpu = process.cpuUsage(cpu0);
    const cpuPerSeal = (cpu.user + cpu.system) / 1000 / st.length;
    const serverMs: number[] = [];
    for (let i = 0; i < 21; i++) {
      const req = buildTimestampRequest(crypto.randomBytes(32)).der;
      const t0 = performance.now();
      await createTimestampResponse(req);
      serverMs.push(performance.now() - t0);
    }
    const lt: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await seal(large);
      lt.push(performance.now() - t0);
    }
    const tt: number[] = [];
    for (let i = 0; i < 21; i++) {
      const t0 = performance.now();
      await tsa.timestamp(crypto.randomBytes(32));
      tt.push(performance.now() - t0);
    }
    // Async: the TSA server in this process must keep answering while the child seals.
    const runChild = async (mode: 'cold' | 'warm') => {
      const child = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', path.join(import.meta.dirname, '_seal-child.ts'), largeFile, server.url, mode],
        { env: { ...process.env, DATA_DIR: tmp }, maxBuffer: 1 << 20 },
      );
      const mm = /maxrss_kb=(\d+) baseline_kb=(\d+)/.exec(child.stdout);
      if (!mm) throw new Error(`seal child failed: ${child.stderr}`);
      return { peak: Number(mm[1]) / 1024, baseline: Number(mm[2]) / 1024 };
    };
    const cold = await runChild('cold');
    const warm = await runChild('warm');

    const smallFloor = floorMs(small, rsa, 7);
    const largeFloor = floorMs(large, rsa, 3);
    const rt = median(tt);
    const fileMb = large.length / 1024 / 1024;
    const warmDelta = Math.max(0, warm.peak - warm.baseline);
    console.log(`seal.tsa_server_ms: ${median(serverMs).toFixed(2)} ms`);
    console.log(`seal.tsa_rtt_ms: ${rt.toFixed(2)} ms`);
    console.log(`seal.tsa_calls_per_seal: ${callsPerSeal} calls`);
    console.log(`seal.small.ms: ${median(st).toFixed(1)} ms`);
    console.log(`seal.small.floor_ms: ${smallFloor.toFixed(1)} ms`);
    console.log(`seal.small.target_ms: 10.0 ms`);
    console.log(`seal.cpu_ms_per_seal: ${cpuPerSeal.toFixed(1)} ms`);
    console.log(`seal.large.ms: ${median(lt).toFixed(1)} ms`);
    console.log(`seal.large.floor_ms: ${largeFloor.toFixed(1)} ms`);
    console.log(`seal.large.target_ms: ${(2 * largeFloor + 10).toFixed(1)} ms`);
    console.log(`seal.large.peak_rss_mb: ${cold.peak.toFixed(1)} MB`);
    console.log(`seal.large.baseline_rss_mb: ${cold.baseline.toFixed(1)} MB`);
    console.log(`seal.large.delta_rss_mb: ${(cold.peak - cold.baseline).toFixed(1)} MB`);
    console.log(`seal.large.warm_delta_rss_mb: ${warmDelta.toFixed(1)} MB`);
    console.log(`seal.large.warm_delta_target_mb: ${(1.5 * fileMb).toFixed(1)} MB`);
    console.log(`seal.large.file_mb: ${fileMb.toFixed(1)} MB`);
    console.error(
      `# targets: tsa server ${median(serverMs).toFixed(2)}/2 ms, rtt ${rt.toFixed(2)}/3 ms, small ${median(st).toFixed(1)}/10 ms, ` +
        `large ${median(lt).toFixed(1)}/${(2 * largeFloor + 10).toFixed(1)} ms, warm delta ${warmDelta.toFixed(1)}/${(1.5 * fileMb).toFixed(1)} MB; ` +
        `small file ${(small.length / 1024 / 1024).toFixed(2)} MB; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`,
    );
  } finally {
    await server.close();
  }
}
