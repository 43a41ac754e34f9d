#!/usr/bin/env node
/**
 * Re-vendor the IPS StructureDefinitions medchain validates against, from the npm tarball of
 * hl7.fhir.uv.ips@2.0.0 (CC0-1.0), and check the tarball against the pinned integrity.
 *
 *   node scripts/vendorIps.mjs          re-vendor (npm pack, check sha512, extract, copy)
 *   node scripts/vendorIps.mjs --check  check only: the vendored files equal the tarball's
 *
 * The package cannot be `npm install`ed (its dependencies are not on npm), so only the files
 * listed in FILES are copied into vendor/hl7.fhir.uv.ips-2.0.0/.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SPEC = 'hl7.fhir.uv.ips@2.0.0';
/** `npm view hl7.fhir.uv.ips@2.0.0 dist.integrity` when vendored. */
const INTEGRITY =
  'sha512-4PWToJ9b1FgXsm9DIvHiU6HO9Z5m75jxk0e0MXOmhFlf2m2slk/d6RoiSYIChKJlvmtJ7GbRftt7PphlwmZcbQ==';
export const FILES = [
  'package.json',
  ...[
    'Bundle',
    'Composition',
    'Patient',
    'Organization',
    'AllergyIntolerance',
    'Condition',
    'MedicationRequest',
    'CodeableConcept',
    'Coding',
  ].map((n) => `StructureDefinition-${n}-uv-ips.json`),
];

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dest = path.join(root, 'vendor', 'hl7.fhir.uv.ips-2.0.0');
const checkOnly = process.argv.includes('--check');

const work = mkdtempSync(path.join(tmpdir(), 'ips-vendor-'));
try {
  const out = execFileSync('npm', ['pack', SPEC, '--json', '--pack-destination', work], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const filename = JSON.parse(out)[0].filename;
  const tgz = path.join(work, path.basename(filename));
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`;
  if (integrity !== INTEGRITY) {
    console.error(`${SPEC}: the tarball's sha512 is ${integrity}, expected ${INTEGRITY}; not vendoring`);
    process.exit(1);
  }
  execFileSync('tar', ['-xzf', tgz, '-C', work]);
  let differ = 0;
  for (const f of FILES) {
    const from = path.join(work, 'package', f);
    const to = path.join(dest, f);
    if (checkOnly) {
      let same = false;
      try {
        same = readFileSync(to).equals(readFileSync(from));
      } catch {}
      if (!same) {
        console.error(`${f}: the vendored copy differs from the tarball's`);
        differ++;
      }
    } else copyFileSync(from, to);
  }
  if (differ) process.exit(1);
  console.log(
    `${SPEC}: integrity ${integrity} ok; ${FILES.length} files ${checkOnly ? 'match' : 'vendored'}`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
