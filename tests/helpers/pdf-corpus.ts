/**
 * A corpus of real-world PDF shapes, built with real tools and cached in the temp dir (built once,
 * reused by later test files and runs; delete the directory to rebuild):
 * Chromium print-to-PDF of Japanese HTML, qpdf object streams / linearized / PDF 1.3 / PDF 2.0,
 * a hand-appended incremental update, Ghostscript pdfwrite; plus invalid inputs (encrypted,
 * owner-password-only, truncated, empty, not a PDF).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const VALID_CORPUS = ['chromium', 'objstm', 'linearized', 'v13', 'v20', 'incremental', 'ghostscript'] as const;
export const INVALID_CORPUS = {
  encrypted: 'pdf_encrypted',
  ownerOnly: 'pdf_encrypted',
  truncated: 'pdf_invalid',
  noXref: 'pdf_invalid',
  empty: 'pdf_empty',
  notPdf: 'pdf_invalid',
} as const;
export type ValidName = (typeof VALID_CORPUS)[number];
export type InvalidName = keyof typeof INVALID_CORPUS;

const VERSION = 'v2';
const HTML = `<!doctype html><html lang="ja"><meta charset="utf-8"><title>業務委託契約書</title>
<style>body{font-family:"IPAexGothic","Noto Sans CJK JP",sans-serif}</style>
<body><h1>業務委託契約書</h1><p>甲（○○市）と乙（株式会社テスト）は、次のとおり契約を締結する。</p>
<table border="1"><tr><th>契約金額</th><td>1,234,567円</td></tr><tr><th>契約日</th><td>令和8年11月26日</td></tr></table>
${Array.from({ length: 30 }, (_, i) => `<p>第${i + 1}条　本条の内容は試験用の文章です。立会人型電子署名の封緘を確認します。</p>`).join('\n')}
</body></html>`;

function sh(cmd: string, args: string[], cwd: string) {
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
}

/** Appends an update (a new /Info with a title) by hand: classic xref section + trailer with /Prev. */
function handAppend(src: Buffer): Buffer {
  const s = src.toString('latin1');
  const sx = Number(/startxref\s+(\d+)\s+%%EOF\s*$/.exec(s)![1]);
  const trailer = s.slice(s.lastIndexOf('trailer'));
  const size = Number(/\/Size\s+(\d+)/.exec(trailer)![1]);
  const root = /\/Root\s+(\d+\s+\d+\s+R)/.exec(trailer)![1];
  const id = /\/ID\s*(\[[^\]]*\])/.exec(trailer)?.[1];
  const objOff = src.length + 1;
  const obj = `${size} 0 obj\n<< /Title (Hand-appended update) /Producer (tachiai test) >>\nendobj\n`;
  const xrefOff = objOff + Buffer.byteLength(obj, 'latin1');
  const tail =
    `xref\n${size} 1\n${String(objOff).padStart(10, '0')} 00000 n \ntrailer\n<< /Size ${size + 1} /Root ${root} /Info ${size} 0 R /Prev ${sx}${id ? ` /ID ${id}` : ''} >>\nstartxref\n${xrefOff}\n%%EOF\n`;
  return Buffer.concat([src, Buffer.from('\n' + obj + tail, 'latin1')]);
}

function build(dir: string) {
  writeFileSync(path.join(dir, 'doc.html'), HTML);
  sh('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--no-pdf-header-footer', `--print-to-pdf=${path.join(dir, 'chromium.pdf')}`, path.join(dir, 'doc.html')], dir);
  sh('qpdf', ['--object-streams=generate', 'chromium.pdf', 'objstm.pdf'], dir);
  sh('qpdf', ['--linearize', 'chromium.pdf', 'linearized.pdf'], dir);
  sh('qpdf', ['--force-version=1.3', '--object-streams=disable', 'chromium.pdf', 'v13.pdf'], dir);
  sh('qpdf', ['--force-version=2.0', '--object-streams=generate', 'chromium.pdf', 'v20.pdf'], dir);
  writeFileSync(path.join(dir, 'incremental.pdf'), handAppend(readFileSync(path.join(dir, 'chromium.pdf'))));
  sh('gs', ['-q', '-dBATCH', '-dNOPAUSE', '-dSAFER', '-sDEVICE=pdfwrite', '-o', 'ghostscript.pdf', 'chromium.pdf'], dir);
  sh('qpdf', ['--encrypt', 'user', 'owner', '256', '--', 'chromium.pdf', 'encrypted.pdf'], dir);
  sh('qpdf', ['--encrypt', '', 'owner', '256', '--', 'chromium.pdf', 'ownerOnly.pdf'], dir);
  const c = readFileSync(path.join(dir, 'chromium.pdf'));
  writeFileSync(path.join(dir, 'truncated.pdf'), c.subarray(0, Math.floor(c.length / 2)));
  // %%EOF present but the xref/startxref are garbage.
  const broken = Buffer.from(c.toString('latin1').replace(/startxref\s+\d+/, 'startxref\n99999999'), 'latin1');
  writeFileSync(path.join(dir, 'noXref.pdf'), broken);
  writeFileSync(path.join(dir, 'empty.pdf'), Buffer.alloc(0));
  writeFileSync(path.join(dir, 'notPdf.pdf'), Buffer.from('これはPDFではありません。\n', 'utf8'));
  writeFileSync(path.join(dir, 'DONE'), 'ok');
}

let cachedDir: string | undefined;

/** Directory holding `<name>.pdf` for every corpus entry (built on first use, then cached). */
export function corpusDir(): string {
  if (cachedDir) return cachedDir;
  const dir = path.join(os.tmpdir(), `tachiai-pdf-corpus-${VERSION}`);
  if (!existsSync(path.join(dir, 'DONE'))) {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'tachiai-pdf-corpus-build-'));
    build(tmp);
    try {
      if (existsSync(dir) && !existsSync(path.join(dir, 'DONE'))) rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
    } catch {
      // Another worker finished first: use theirs.
      rmSync(tmp, { recursive: true, force: true });
      if (!existsSync(path.join(dir, 'DONE'))) throw new Error('corpus build failed');
    }
  }
  mkdirSync(dir, { recursive: true });
  cachedDir = dir;
  return dir;
}

export function corpusFile(name: ValidName | InvalidName): Buffer {
  return readFileSync(path.join(corpusDir(), `${name}.pdf`));
}
