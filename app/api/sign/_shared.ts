/** Shared bits of the signer's route handlers: request context, cookie, errors as JSON. */
import { NextResponse } from 'next/server';
import { cookies } from 'next/headers';
import { clientIpFrom, sameOrigin } from '@/app/_lib/server';
import { getConfig } from '@/lib/config';
import { AppError, isAppError } from '@/lib/errors';
import { readBodyLimited } from '@/lib/tsa';
import { SIGNER_SESSION_COOKIE, SIGNER_SESSION_MINUTES } from '@/lib/envelopes';

export function requestContext(req: Request) {
  return { ip: clientIpFrom(req.headers), userAgent: req.headers.get('user-agent')?.slice(0, 512) ?? null };
}

export async function signerSession(): Promise<string | null> {
  return (await cookies()).get(SIGNER_SESSION_COOKIE)?.value ?? null;
}

export function withSession(res: NextResponse, session: string): NextResponse {
  res.cookies.set(SIGNER_SESSION_COOKIE, session, {
    httpOnly: true,
    sameSite: 'lax',
    secure: getConfig().cookieSecure,
    path: '/',
    maxAge: SIGNER_SESSION_MINUTES * 60,
  });
  return res;
}

export function errorResponse(e: unknown): NextResponse {
  if (isAppError(e)) return NextResponse.json(e.toJSON(), { status: e.httpStatus });
  console.error('signing route failed', e instanceof Error ? e.message : 'unknown error');
  return NextResponse.json({ error: { code: 'internal', message: 'エラーが発生しました。時間をおいて再度お試しください。' } }, { status: 500 });
}

export function forbiddenOrigin(): NextResponse {
  return NextResponse.json({ error: { code: 'forbidden', message: '不正なリクエストです。' } }, { status: 403 });
}

export { sameOrigin };

/** Largest JSON body of the signer's routes (an access code, an OTP, a decline reason). */
const MAX_JSON_BYTES = 64 * 1024;

export async function readJson(req: Request): Promise<Record<string, unknown>> {
  // Read within the limit as it streams in (a chunked body has no Content-Length to check first).
  const raw = await readBodyLimited(req, MAX_JSON_BYTES);
  if (!raw) throw new AppError('payload_too_large', '送信された内容が大きすぎます。');
  try {
    const body: unknown = JSON.parse(Buffer.from(raw).toString('utf8'));
    return body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
