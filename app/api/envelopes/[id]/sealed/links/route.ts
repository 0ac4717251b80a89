/**
 * Staff issue a fresh 14-day download link for a completed envelope (e.g. after the first one
 * expired). Body: { email, sendEmail? } — with sendEmail the link is mailed to that address.
 * Returns { url, expiresAt } once; only the token's hash is stored.
 */
import { NextResponse } from 'next/server';
import { z } from 'zod';
import { getStaff, sameOrigin } from '@/app/_lib/server';
import { errorResponse, requestContext } from '@/app/api/download/_shared';
import { getPrisma } from '@/lib/db';
import { issueDownloadLink } from '@/lib/envelopes';
import { readBodyLimited } from '@/lib/tsa';

const body = z.object({ email: z.string().max(320), sendEmail: z.boolean().optional() });

export async function POST(req: Request, { params }: { params: Promise<{ id: string }> }) {
  if (!sameOrigin(req)) return NextResponse.json({ error: { code: 'forbidden', message: '不正なリクエストです。' } }, { status: 403 });
  const actor = await getStaff();
  if (!actor) return NextResponse.json({ error: { code: 'unauthorized', message: 'ログインしてください。' } }, { status: 401 });
  const { id } = await params;
  try {
    // A small JSON body, read within 16 KiB as it streams in.
    const raw = await readBodyLimited(req, 16 * 1024);
    if (!raw) return NextResponse.json({ error: { code: 'payload_too_large', message: '送信された内容が大きすぎます。' } }, { status: 413 });
    let json: unknown = {};
    try {
      json = JSON.parse(Buffer.from(raw).toString('utf8'));
    } catch {
      /* validated below */
    }
    const parsed = body.safeParse(json);
    if (!parsed.success) return NextResponse.json({ error: { code: 'validation', message: 'メールアドレスを入力してください。' } }, { status: 400 });
    const r = await issueDownloadLink(getPrisma(), actor, id, parsed.data, requestContext(req));
    return NextResponse.json({ url: r.url, expiresAt: r.expiresAt.toISOString() });
  } catch (e) {
    return errorResponse(e);
  }
}
