/**
 * pdf.js served from the installed pdfjs-dist package (no CDN): the library, its worker, the
 * CMaps (Japanese PDFs without embedded fonts) and the standard fonts. Only those files.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

const ROOT = path.join(process.cwd(), 'node_modules', 'pdfjs-dist');
const ALLOWED: Array<{ re: RegExp; type: string }> = [
  { re: /^build\/pdf(\.worker)?\.min\.mjs$/, type: 'text/javascript; charset=utf-8' },
  { re: /^cmaps\/[A-Za-z0-9_.-]+\.bcmap$/, type: 'application/octet-stream' },
  { re: /^standard_fonts\/[A-Za-z0-9_.-]+\.(pfb|ttf)$/, type: 'application/octet-stream' },
  { re: /^wasm\/[A-Za-z0-9_.-]+\.wasm$/, type: 'application/wasm' },
  { re: /^iccs\/[A-Za-z0-9_.-]+\.icc$/, type: 'application/octet-stream' },
];

export async function GET(_req: Request, { params }: { params: Promise<{ path: string[] }> }) {
  const rel = (await params).path.join('/');
  const rule = ALLOWED.find((a) => a.re.test(rel));
  if (!rule || rel.includes('..')) return new Response('Not found', { status: 404 });
  try {
    const data = await readFile(path.join(ROOT, rel));
    return new Response(new Uint8Array(data), {
      headers: { 'Content-Type': rule.type, 'Cache-Control': 'public, max-age=86400, immutable' },
    });
  } catch {
    return new Response('Not found', { status: 404 });
  }
}
