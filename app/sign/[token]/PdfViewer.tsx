'use client';
/**
 * Renders a PDF in the page with pdf.js. The library and its worker come from our own route
 * (/api/sign/pdfjs/…, files of the installed pdfjs-dist), loaded at runtime, never from a CDN.
 */
import type * as PdfJs from 'pdfjs-dist';
import { useEffect, useRef, useState } from 'react';
import { translator, type Locale } from '@/lib/i18n';

const BASE = '/api/sign/pdfjs';
let pdfjsPromise: Promise<typeof PdfJs> | undefined;

function loadPdfJs(): Promise<typeof PdfJs> {
  pdfjsPromise ??= (import(/* webpackIgnore: true */ /* turbopackIgnore: true */ `${BASE}/build/pdf.min.mjs`) as Promise<typeof PdfJs>).then(
    (lib) => {
      lib.GlobalWorkerOptions.workerSrc = `${BASE}/build/pdf.worker.min.mjs`;
      return lib;
    },
  );
  return pdfjsPromise;
}

export function PdfViewer({ url, title, pageCount, locale }: { url: string; title: string; pageCount: number; locale: Locale }) {
  const tr = translator(locale);
  const box = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState<'loading' | 'ready' | 'error'>('loading');
  const [rendered, setRendered] = useState(0);

  useEffect(() => {
    let cancelled = false;
    let doc: PdfJs.PDFDocumentProxy | undefined;
    const host = box.current;
    if (!host) return;
    host.replaceChildren();
    setStatus('loading');
    setRendered(0);
    (async () => {
      const lib = await loadPdfJs();
      doc = await lib.getDocument({
        url,
        withCredentials: true,
        cMapUrl: `${BASE}/cmaps/`,
        cMapPacked: true,
        standardFontDataUrl: `${BASE}/standard_fonts/`,
        wasmUrl: `${BASE}/wasm/`,
        isEvalSupported: false,
      }).promise;
      if (cancelled) return;
      const width = Math.max(280, host.clientWidth || 600);
      const dpr = Math.min(window.devicePixelRatio || 1, 2);
      for (let n = 1; n <= doc.numPages; n++) {
        if (cancelled) return;
        const page = await doc.getPage(n);
        const base = page.getViewport({ scale: 1 });
        const viewport = page.getViewport({ scale: (width / base.width) * dpr });
        const canvas = document.createElement('canvas');
        canvas.width = Math.floor(viewport.width);
        canvas.height = Math.floor(viewport.height);
        canvas.style.width = '100%';
        canvas.style.height = 'auto';
        canvas.className = 'mb-3 block border border-solid-gray-300 bg-white shadow-sm';
        canvas.setAttribute('role', 'img');
        canvas.setAttribute('aria-label', translator(locale)('sign.pdf.pageLabel', { title, n, total: doc.numPages }));
        canvas.dataset.testid = 'pdf-page';
        host.appendChild(canvas);
        await page.render({ canvas, viewport }).promise;
        canvas.dataset.rendered = 'true';
        if (!cancelled) setRendered(n);
      }
      if (!cancelled) setStatus('ready');
    })().catch(() => {
      if (!cancelled) setStatus('error');
    });
    return () => {
      cancelled = true;
      void doc?.destroy();
    };
  }, [url, title, locale]);

  return (
    <div>
      <p className="mb-2 text-sm text-solid-gray-700" aria-live="polite">
        {status === 'loading' ? tr('sign.pdf.loading', { n: rendered, total: pageCount }) : null}
        {status === 'ready' ? tr('sign.pdf.ready', { n: pageCount }) : null}
        {status === 'error' ? (
          <span role="alert">
            {tr('sign.pdf.error')}
            <a href={url} target="_blank" rel="noreferrer">
              {tr('sign.pdf.open')}
            </a>
          </span>
        ) : null}
      </p>
      <div ref={box} data-testid="pdf-viewer" data-status={status} className="rounded-lg bg-solid-gray-50 p-2" />
    </div>
  );
}
