/**
 * Seal a PDF to PAdES B-LTA with the configured key provider and TSA.
 *   npm run seal -- in.pdf out.pdf [--reason "…"]
 * When TSA_URL is unset, the built-in TSA is started in-process on loopback (no server needed).
 */
import { writeFile } from 'node:fs/promises';
import { isAppError } from '../lib/errors';
import { sealPdf } from '../lib/pades';
import { readGrowable } from '../lib/pdf';
import { createTsaClient, startTsaServer, type TsaServer } from '../lib/tsa';
import { getConfig } from '../lib/config';

async function main() {
  const args = process.argv.slice(2);
  const ri = args.indexOf('--reason');
  const reason = ri >= 0 ? args.splice(ri, 2)[1] : '立会人型電子署名（CLI による封緘）';
  const [input, output] = args;
  if (!input || !output) {
    console.error('使い方: npm run seal -- 入力.pdf 出力.pdf [--reason "理由"]');
    process.exit(2);
  }
  let server: TsaServer | undefined;
  let tsaUrl = process.env.TSA_URL;
  if (!tsaUrl) {
    server = await startTsaServer({ port: 0 });
    tsaUrl = server.url;
  }
  try {
    const pdf = await readGrowable(input); // the seal's updates are appended in place
    const t0 = performance.now();
    const sealed = await sealPdf(pdf, {
      reason,
      name: '立会サイン',
      tsa: createTsaClient({ url: tsaUrl, timeoutMs: getConfig().TSA_TIMEOUT_MS }),
    });
    await writeFile(output, sealed);
    console.log(`封緘しました: ${output}（${sealed.length} バイト、${Math.round(performance.now() - t0)} ms、PAdES B-LTA）`);
  } finally {
    await server?.close();
  }
}

main().catch((e) => {
  console.error(isAppError(e) ? `エラー: ${e.message}` : e);
  process.exit(1);
});
