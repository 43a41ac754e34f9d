/**
 * Transparency-log append throughput, durable (WAL; group commits synced with fdatasync before
 * they are acknowledged, src/store/walSync.ts; one transaction per entry with synchronous=FULL):
 * group commit (concurrent appends share one SQLite transaction) at 32 and at 256 in flight, against one
 * transaction per entry, side by side in alternating rounds; the disk's fsync latency, which
 * bounds group commit at a given number in flight (each commit waits for one). Also inclusion
 * proofs on the log and on a tree of BENCH_PROOF_TREE (1,000,000) leaves: generated and verified
 * per second.
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { leafHash, MerkleTree, verifyInclusion, verifyInclusions } from '../src/log/merkle.js';
import { TransparencyLog } from '../src/log/transparencyLog.js';
import { openDatabase } from '../src/store/database.js';
import { NODE_MIGRATIONS } from '../src/store/nodeSchema.js';
import { BENCH_MEMBER, benchLogInput } from './_logInput.js';
import { median } from './_stats.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 2000);
const IN_FLIGHT = [32, 256] as const;
const PROOF_TREE = Number(process.env.BENCH_PROOF_TREE ?? 1_000_000);
const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');

/** Milliseconds for a 4 KB write + fdatasync in `dir`, median of 200. */
function fsyncMs(dir: string): number {
  const file = path.join(dir, 'fsync-probe');
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(4096, 1);
  const xs: number[] = [];
  try {
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      writeSync(fd, block);
      fdatasyncSync(fd);
      xs.push(performance.now() - t0);
    }
  } finally {
    closeSync(fd);
  }
  return Number(median(xs).toFixed(3));
}

/** Inclusion proofs of `count` spread leaves of `tree`: generated/s, verified/s, both/s. */
function proofRates(
  tree: { size: number; root(): Uint8Array; inclusionProof(i: number): Uint8Array[] },
  leafOf: (i: number) => Uint8Array,
  count: number,
) {
  const size = tree.size;
  const at = (i: number) => (i * 7919) % size;
  let t0 = performance.now();
  const paths = Array.from({ length: count }, (_, i) => tree.inclusionProof(at(i)));
  const gen = count / ((performance.now() - t0) / 1000);
  const leaves = Array.from({ length: count }, (_, i) => leafOf(at(i)));
  const root = tree.root();
  t0 = performance.now();
  for (const [i, p] of paths.entries())
    if (!verifyInclusion(leaves[i] as Uint8Array, at(i), size, p, root))
      throw new Error('a proof did not verify');
  const ver = count / ((performance.now() - t0) / 1000);
  // The same proofs checked as a reader checks a disclosures document: many under one head at once.
  const batched = (batch: number) => {
    const items = paths.map((p, i) => ({ leaf: leaves[i] as Uint8Array, index: at(i), path: p }));
    const t1 = performance.now();
    for (let i = 0; i < count; i += batch)
      if (!verifyInclusions(items.slice(i, i + batch), size, root).every(Boolean))
        throw new Error('a proof did not verify in a batch');
    return Math.round(count / ((performance.now() - t1) / 1000));
  };
  // A patient's disclosures document: accesses of RUN consecutive entries each (one answer logs an
  // entry per record), the accesses spread over the log, checked under one head as the portal does.
  const RUN = 20;
  const runs = Array.from({ length: count }, (_, i) => {
    const index = (Math.floor(i / RUN) * 7919 * RUN + (i % RUN)) % size;
    return { leaf: leafOf(index), index, path: tree.inclusionProof(index) };
  });
  const t2 = performance.now();
  for (let i = 0; i < count; i += 1000)
    if (!verifyInclusions(runs.slice(i, i + 1000), size, root).every(Boolean))
      throw new Error('a proof did not verify in a document');
  const documents = Math.round(count / ((performance.now() - t2) / 1000));
  return {
    size,
    generatedPerSec: Math.round(gen),
    verifiedPerSec: Math.round(ver),
    bothPerSec: Math.round(1 / (1 / gen + 1 / ver)),
    batchedPerSec: { 100: batched(100), 1000: batched(1000) },
    disclosuresPerSec: documents,
  };
}

