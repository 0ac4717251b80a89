import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os'; import path from 'node:path';
process.env.DATA_DIR = mkdtempSync(path.join(os.tmpdir(), 'x-'));
const { sealPdf } = await import('./lib/pades');
const { startTsaServer, createTsaClient } = await import('./lib/tsa');
const { corpusFile } = await import('./tests/helpers/pdf-corpus');
const { findSignatures } = await import('./tests/helpers/independent-verify');
const { parseOne, derViolations, toDer } = await import('./lib/pki/cms');
const s = await startTsaServer({ port: 0 });
const x = await sealPdf(corpusFile('chromium'), { reason: 'x', tsa: createTsaClient({ url: s.url }) });
await s.close();
for (const q of findSignatures(x)) { let t0 = performance.now(); const t = parseOne(q.der); console.log(derViolations(t)); console.log('viol', performance.now()-t0); t0 = performance.now(); toDer(t); console.log('toDer', performance.now()-t0); writeFileSync(`/tmp/sig${q.isDocTimestamp?'d':'c'}.der`, q.der); }
