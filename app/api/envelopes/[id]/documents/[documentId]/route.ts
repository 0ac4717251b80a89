/**
 * GET /api/envelopes/:id/documents/:documentId[?version=sealed] — stream the decrypted PDF to staff of
 * the envelope's organisation (404 otherwise). Every view is recorded as document.viewed.
 */
import { Readable } from 'node:stream';
import { z } from 'zod';
import { recordAuditNow, staffAuditFields } from '@/lib/audit';
import { currentSealedBlobId } from '@/lib/envelopes';
import { notFound } from '@/lib/errors';
import { openBlobStream } from '@/lib/storage';
import { contextOf, errorResponse, staffFromRequest } from '../../../../../_lib/api';
import { getDb } from '../../../../../_lib/server';
import { contentDisposition } from '@/lib/format';

export const runtime = 'nodejs';

const paramsSchema = z.object({ id: z.uuid(), documentId: z.uuid() });

export async function GET(req: Request, { params }: { params: Promise<{ id: string; documentId: string }> }) {
  try {
    const actor = await staffFromRequest(req);
    const p = paramsSchema.safeParse(await params);
    if (!p.success) throw notFound('文書');
    const sealed = new URL(req.url).searchParams.get('version') === 'sealed';
    const db = getDb();
    const doc = await db.document.findFirst({
      where: { id: p.data.documentId, envelopeId: p.data.id, envelope: { organizationId: actor.organizationId } },
    });
    const stored = sealed ? doc?.sealedBlobId : doc?.originalBlobId;
    if (!doc || !stored) throw notFound('文書');
    // The sealed version served is the current one (newest archive timestamp renewal, if any).
    const blobId = sealed ? await currentSealedBlobId(db, doc.envelopeId, stored) : stored;
    const stream = await openBlobStream(db, blobId);
    const ctx = contextOf(req);
    await recordAuditNow(db, {
      ...staffAuditFields(actor, { ip: ctx.ip, userAgent: ctx.userAgent }),
      envelopeId: doc.envelopeId,
      action: 'document.viewed',
      details: { documentId: doc.id, fileName: doc.fileName, version: sealed ? 'sealed' : 'original' },
    });
    const name = sealed ? doc.fileName.replace(/\.pdf$/i, '') + '_封緘済み.pdf' : doc.fileName;
    return new Response(Readable.toWeb(stream) as ReadableStream<Uint8Array>, {
      headers: {
        'Content-Type': 'application/pdf',
        'Content-Disposition': contentDisposition('inline', name, 'document.pdf'),
        'Cache-Control': 'private, no-store',
        'X-Content-Type-Options': 'nosniff',
      },
    });
  } catch (e) {
    return errorResponse(e);
  }
}
