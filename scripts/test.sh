#!/usr/bin/env bash
# The whole test suite: type check, unit, integration (real PostgreSQL, SMTP, HTTP TSA, OpenSSL,
# poppler) and end-to-end (Playwright in Debian's Chromium). Uses embedded PostgreSQL unless
# DATABASE_URL points at a server.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1 CHECKPOINT_DISABLE=1
npx tsx scripts/prisma-generate.ts >/dev/null
echo "== typecheck"
npx tsc --noEmit -p tsconfig.json
echo "== unit + integration + e2e"
npx vitest run "$@"
