/**
 * POST /api/verify — public signature verification. Body: multipart/form-data with `file` (a PDF),
 * or the PDF itself as application/pdf. Returns the VerificationReport as JSON (a file over the PDF
 * parsing budgets: 422 pdf_too_complex). The upload is only
 * held in memory for the request: nothing is stored or logged.
 */
import { NextResponse } from 'next/server';
import { z } from 'zod';
import { getConfig } from '@/lib/config';
import { AppError, isAppError } from '@/lib/errors';
import { verifyUntrustedPdf } from '@/lib/pdfpool';
import { errorResponse, formDataWithin, readBodyWithin } from '../../_lib/api';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

const fileField = z.instanceof(File, { message: 'PDFファイルを選択してください。' });

async function readPdf(req: Request): Promise<Uint8Array> {
  const max = getConfig().maxUploadBytes;
  const declared = Number(req.headers.get('content-length') ?? '0');
  const tooLarge = () => new AppError('pdf_too_large', `ファイルが大きすぎます（上限 ${Math.round(max / 1024 / 1024)} MB）。`);
  if (declared > max + 64 * 1024) throw tooLarge();
  const type = req.headers.get('content-type') ?? '';
  let bytes: Uint8Array;
  if (type.startsWith('multipart/form-data')) {
    // The body is read within the limit (plus room for the form's headers) as it streams in.
    const form = await formDataWithin(req, max + 64 * 1024, tooLarge).catch((e: unknown) => {
      if (isAppError(e)) throw e;
      throw new AppError('validation', 'アップロードされたデータを読み取れません。');
    });
    const parsed = fileField.safeParse(form.get('file'));
    if (!parsed.success) throw new AppError('validation', parsed.error.issues[0].message, { fieldErrors: { file: parsed.error.issues[0].message } });
    if (parsed.data.size > max) throw tooLarge();
    bytes = new Uint8Array(await parsed.data.arrayBuffer());
  } else if (type.startsWith('application/pdf') || type.startsWith('application/octet-stream')) {
    bytes = await readBodyWithin(req, max, tooLarge);
  } else {
    throw new AppError('validation', 'PDFファイルを multipart/form-data（file）または application/pdf で送信してください。');
  }
  if (bytes.length > max) throw tooLarge();
  if (bytes.length === 0) throw new AppError('pdf_empty', 'ファイルが空です（0バイト）。');
  return bytes;
}

export async function POST(req: Request): Promise<Response> {
  try {
    // In a worker thread under the PDF budgets (lib/pdfpool): a hostile file cannot stall the server.
    const report = await verifyUntrustedPdf(await readPdf(req));
    return NextResponse.json(report, { headers: { 'cache-control': 'no-store' } });
  } catch (e) {
    return errorResponse(e);
  }
}
