#!/usr/bin/env node
// Runs every package's tests (packages/*/test/**/*.test.ts) with node:test through tsx.
// Extra arguments are passed on: `npm test -- --test-name-pattern=store` or a file filter
// `npm test -- packages/model` (an argument without a leading dash narrows the file list).
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const filters = args.filter((a) => !a.startsWith('-'));
const nodeFlags = args.filter((a) => a.startsWith('-'));

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out;
}

const files = [];
for (const pkg of readdirSync(join(root, 'packages'))) {
  const testDir = join(root, 'packages', pkg, 'test');
  try {
    if (statSync(testDir).isDirectory()) collect(testDir, files);
  } catch {
    // a package without tests
  }
}
// Files that take the longest start first, so two long files do not end the run on their own
// while the other slot idles (measured in CI: the demo e2e runs its fixed 60 s day, the dispatch
// engine tests and the console's browser tests 40-100 s each). Order among the rest is by name.
const LONGEST_FIRST = [
  'packages/gateway/test/demo/cli.test.ts',
  'packages/gateway/test/dispatch/engine.test.ts',
  'packages/dispatch/test/fixtures-revenue.test.ts',
  'packages/gateway/test/console/console.test.ts',
  'packages/gateway/test/dispatch/timescale-engine.test.ts',
  'packages/gateway/test/console/dispatch.test.ts',
];
const rank = (file) => {
  const index = LONGEST_FIRST.indexOf(file);
  return index === -1 ? LONGEST_FIRST.length : index;
};
const selected = files
  .sort()
  .filter((f) => filters.length === 0 || filters.some((flt) => f.includes(flt)))
  .sort((a, b) => rank(a) - rank(b));
if (selected.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...nodeFlags, ...selected],
  { cwd: root, stdio: 'inherit' },
);
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
