// Entry of a PDF pool worker thread (piscina loads it and calls the default export per task).
// Plain JavaScript on purpose: it registers tsx so the TypeScript in lib/ loads the same way in
// `npm run dev`, in the `next build` server, in tsx scripts and in vitest.
import { register } from 'tsx/esm/api';

register();
const { runPdfTask } = await import('./tasks.ts');

export default runPdfTask;
