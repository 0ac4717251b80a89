/**
 * Staff download of a completed envelope's sealed files, any time (no 14-day limit):
 * fileId = "doc_<documentId>", "certificate" or "zip". Audited as download.file / download.zip.
 */
import { NextResponse } from 'next/server';
import { getStaff } from '@/app/_lib/server';
import { errorResponse, fileResponse, requestContext } from '@/app/api/download/_shared';
import { getPrisma } from '@/lib/db';
import { openSealedFileForStaff } from '@/lib/envelopes';

export async function GET(req: Request, { params }: { params: Promise<{ id: string; fileId: string }> }) {
  const actor = await getStaff();
  if (!actor) return NextResponse.json({ error: { code: 'unauthorized', message: 'ログインしてください。' } }, { status: 401 });
  const { id, fileId } = await params;
  try {
    return fileResponse(await openSealedFileForStaff(getPrisma(), actor, id, fileId, requestContext(req)));
  } catch (e) {
    return errorResponse(e);
  }
}
