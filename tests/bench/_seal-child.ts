/**
 * Child of tests/bench/seal.ts: seals one file and reports its memory (KB). Not a bench group.
 *   maxrss_kb   — peak RSS of the whole process (process.resourceUsage().maxRSS)
 *   baseline_kb — RSS just before the file is read (node + tsx + our modules + the loaded sealing key)
 * With `warm` as third argument the child first seals a one-page PDF, so the delta leaves out the
 * one-time cost of the first seal (crypto thread pool, revocation material, JIT) and shows what the
 * file itself costs: the input, read into a growable buffer that the seal's updates are appended to.
 */
import { sealPdf } from '../../lib/pades';
import { readGrowable } from '../../lib/pdf';
import { createDevKeyProvider } from '../../lib/pki';
import { createTsaClient } from '../../lib/tsa';

const [file, url, mode] = process.argv.slice(2);
const provider = createDevKeyProvider();
const tsa = createTsaClient({ url });
await provider.sealingKey();
if (mode === 'warm') {
  const { PDFDocument } = await import('@cantoo/pdf-lib');
  const d = await PDFDocument.create();
  d.addPage();
  await sealPdf(await d.save(), { reason: 'warm-up', keyProvider: provider, tsa });
}
// Cold: the peak so far (= RSS now). Warm: the RSS now (the warm-up's own peak is not the file's).
const baseline = mode === 'warm' ? Math.round(process.memoryUsage().rss / 1024) : process.resourceUsage().maxRSS;
const pdf = await readGrowable(file); // sealing appends in place: no second copy of the document
const out = await sealPdf(pdf, { reason: 'bench', keyProvider: provider, tsa });
if (out.length <= 1024) throw new Error('seal produced no update');
console.log(`maxrss_kb=${process.resourceUsage().maxRSS} baseline_kb=${baseline}`);
