#!/usr/bin/env bash
# The whole test suite: type check, unit, integration (real PostgreSQL, SMTP, HTTP TSA, OpenSSL,
# poppler) and end-to-end (Playwright in Debian's Chromium). Uses embedded PostgreSQL unless
# DATABASE_URL points at a server. Extra arguments go to vitest (e.g. a file or --project unit).
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1 CHECKPOINT_DISABLE=1
npx tsx scripts/prisma-generate.ts >/dev/null
echo "== typecheck"
npx tsc --noEmit -p tsconfig.json
echo "== unit + integration + e2e"
mkdir -p var
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=var/vitest-results.json "$@" || status=$?
# One closing line in the plain 'N passed, N failed' form.
node -e '
const r = JSON.parse(require("fs").readFileSync("var/vitest-results.json", "utf8"));
console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' || true
exit $status
