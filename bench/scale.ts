/**
 * `npm run bench:scale` (not part of `npm run bench` or CI; it takes minutes and gigabytes): a
 * member store with a million log entries and as many records, then what a year of a busy member
 * costs:
 *  - record create throughput (the real path: validate, encrypt, wrap, index, log) at 10k records
 *    and again at the full size;
 *  - restart: opening the node, and its log (the persisted Merkle tree read back and checked);
 *  - inclusion proofs at the full size: generated and verified per second;
 *  - `medchain verify` of the whole store: time and peak resident memory.
 * Each measure runs in a child process of its own (fill, open, verify), so that peak memory is the
 * measure's own. Results: bench/results/scale.json and bench/results/scale.md.
 *
 * How the store is filled. The first SCALE_REAL_RECORDS (10,000) records are created through the
 * gatekeeper, as the API would. The rest are clones of those: each clone copies a real version's
 * rows (ciphertext, wraps, search tokens, dates, head) under a fresh id, and its create entry is
 * appended through the real log path (TransparencyLog.commitWith, the same transaction, the same
 * entry bytes a real create would log, batches of 5,000). So the log, the tree and the tables
 * have their real size and shape; a clone's ciphertext is bound to the id it was made for, so
 * clones do not decrypt (the verifier needs no keys and checks their hashes like any record).
 * Creating a million records through the real path would take over an hour here (HPKE wraps).
 *
 * Sizes: SCALE_RECORDS (default 1,000,000), SCALE_REAL_RECORDS (10,000), SCALE_ENTRIES (at least
 * this many log entries, topped up with read entries; default 1,000,000), SCALE_DIR (where the
 * store goes; default the OS temp dir), SCALE_KEEP=1 keeps it.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hex } from 'viem';
import type { Actor } from '../src/access/gatekeeper.js';
import { verifyInclusion } from '../src/log/merkle.js';
import type { LogInput } from '../src/log/transparencyLog.js';
import { TransparencyLog } from '../src/log/transparencyLog.js';
import { type ChainHead, verifyStoreAsync } from '../src/log/verifier.js';
import { createIdentity } from '../src/node/memberIdentity.js';
import { dbFileOf, keyFileOf, type MemberNode, openMemberNode } from '../src/node/memberNode.js';
import { openDatabase } from '../src/store/database.js';
import { NODE_MIGRATIONS } from '../src/store/nodeSchema.js';
import { median } from './_stats.js';

const RECORDS = Number(process.env.SCALE_RECORDS ?? 1_000_000);
const REAL_RECORDS = Math.min(RECORDS, Number(process.env.SCALE_REAL_RECORDS ?? 10_000));
const ENTRIES = Number(process.env.SCALE_ENTRIES ?? 1_000_000);
const PASSPHRASE = 'scale bench passphrase';
const PATIENTS = 200;
const CLONE_BATCH = 5000;
/** Creates per throughput window, and windows per measure (the median is reported). */
const WINDOW = 300;
const WINDOWS = 3;
const PROOFS = 100_000;
const ACTOR: Actor = { id: '3f1c2e9a-0d55-4a8e-9d4e-0c2b7e0a9b11', role: 'clinician', purpose: 'treatment' };
const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.join(here, 'results');

