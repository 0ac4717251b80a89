import { NextResponse } from 'next/server';
import { getPrisma } from '@/lib/db';
import { completeSigning } from '@/lib/envelopes';
import { errorResponse, forbiddenOrigin, requestContext, sameOrigin, signerSession } from '../../_shared';

export async function POST(req: Request, { params }: { params: Promise<{ token: string }> }) {
  if (!sameOrigin(req)) return forbiddenOrigin();
  const { token } = await params;
  try {
    const r = await completeSigning(getPrisma(), token, { ...requestContext(req), session: await signerSession() });
    return NextResponse.json({ ok: true, completedNow: r.completedNow, sealingStarted: r.sealingStarted });
  } catch (e) {
    return errorResponse(e);
  }
}
