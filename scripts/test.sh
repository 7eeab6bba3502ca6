#!/usr/bin/env bash
# `npm test`: every suite. Sets up what the tests need (scripts/setup.sh --tests), then runs
#   1. vitest: unit tests (test/**) and end-to-end tests (test/e2e: notebooks in the real tslab
#      kernel, their HTML in offline headless Chromium), see vitest.config.ts;
#   2. the Python lab's tests (lab/tests) with pytest under /usr/bin/python3 (LAB_PYTHON), if present.
# Results go to out/test-results/ (vitest.json, pytest.xml); the last line is the total,
# "N passed, N failed". Exits non-zero if any suite failed. Arguments are passed to vitest.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh --tests || { echo "[test] setup failed" >&2; exit 1; }

RESULTS=out/test-results
mkdir -p "$RESULTS"
rm -f "$RESULTS"/vitest.json "$RESULTS"/pytest.xml "$RESULTS"/*.rc

echo "[test] vitest (unit + e2e)"
npx vitest run --reporter=default --reporter=json --outputFile.json="$RESULTS/vitest.json" "$@"
echo $? > "$RESULTS/vitest.rc"

if [ -d lab/tests ]; then
  LAB_PYTHON="${LAB_PYTHON:-/usr/bin/python3}"
  echo "[test] pytest lab/tests ($LAB_PYTHON)"
  "$LAB_PYTHON" -m pytest lab/tests -q -p no:cacheprovider --junitxml="$RESULTS/pytest.xml"
  echo $? > "$RESULTS/pytest.rc"
else
  echo "[test] lab/tests not found: no Python tests to run"
fi

node scripts/test-totals.js "$RESULTS"
