/** Child of tests/bench/seal.ts: seals one file and reports its peak RSS (KB). Not a bench group. */
import { readFileSync } from 'node:fs';
import { sealPdf } from '../../lib/pades';
import { createDevKeyProvider } from '../../lib/pki';
import { createTsaClient } from '../../lib/tsa';

const [file, url] = process.argv.slice(2);
const provider = createDevKeyProvider();
await provider.sealingKey();
const baseline = process.resourceUsage().maxRSS;
const pdf = readFileSync(file);
const out = await sealPdf(pdf, { reason: 'bench', keyProvider: provider, tsa: createTsaClient({ url }) });
if (out.length <= pdf.length) throw new Error('seal produced no update');
console.log(`maxrss_kb=${process.resourceUsage().maxRSS} baseline_kb=${baseline}`);
