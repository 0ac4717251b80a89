/**
 * Benchmark runner: `npm run bench` runs every tests/bench/<group>.ts; `npm run bench -- search`
 * (or several names) runs only those groups. Each group prints `name: value unit` lines.
 * Benchmarks are not tests: nothing here asserts a timing.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = import.meta.dirname;
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
  .sort();
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !available.includes(w));
if (unknown.length) {
  console.error(`unknown bench group(s): ${unknown.join(', ')} (available: ${available.join(', ')})`);
  process.exit(2);
}
const groups = wanted.length ? wanted : available;
for (const g of groups) {
  console.log(`# bench ${g}`);
  const mod = (await import(pathToFileURL(path.join(dir, `${g}.ts`)).href)) as { default?: () => Promise<void> };
  if (typeof mod.default !== 'function') throw new Error(`tests/bench/${g}.ts must export a default async function`);
  await mod.default();
}
process.exit(0);
