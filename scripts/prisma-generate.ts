/**
 * `prisma generate` that also works where Prisma's schema engine cannot be downloaded:
 * generation itself needs no engine, so when none is installed we point
 * PRISMA_SCHEMA_ENGINE_BINARY at a placeholder file to stop the CLI from fetching one.
 * With internet access and an engine present, this is plain `prisma generate`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const env: NodeJS.ProcessEnv = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' };
const enginesDir = path.join(root, 'node_modules/@prisma/engines');
const hasEngine = existsSync(enginesDir) && readdirSync(enginesDir).some((f) => f.startsWith('schema-engine'));
if (!env.PRISMA_SCHEMA_ENGINE_BINARY && !hasEngine) env.PRISMA_SCHEMA_ENGINE_BINARY = path.join(root, 'package.json');
const r = spawnSync(process.execPath, [path.join(root, 'node_modules/prisma/build/index.js'), 'generate'], {
  cwd: root,
  env,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
