/** The original PDF for the in-page viewer (pdf.js). Streamed, decrypted on the fly. */
import { Readable } from 'node:stream';
import { getPrisma } from '@/lib/db';
import { getSigningDocument } from '@/lib/envelopes';
import { openBlobStream } from '@/lib/storage';
import { errorResponse, requestContext, signerSession } from '../../../_shared';
import { contentDisposition } from '@/lib/format';

export async function GET(req: Request, { params }: { params: Promise<{ token: string; documentId: string }> }) {
  const { token, documentId } = await params;
  try {
    const db = getPrisma();
    const { document, blobId } = await getSigningDocument(db, token, documentId, { ...requestContext(req), session: await signerSession() });
    const stream = await openBlobStream(db, blobId);
    return new Response(Readable.toWeb(stream) as ReadableStream, {
      headers: {
        'Content-Type': 'application/pdf',
        'Content-Length': String(document.sizeBytes),
        'Content-Disposition': contentDisposition('inline', document.fileName),
        'Cache-Control': 'private, no-store',
      },
    });
  } catch (e) {
    return errorResponse(e);
  }
}
