/**
 * POST /api/envelopes/:id/documents — add one PDF to a draft. Body: the raw file
 * (Content-Type: application/pdf), file name in X-File-Name (URI-encoded). The body is streamed to
 * lib/envelopes (which enforces MAX_UPLOAD_MB while reading); a Content-Length over the limit is refused
 * before reading anything. Same-origin only (CSRF).
 */
import { NextResponse } from 'next/server';
import { z } from 'zod';
import { getConfig } from '@/lib/config';
import { addDocument } from '@/lib/envelopes';
import { AppError } from '@/lib/errors';
import { contextOf, errorResponse, staffFromRequest } from '../../../../_lib/api';
import { getDb, sameOrigin } from '../../../../_lib/server';

export const runtime = 'nodejs';

const headersSchema = z.object({
  fileName: z
    .string()
    .max(2000)
    .transform((s, ctx) => {
      try {
        return decodeURIComponent(s);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'ファイル名を読み取れません。' });
        return z.NEVER;
      }
    }),
  contentLength: z.coerce.number().int().nonnegative().optional(),
});

export async function POST(req: Request, { params }: { params: Promise<{ id: string }> }) {
  try {
    if (!sameOrigin(req)) throw new AppError('forbidden', '不正な送信元からのリクエストです。');
    const actor = await staffFromRequest(req);
    const { id } = await params;
    const h = headersSchema.safeParse({
      fileName: req.headers.get('x-file-name') ?? 'document.pdf',
      contentLength: req.headers.get('content-length') ?? undefined,
    });
    if (!h.success) throw new AppError('validation', h.error.issues[0]?.message ?? 'リクエストが正しくありません。');
    const { fileName, contentLength } = h.data;
    const max = getConfig().maxUploadBytes;
    if (contentLength !== undefined && contentLength > max) {
      // Refuse before reading the body (lib formats the message naming the file).
      await addDocument(getDb(), actor, id, { fileName, size: contentLength, bytes: new Uint8Array() }, contextOf(req));
    }
    if (!req.body) throw new AppError('pdf_empty', `「${fileName}」は空のファイルです。`);
    const doc = await addDocument(getDb(), actor, id, { fileName, stream: req.body, size: contentLength }, contextOf(req));
    return NextResponse.json(
      { document: { id: doc.id, fileName: doc.fileName, pageCount: doc.pageCount, sizeBytes: Number(doc.sizeBytes), sha256: doc.sha256 } },
      { status: 201 },
    );
  } catch (e) {
    return errorResponse(e);
  }
}
