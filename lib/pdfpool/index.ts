/** Parsing untrusted PDFs in a worker-thread pool (piscina) under hard budgets; see pool.ts. */
export { inspectUntrustedPdf, verifyUntrustedPdf, warmPdfPool, closePdfPool, workerEntry, workerHeapMb } from './pool';
export { runPdfTask, type PdfTask, type InspectTask, type VerifyTask, type TaskResult, type TaskError } from './tasks';