const hex = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}`;
const load = () => loadavg().map((x) => Number(x.toFixed(2)));
const say = (m: string) => process.stderr.write(`bench:scale: ${m}\n`);

const observation = (patientId: string, i: number) => ({
  resourceType: 'Observation',
  status: 'final',
  category: [
    {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }],
    },
  ],
  code: { coding: [{ system: 'http://loinc.org', code: i % 2 ? '718-7' : '2345-7', display: 'Lab result' }] },
  subject: { reference: `Patient/${patientId}` },
  effectiveDateTime: new Date(Date.UTC(2024, 0, 1) + i * 3_600_000).toISOString(),
  valueQuantity: { value: 10 + (i % 7), unit: 'g/dL', system: 'http://unitsofmeasure.org', code: 'g/dL' },
});

/** Record creates per second through the gatekeeper, median of WINDOWS windows of WINDOW creates. */
async function createRate(node: MemberNode, patients: string[], from: number): Promise<number> {
  const rates: number[] = [];
  for (let w = 0; w < WINDOWS; w++) {
    const t0 = performance.now();
    for (let i = 0; i < WINDOW; i++) {
      const n = from + w * WINDOW + i;
      await node.gate.create(ACTOR, 'Observation', observation(patients[n % patients.length] as string, n));
    }
    rates.push(WINDOW / ((performance.now() - t0) / 1000));
  }
  return Math.round(median(rates));
}

/** Copies of real Observation versions under new ids, each with its create entry (see the file comment). */
function cloneRecords(node: MemberNode, count: number): void {
  const db = node.db;
  const templates = db
    .prepare(
      "SELECT v.id, v.ciphertext_hash, v.patient_ref FROM resource_versions v WHERE v.resource_type = 'Observation' AND v.version = 1 ORDER BY v.id",
    )
    .all() as { id: string; ciphertext_hash: string; patient_ref: string }[];
  if (templates.length === 0) throw new Error('no Observation to clone');
  const copy = [
    `INSERT INTO resource_versions (resource_type, id, version, last_updated, last_updated_ms, patient_ref, deleted, nonce, ciphertext, ciphertext_hash, category_mask)
       SELECT resource_type, @to, version, last_updated, last_updated_ms, patient_ref, deleted, nonce, ciphertext, ciphertext_hash, category_mask
       FROM resource_versions WHERE resource_type = 'Observation' AND id = @from AND version = 1`,
    `INSERT INTO resource_heads (resource_type, id, version, deleted, patient_ref, last_updated_ms, category_mask)
       SELECT resource_type, @to, version, deleted, patient_ref, last_updated_ms, category_mask
       FROM resource_heads WHERE resource_type = 'Observation' AND id = @from`,
    `INSERT INTO key_wraps (resource_type, id, version, recipient, enc, wrapped)
       SELECT resource_type, @to, version, recipient, enc, wrapped
       FROM key_wraps WHERE resource_type = 'Observation' AND id = @from AND version = 1`,
    `INSERT INTO search_tokens (resource_type, id, param, token)
       SELECT resource_type, @to, param, token FROM search_tokens WHERE resource_type = 'Observation' AND id = @from`,
    `INSERT INTO search_dates (resource_type, id, param, lo, hi)
       SELECT resource_type, @to, param, lo, hi FROM search_dates WHERE resource_type = 'Observation' AND id = @from`,
  ].map((sql) => db.prepare(sql));
  const patientAddress = db.prepare('SELECT address FROM patient_addresses WHERE patient_ref = ?').pluck();
  let done = 0;
  let t0 = performance.now();
  while (done < count) {
    const n = Math.min(CLONE_BATCH, count - done);
    const batch = Array.from({ length: n }, (_, i) => {
      const t = templates[(done + i) % templates.length] as (typeof templates)[number];
      return { from: t.id, to: randomUUID(), hash: t.ciphertext_hash, patientRef: t.patient_ref };
    });
    const inputs: LogInput[] = batch.map((c) => ({
      actor: ACTOR.id,
      patient: (patientAddress.get(c.patientRef) as Hex | undefined) ?? null,
      action: 'create',
      target: { resourceType: 'Observation', id: c.to, version: 1, ciphertextHash: `0x${c.hash}` },
      purpose: ACTOR.purpose,
      outcome: 'permit',
      reason: 'ok',
      queryHash: null,
    }));
    node.log.commitWith(inputs, () => {
      for (const c of batch) for (const s of copy) s.run({ from: c.from, to: c.to });
    });
    done += n;
    if (performance.now() - t0 > 15_000) {
      say(`cloned ${done} of ${count} records (log ${node.log.size})`);
      t0 = performance.now();
    }
  }
}

/** Read entries through the real append path, in batches, until the log has `target` entries. */
function topUpLog(node: MemberNode, target: number, patients: string[]): void {
  let t0 = performance.now();
  while (node.log.size < target) {
    const n = Math.min(CLONE_BATCH, target - node.log.size);
    node.log.commitWith(
      Array.from({ length: n }, (_, i) => ({
        actor: ACTOR.id,
        patient: null,
        action: 'read' as const,
        target: {
          resourceType: 'Patient',
          id: patients[i % patients.length] as string,
          version: 1,
          ciphertextHash: null,
        },
        purpose: ACTOR.purpose,
        outcome: 'permit' as const,
        reason: 'ok',
        queryHash: null,
      })),
      () => undefined,
    );
    if (performance.now() - t0 > 15_000) {
      say(`log at ${node.log.size} of ${target}`);
      t0 = performance.now();
    }
  }
}

/** Child: build the store in `dir`; report create throughput at both sizes and fill times. */
async function fill(dir: string) {
  createIdentity(keyFileOf(dir), PASSPHRASE);
  const node = openMemberNode(dir, PASSPHRASE);
  const patients: string[] = [];
  const t0 = performance.now();
  for (let i = 0; i < PATIENTS; i++)
    patients.push(
      (await node.gate.create(ACTOR, 'Patient', { resourceType: 'Patient', gender: 'other' })).id,
    );
  const realBefore = Math.max(0, REAL_RECORDS - PATIENTS - WINDOWS * WINDOW);
  for (let i = 0; i < realBefore; i++) {
    await node.gate.create(ACTOR, 'Observation', observation(patients[i % PATIENTS] as string, i));
    if (i % 2000 === 1999) say(`created ${i + 1 + PATIENTS} records through the gatekeeper`);
  }
  const createAtReal = await createRate(node, patients, realBefore);
  const realSeconds = (performance.now() - t0) / 1000;
  say(`${REAL_RECORDS} real records in ${realSeconds.toFixed(0)} s; cloning to ${RECORDS}`);
  const t1 = performance.now();
  cloneRecords(node, Math.max(0, RECORDS - REAL_RECORDS - WINDOWS * WINDOW));
  const cloneSeconds = (performance.now() - t1) / 1000;
  const createAtFull = await createRate(node, patients, REAL_RECORDS);
  const t2 = performance.now();
  topUpLog(node, ENTRIES, patients);
  const topUpSeconds = (performance.now() - t2) / 1000;
  // Heads as an anchorer would have recorded them (the node's check on open uses the newest).
  const size = node.log.size;
  const heads: ChainHead[] = [Math.floor(size / 4), Math.floor(size / 2) + 1, size].map((s) => ({
    treeSize: s,
    rootHash: hex(node.log.root(s)),
  }));
  for (const h of heads)
    node.publisher.recordAnchor({ ...h, timestamp: Date.now(), txHash: null, blockNumber: null });
  writeFileSync(path.join(dir, 'heads.json'), JSON.stringify(heads));
  const count = (t: string) => (node.db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
  const result = {
    logEntries: size,
    recordVersions: count('resource_versions'),
    realRecords: REAL_RECORDS,
    createPerSecAtReal: createAtReal,
    createPerSecAtFull: createAtFull,
    realRecordsSeconds: Math.round(realSeconds),
    cloneSeconds: Math.round(cloneSeconds),
    topUpSeconds: Math.round(topUpSeconds),
    treeChunks: count('log_tree_chunks'),
  };
  node.close();
  return { ...result, storeBytes: statSync(dbFileOf(dir)).size };
}

/** Child: restart (node and log open times) and inclusion proofs at the full size. */
function open(dir: string) {
  let t0 = performance.now();
  const node = openMemberNode(dir, PASSPHRASE);
  const nodeOpenMs = performance.now() - t0;
  const address = node.identity.address;
  node.close();
  // The log alone: a fresh connection and TransparencyLog (the part of a restart that grows with the log).
  t0 = performance.now();
  const db = openDatabase(dbFileOf(dir), NODE_MIGRATIONS);
  const warnings: string[] = [];
  const log = new TransparencyLog(db, address, Date.now, { warn: (m) => warnings.push(m) });
  const logOpenMs = performance.now() - t0;
  const n = log.size;
  const root = log.root();
  const at = (i: number) => Math.floor((((i * 2654435761) % 4294967296) / 4294967296) * n);
  t0 = performance.now();
  const paths = Array.from({ length: PROOFS }, (_, i) => log.inclusionProof(at(i)));
  const genPerSec = PROOFS / ((performance.now() - t0) / 1000);
  const leaves = Array.from({ length: PROOFS }, (_, i) => log.leafHash(at(i)));
  t0 = performance.now();
  let ok = 0;
  for (let i = 0; i < PROOFS; i++)
    if (verifyInclusion(leaves[i] as Uint8Array, at(i), n, paths[i] as Uint8Array[], root)) ok++;
  const verifyPerSec = PROOFS / ((performance.now() - t0) / 1000);
  if (ok !== PROOFS) throw new Error(`${PROOFS - ok} inclusion proofs did not verify`);
  db.close();
  return {
    logEntries: n,
    logOpenMs: Math.round(logOpenMs),
    nodeOpenMs: Math.round(nodeOpenMs),
    treeRebuilt: log.rebuilt,
    warnings,
    proofGenPerSec: Math.round(genPerSec),
    proofVerifyPerSec: Math.round(verifyPerSec),
    proofGenAndVerifyPerSec: Math.round(1 / (1 / genPerSec + 1 / verifyPerSec)),
    proofLength: paths[0]?.length ?? 0,
  };
}

/** Peak resident set of this process so far (VmHWM), in MB. */
const peakRssMb = () => {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : Math.round(process.memoryUsage().rss / 2 ** 20);
};

/** Child: `medchain verify` of the store, as verifyMemberNode runs it, against the recorded heads. */
async function verify(dir: string) {
  const db = openDatabase(dbFileOf(dir), NODE_MIGRATIONS);
  const heads = JSON.parse(readFileSync(path.join(dir, 'heads.json'), 'utf8')) as ChainHead[];
  const before = peakRssMb();
  let sampled = 0;
  const t0 = performance.now();
  const report = await verifyStoreAsync(db, heads, (_phase, done) => {
    if (done % 50_000 === 0) sampled = Math.max(sampled, process.memoryUsage().rss);
  });
  const seconds = (performance.now() - t0) / 1000;
  db.close();
  return {
    seconds: Number(seconds.toFixed(1)),
    ok: report.ok,
    problems: report.problems.length,
    checked: report.checked,
    peakRssMb: peakRssMb(),
    rssBeforeMb: before,
    sampledRssMb: Math.round(sampled / 2 ** 20),
  };
}

/** Run one phase in a child process; its result is the last line of its stdout. */
function child(phase: string, dir: string): Record<string, unknown> & { load: number[][] } {
  const loadBefore = load();
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), phase, dir],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 24,
    },
  );
  const last = out.trim().split('\n').at(-1) as string;
  return { ...JSON.parse(last), load: [loadBefore, load()] };
}

export async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(process.env.SCALE_DIR ?? tmpdir(), 'medchain-scale-'));
  const started = new Date().toISOString();
  say(`store in ${dir}: ${RECORDS} records (${REAL_RECORDS} real), at least ${ENTRIES} log entries`);
  try {
    const filled = child('fill', dir);
    say(`filled: ${JSON.stringify(filled)}`);
    const opened = child('open', dir);
    say(`restart: ${JSON.stringify(opened)}`);
    const verified = child('verify', dir);
    say(`verify: ${JSON.stringify(verified)}`);
    const meta = {
      bench: 'scale',
      date: started,
      node: process.version,
      sizes: { records: RECORDS, realRecords: REAL_RECORDS, minEntries: ENTRIES },
    };
    writeFileSync(
      path.join(outDir, 'scale.json'),
      `${JSON.stringify({ ...meta, fill: filled, restart: opened, verify: verified }, null, 2)}\n`,
    );
    const la = (l: number[][]) => `${l[0]?.join(' ')} → ${l[1]?.join(' ')}`;
    const n = Number(filled.logEntries).toLocaleString('en');
    const table = [
      '| measure | value | load average (1, 5, 15 min) before → after |',
      '|---|---:|---|',
      `| log entries | ${n} | |`,
      `| record versions | ${Number(filled.recordVersions).toLocaleString('en')} (${REAL_RECORDS.toLocaleString('en')} created through the gatekeeper, the rest cloned) | |`,
      `| record creates/s at ${REAL_RECORDS.toLocaleString('en')} records (sequential, median of ${WINDOWS}×${WINDOW}) | ${filled.createPerSecAtReal} | ${la(filled.load)} |`,
      `| record creates/s at ${Number(filled.recordVersions).toLocaleString('en')} records | ${filled.createPerSecAtFull} | |`,
      `| restart: open the log (read back and check the persisted tree) | ${opened.logOpenMs} ms${opened.treeRebuilt ? ` (REBUILT: ${opened.treeRebuilt})` : ''} | ${la(opened.load)} |`,
      `| restart: open the whole member node (key file KDF, FHIR definitions, log) | ${opened.nodeOpenMs} ms | |`,
      `| inclusion proofs generated/s at ${n} (path of ${opened.proofLength}) | ${opened.proofGenPerSec} | |`,
      `| inclusion proofs verified/s at ${n} | ${opened.proofVerifyPerSec} | |`,
      `| inclusion proofs generated and verified/s | ${opened.proofGenAndVerifyPerSec} | |`,
      `| verify the store (${n} entries, ${Number(filled.recordVersions).toLocaleString('en')} versions, 3 heads) | ${verified.seconds} s, ${verified.ok ? 'ok' : `NOT OK (${verified.problems} problems)`} | ${la(verified.load)} |`,
      `| verify: peak resident memory (VmHWM of its process) | ${verified.peakRssMb} MB | |`,
      `| store file | ${(Number(filled.storeBytes) / 2 ** 30).toFixed(2)} GiB | |`,
    ].join('\n');
    writeFileSync(
      path.join(outDir, 'scale.md'),
      `# Scale: a member store with a year of a busy member's log\n\n${started}, ${process.version}, ${
        process.env.SCALE_DIR ?? tmpdir()
      } on the machine's disk. \`npm run bench:scale\`; how the store is filled is described in bench/scale.ts (records past the first ${REAL_RECORDS.toLocaleString(
        'en',
      )} are clones whose create entries go through the real log path). Fill: ${filled.realRecordsSeconds} s for the real records, ${filled.cloneSeconds} s for the clones, ${filled.topUpSeconds} s topping up the log.\n\n${table}\n`,
    );
    process.stdout.write(`${table}\n\nwrote bench/results/scale.json and bench/results/scale.md\n`);
  } finally {
    if (process.env.SCALE_KEEP) say(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

const [phase, dirArg] = process.argv.slice(2);
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  if (phase && dirArg) {
    const run = { fill, open, verify }[phase as 'fill' | 'open' | 'verify'];
    if (!run) throw new Error(`unknown phase ${phase}`);
    process.stdout.write(`${JSON.stringify(await run(dirArg))}\n`);
  } else await main();
}
