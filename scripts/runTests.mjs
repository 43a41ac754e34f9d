#!/usr/bin/env node
// `npm test`: every *.test.ts under src/, test/, web/ and bench/ with node:test (Node 20 has no --test glob support).
// Extra arguments are passed to node --test (e.g. --test-name-pattern). Summary: "# pass N / # fail N".
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : find(p);
    return e.name.endsWith('.test.ts') ? [p] : [];
  });
}

const files = [...find('src'), ...find('test'), ...find('web'), ...find('bench')].sort();
const r = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    '--test-reporter=spec',
    ...process.argv.slice(2),
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
