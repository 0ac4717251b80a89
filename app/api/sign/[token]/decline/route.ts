import { NextResponse } from 'next/server';
import { z } from 'zod';
import { getPrisma } from '@/lib/db';
import { declineSigning } from '@/lib/envelopes';
import { errorResponse, forbiddenOrigin, readJson, requestContext, sameOrigin, signerSession } from '../../_shared';

const body = z.object({ reason: z.string().max(5000) });

export async function POST(req: Request, { params }: { params: Promise<{ token: string }> }) {
  if (!sameOrigin(req)) return forbiddenOrigin();
  const { token } = await params;
  try {
    const parsed = body.safeParse(await readJson(req));
    const r = await declineSigning(getPrisma(), token, parsed.success ? parsed.data.reason : '', {
      ...requestContext(req),
      session: await signerSession(),
    });
    return NextResponse.json({ ok: true, declinedNow: r.declinedNow });
  } catch (e) {
    return errorResponse(e);
  }
}
