/** Streaming a sealed file / ZIP as an HTTP response (no whole-file buffering). */
import { Readable } from 'node:stream';
import { NextResponse } from 'next/server';
import { clientIpFrom } from '@/app/_lib/server';
import { isAppError } from '@/lib/errors';
import type { FileStream } from '@/lib/envelopes';
import { contentDisposition } from '@/lib/format';

export function requestContext(req: Request) {
  return { ip: clientIpFrom(req.headers), userAgent: req.headers.get('user-agent')?.slice(0, 512) ?? null };
}

export function fileResponse(f: FileStream, disposition: 'attachment' | 'inline' = 'attachment'): Response {
  const headers: Record<string, string> = {
    'Content-Type': f.contentType,
    'Content-Disposition': contentDisposition(disposition, f.fileName),
    'Cache-Control': 'private, no-store',
    'X-Content-Type-Options': 'nosniff',
  };
  if (f.sizeBytes !== undefined) headers['Content-Length'] = String(f.sizeBytes);
  return new Response(Readable.toWeb(f.stream) as ReadableStream, { headers });
}

export function errorResponse(e: unknown): NextResponse {
  if (isAppError(e)) return NextResponse.json(e.toJSON(), { status: e.httpStatus });
  console.error('download failed', e instanceof Error ? e.message : 'unknown error');
  return NextResponse.json({ error: { code: 'internal', message: 'エラーが発生しました。' } }, { status: 500 });
}
