/**
 * POST /paper/register (multipart: the search fields + `file`, the scanned PDF) → registerPaperContract.
 * JSON for fetch (Accept: application/json), otherwise a 303 redirect (works without JavaScript).
 */
import { NextResponse } from 'next/server';
import { contextOf, errorResponse, formDataWithin, staffFromRequest } from '@/app/_lib/api';
import { getDb, sameOrigin } from '@/app/_lib/server';
import { getConfig } from '@/lib/config';
import { AppError, isAppError } from '@/lib/errors';
import { registerPaperContract } from '@/lib/records';

export const dynamic = 'force-dynamic';

const FIELDS = ['title', 'counterparty', 'transactionDate', 'amount', 'amountTaxIncluded', 'taxAmount', 'contractNumber'] as const;

export async function POST(req: Request) {
  const wantsJson = (req.headers.get('accept') ?? '').includes('application/json');
  const back = (e: unknown) => {
    if (wantsJson) return errorResponse(e);
    const msg = isAppError(e) ? e.message : 'エラーが発生しました。時間をおいて再度お試しください。';
    return NextResponse.redirect(new URL(`/paper?error=${encodeURIComponent(msg)}`, req.url), 303);
  };
  try {
    if (!sameOrigin(req)) throw new AppError('forbidden', '不正な送信元からのリクエストです。画面を開き直してください。');
    const actor = await staffFromRequest(req);
    // The scan plus the form fields, refused at the limit while the body streams in (not only by Content-Length).
    const tooLarge = () => new AppError('pdf_too_large', `ファイルが大きすぎます（上限 ${getConfig().MAX_UPLOAD_MB} MB）。`);
    const form = await formDataWithin(req, getConfig().maxUploadBytes + 1024 * 1024, tooLarge);
    const input: Record<string, string> = {};
    for (const k of FIELDS) {
      const v = form.get(k);
      if (typeof v === 'string') input[k] = v;
    }
    const file = form.get('file');
    const scan = file && typeof file !== 'string' && file.size > 0 ? { fileName: file.name, bytes: new Uint8Array(await file.arrayBuffer()) } : null;
    const env = await registerPaperContract(getDb(), actor, input, scan, contextOf(req));
    if (wantsJson) return NextResponse.json({ id: env.id, documentNumber: env.documentNumber });
    return NextResponse.redirect(new URL(`/envelopes/${env.id}?notice=paper`, req.url), 303);
  } catch (e) {
    return back(e);
  }
}
