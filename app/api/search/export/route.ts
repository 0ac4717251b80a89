/**
 * CSV export of a search (電子帳簿保存法「ダウンロードの求め」): every row matching the filters in
 * the query string (same keys as /search), streamed as UTF-8 with BOM. Audited as search.exported.
 */
import { contextOf, errorResponse, staffFromRequest } from '@/app/_lib/api';
import { getDb } from '@/app/_lib/server';
import { csvFileName, csvReadableStream, exportSearchCsv, parseSearchParams } from '@/lib/search';
import { contentDisposition } from '@/lib/format';

export const dynamic = 'force-dynamic';

export async function GET(req: Request) {
  try {
    const actor = await staffFromRequest(req);
    const { filters, page } = parseSearchParams(new URL(req.url).searchParams);
    const chunks = exportSearchCsv(getDb(), actor, filters, { sort: page.sort, direction: page.direction }, contextOf(req));
    const name = csvFileName();
    return new Response(csvReadableStream(chunks), {
      headers: {
        'Content-Type': 'text/csv; charset=utf-8',
        'Content-Disposition': contentDisposition('attachment', `契約検索_${name}`, name),
        'Cache-Control': 'no-store',
      },
    });
  } catch (e) {
    return errorResponse(e);
  }
}
