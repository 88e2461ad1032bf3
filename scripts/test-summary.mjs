// Prints the closing line of a test run from vitest's JSON report and exits non-zero when
// anything failed (tests or an earlier phase), when no test ran, or when a test was skipped.
import { readFileSync } from 'node:fs';

const [file, phaseStatus = '0'] = process.argv.slice(2);
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  console.log(`tests: 0 passed, 1 failed (no report at ${file}: ${error.message})`);
  process.exit(1);
}
const passed = report.numPassedTests ?? 0;
// A file that fails outside any test (import or hook error) counts once; failed tests count each.
const brokenFiles = (report.testResults ?? []).filter(
  (f) => f.status === 'failed' && !(f.assertionResults ?? []).some((t) => t.status === 'failed'),
).length;
const failed = (report.numFailedTests ?? 0) + brokenFiles;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
const perProject = new Map();
for (const suite of report.testResults ?? []) {
  for (const t of suite.assertionResults ?? []) {
    const key = suite.name.replace(`${process.cwd()}/`, '').split('/').slice(0, 2).join('/');
    const row = perProject.get(key) ?? { passed: 0, failed: 0 };
    if (t.status === 'passed') row.passed++;
    else if (t.status === 'failed') row.failed++;
    perProject.set(key, row);
  }
}
for (const [key, row] of [...perProject].sort())
  console.log(`  ${key.padEnd(28)} ${row.passed} passed, ${row.failed} failed`);
if (skipped > 0) console.log(`  ${skipped} skipped or todo: not allowed in this repository`);
const ok = failed === 0 && passed > 0 && skipped === 0 && phaseStatus === '0';
if (phaseStatus !== '0') console.log('  an earlier phase (lint, versioning, typecheck or build) failed');
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(ok ? 0 : 1);
