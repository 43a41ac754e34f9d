#!/usr/bin/env node
// `npm run build:portal`: build the portal (web/ -> web/dist) with Vite, saying so while it runs.
// With --if-stale (what `npm start` uses) it builds only when a source is newer than the last build:
// anything under web/ (but web/dist), under src/ (the portal imports shared modules from there), or
// the lockfile (a dependency changed).
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const built = path.join(root, 'web', 'dist', 'index.html');

/** The newest modification time of a file at or under `p` (skipping web/dist and node_modules). */
function newest(p) {
  if (!existsSync(p)) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let t = 0;
  for (const e of readdirSync(p)) {
    if (e === 'node_modules' || path.join(p, e) === path.dirname(built)) continue;
    t = Math.max(t, newest(path.join(p, e)));
  }
  return t;
}

if (process.argv.includes('--if-stale') && existsSync(built)) {
  const sources = Math.max(
    newest(path.join(root, 'web')),
    newest(path.join(root, 'src')),
    newest(path.join(root, 'package-lock.json')),
  );
  if (sources <= statSync(built).mtimeMs) {
    console.log('portal: web/dist is up to date with its sources; not rebuilt');
    process.exit(0);
  }
}

const started = Date.now();
console.log('portal: building web/ into web/dist with Vite (takes about 20 s)');
try {
  await build({ configFile: path.join(root, 'web', 'vite.config.ts') });
} catch (err) {
  console.error(`portal: the build failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
console.log(`portal: built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
