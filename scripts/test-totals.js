#!/usr/bin/env node
// Totals the results that scripts/test.sh left in a directory (default out/test-results):
// vitest.json (vitest's JSON reporter), pytest.xml (JUnit XML) and each suite's exit code in
// NAME.rc (any other NAME.rc, such as the main job's, counts one failure when non-zero). Prints one line per suite on stderr and, as the last line on stdout, exactly
// "N passed, N failed". Exits 1 if anything failed, including a suite that crashed without
// reporting (counted as one failure).
"use strict";
const fs = require("fs");
const path = require("path");

const dir = process.argv[2] || path.join(__dirname, "..", "out", "test-results");
const read = (name) => {
  const file = path.join(dir, name);
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : null;
};
const exitCode = (suite) => {
  const rc = read(`${suite}.rc`);
  return rc === null ? null : Number(rc.trim());
};

const suites = [];

const vitestRc = exitCode("vitest");
if (vitestRc !== null) {
  let passed = 0;
  let failed = 0;
  const json = read("vitest.json");
  if (json) {
    const r = JSON.parse(json);
    passed = r.numPassedTests || 0;
    failed = r.numFailedTests || 0;
    // A test file that fails to load reports no failed test: count the file.
    for (const file of r.testResults || []) {
      const failedTests = (file.assertionResults || []).filter((a) => a.status === "failed").length;
      if (file.status === "failed" && failedTests === 0) failed += 1;
    }
  }
  suites.push({ name: "vitest", passed, failed, rc: vitestRc });
}

const pytestRc = exitCode("pytest");
if (pytestRc !== null) {
  let passed = 0;
  let failed = 0;
  const xml = read("pytest.xml");
  if (xml) {
    for (const m of xml.matchAll(/<testsuite\b([^>]*)>/g)) {
      const attr = (name) => Number((m[1].match(new RegExp(`\\b${name}="(\\d+)"`)) || [])[1] || 0);
      failed += attr("failures") + attr("errors");
      passed += attr("tests") - attr("failures") - attr("errors") - attr("skipped");
    }
  }
  suites.push({ name: "pytest", passed, failed, rc: pytestRc });
}

// Any other NAME.rc (e.g. main.rc from .ci/run) is a job without test counts: one failure if it failed.
for (const file of fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []) {
  const name = file.replace(/\.rc$/, "");
  if (!file.endsWith(".rc") || name === "vitest" || name === "pytest") continue;
  suites.push({ name, passed: 0, failed: 0, rc: exitCode(name) });
}

let passed = 0;
let failed = 0;
for (const s of suites) {
  // A suite that exited non-zero without a counted failure crashed or collected nothing.
  if (s.rc !== 0 && s.failed === 0) s.failed = 1;
  passed += s.passed;
  failed += s.failed;
  process.stderr.write(`[test] ${s.name}: ${s.passed} passed, ${s.failed} failed (exit ${s.rc})\n`);
}
if (suites.length === 0) {
  process.stderr.write(`[test] no results in ${dir}\n`);
  failed = 1;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