export async function runLogBench() {
  const dir = mkdtempSync(path.join(tmpdir(), 'medchain-logbench-'));
  try {
    const load = [loadavg()];
    const fsync = fsyncMs(dir);
    const grouped = IN_FLIGHT.map(
      (k) =>
        new TransparencyLog(openDatabase(path.join(dir, `group-${k}.db`), NODE_MIGRATIONS), BENCH_MEMBER),
    );
    const single = new TransparencyLog(
      openDatabase(path.join(dir, 'single.db'), NODE_MIGRATIONS),
      BENCH_MEMBER,
    );
    const g: number[][] = IN_FLIGHT.map(() => []);
    const s: number[] = [];
    let n = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Group commit: k requests in flight, each waiting for its entry to be durable, as under load.
      for (const [j, k] of IN_FLIGHT.entries()) {
        const log = grouped[j] as TransparencyLog;
        const t0 = performance.now();
        for (let i = 0; i < PER_ROUND; i += k) {
          await Promise.all(
            Array.from({ length: Math.min(k, PER_ROUND - i) }, (_, m) =>
              log.append(benchLogInput(n + i + m)),
            ),
          );
        }
        (g[j] as number[]).push(PER_ROUND / ((performance.now() - t0) / 1000));
      }
      // Baseline: one durable transaction per entry.
      const t0 = performance.now();
      for (let i = 0; i < PER_ROUND; i++) single.commitWith([benchLogInput(n + i)], () => undefined);
      s.push(PER_ROUND / ((performance.now() - t0) / 1000));
      n += PER_ROUND;
    }
    const first = grouped[0] as TransparencyLog;
    const onLog = proofRates(first, (i) => first.leafHash(i), 2000);
    load.push(loadavg());
    // A tree of a year of a busy member's log (leaf hashes only: what proofs cost at that size).
    const big = new MerkleTree();
    for (let i = 0; i < PROOF_TREE; i++) big.append(leafHash(Buffer.from(`entry ${i}`)));
    // Appends leave the interior nodes to the first read: hash them here, untimed, so that the
    // proofs below are timed alone (as when each append hashed its own).
    big.hashPending();
    const onBig = proofRates(big, (i) => big.leaf(i), 100_000);
    load.push(loadavg());
    const [at32, at256] = g.map((xs) => Math.round(median(xs)));
    return {
      fsyncMs: fsync,
      groupCommit32PerSec: at32 as number,
      groupCommit256PerSec: at256 as number,
      perEntryCommitPerSec: Math.round(median(s)),
      speedup32: Number(((at32 as number) / median(s)).toFixed(1)),
      proofsOnLog: onLog,
      proofsOnTree: onBig,
      loadAverage: load.map((l) => l.map((x) => Number(x.toFixed(2)))),
      samples: { groupCommit32: g[0], groupCommit256: g[1], perEntryCommit: s },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function main(): Promise<void> {
  const r = await runLogBench();
  const t = r.proofsOnTree;
  const table = [
    '| measure | value |',
    '|---|---:|',
    `| fsync (4 KB write + fdatasync), median ms | ${r.fsyncMs} |`,
    `| appends/s, group commit, 32 in flight, median | ${r.groupCommit32PerSec} |`,
    `| appends/s, group commit, 256 in flight, median | ${r.groupCommit256PerSec} |`,
    `| appends/s, one transaction per entry, median | ${r.perEntryCommitPerSec} |`,
    `| group commit speed-up at 32 in flight | ${r.speedup32}x |`,
    `| inclusion proofs on the log of ${r.proofsOnLog.size}: generated/s, verified/s | ${r.proofsOnLog.generatedPerSec}, ${r.proofsOnLog.verifiedPerSec} |`,
    `| inclusion proofs on a tree of ${t.size}: generated/s | ${t.generatedPerSec} |`,
    `| inclusion proofs on a tree of ${t.size}: verified/s | ${t.verifiedPerSec} |`,
    `| inclusion proofs on a tree of ${t.size}: generated and verified/s | ${t.bothPerSec} |`,
    `| inclusion proofs on a tree of ${t.size}: verified/s in batches of 100, of 1,000 spread proofs under one head (verifyInclusions) | ${t.batchedPerSec[100]}, ${t.batchedPerSec[1000]} |`,
    `| inclusion proofs on a tree of ${t.size}: verified/s as a disclosures document checks them (1,000 a document: 50 accesses of 20 consecutive entries, spread over the log) | ${t.disclosuresPerSec} |`,
  ].join('\n');
  const meta = {
    bench: 'log',
    date: new Date().toISOString(),
    node: process.version,
    rounds: ROUNDS,
    perRound: PER_ROUND,
  };
  writeFileSync(path.join(outDir, 'log.json'), `${JSON.stringify({ ...meta, results: r }, null, 2)}\n`);
  writeFileSync(
    path.join(outDir, 'log.md'),
    `# Transparency log\n\n${meta.date}, ${meta.node}, ${ROUNDS} rounds x ${PER_ROUND} entries, all durable (WAL; group commits fdatasync-ed before they are acknowledged, one transaction per entry synchronous=FULL); load average (1, 5, 15 min) at the start, after the appends and after the proofs: ${r.loadAverage.map((l) => l.join(' ')).join(' / ')}. Group commit can do at most (appends in flight) / (fsync + CPU per commit) appends a second.\n\n${table}\n`,
  );
  process.stdout.write(`${table}\n\nwrote bench/results/log.json and bench/results/log.md\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
