/**
 * Verify the signatures of a PDF and print the report (Japanese).
 *   npm run verify -- file.pdf [--json]
 * Exit code: 0 valid, 1 invalid, 2 usage error.
 */
import { readFile } from 'node:fs/promises';
import { verifyPdf, type VerificationReport } from '../lib/pades';

const JST = (iso?: string) =>
  iso ? new Date(iso).toLocaleString('ja-JP', { timeZone: 'Asia/Tokyo', hour12: false }) + '（日本時間）' : '—';

export function formatReport(r: VerificationReport): string {
  const lines = [`判定: ${r.valid ? '有効' : '無効'}${r.level ? `（PAdES ${r.level}）` : ''}`, r.summary, `SHA-256: ${r.fileSha256}`];
  for (const s of r.signatures) {
    lines.push('', `#${s.index} ${s.kind === 'signature' ? '署名' : 'ドキュメントタイムスタンプ'}「${s.fieldName}」: ${s.valid ? '有効' : '無効'}${s.level ? ` ${s.level}` : ''}`);
    if (s.signer) lines.push(`  署名者: ${s.signer.subject}`, `  発行者: ${s.signer.issuer}`);
    if (s.claimedSigningTime) lines.push(`  署名時刻（/M）: ${JST(s.claimedSigningTime)}`);
    if (s.timestampTime) lines.push(`  タイムスタンプ時刻: ${JST(s.timestampTime)}`);
    if (s.reason) lines.push(`  理由: ${s.reason}`);
    for (const [k, c] of Object.entries(s.checks)) if (c) lines.push(`  ${c.ok ? '✔' : '✘'} ${c.message}${c.ok ? '' : ` [${k}]`}`);
  }
  return lines.join('\n');
}

async function main() {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const file = args.find((a) => !a.startsWith('--'));
  if (!file) {
    console.error('使い方: npm run verify -- ファイル.pdf [--json]');
    process.exit(2);
  }
  const r = await verifyPdf(await readFile(file));
  console.log(json ? JSON.stringify(r, null, 2) : formatReport(r));
  process.exit(r.valid ? 0 : 1);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
