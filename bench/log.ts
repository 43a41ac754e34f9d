/**
 * Transparency-log append throughput, durable (WAL, synchronous=FULL): group commit (concurrent
 * appends share one SQLite transaction) against one transaction per entry, side by side in
 * alternating rounds. Also the cost of an inclusion proof and its verification on a large log.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyInclusion } from '../src/log/merkle.js';
import { type LogInput, TransparencyLog } from '../src/log/transparencyLog.js';
import { openDatabase } from '../src/store/database.js';
import { NODE_MIGRATIONS } from '../src/store/nodeSchema.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 2000);
const CONCURRENCY = 100;
const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
const MEMBER = '0x4D1Ad100619f59d961c0CFD53D3cAcF34B1892cD';

const input = (i: number): LogInput => ({
  actor: '3f1c2e9a-0d55-4a8e-9d4e-0c2b7e0a9b11',
  patient: MEMBER,
  action: 'read',
  target: { resourceType: 'Observation', id: `obs-${i}`, version: 1, ciphertextHash: `0x${'ab'.repeat(32)}` },
  purpose: 'treatment',
  outcome: 'permit',
  reason: 'ok',
  queryHash: null,
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export async function runLogBench() {
  const dir = mkdtempSync(path.join(tmpdir(), 'medchain-logbench-'));
  try {
    const grouped = new TransparencyLog(openDatabase(path.join(dir, 'a.db'), NODE_MIGRATIONS), MEMBER);
    const single = new TransparencyLog(openDatabase(path.join(dir, 'b.db'), NODE_MIGRATIONS), MEMBER);
    const g: number[] = [];
    const s: number[] = [];
    let n = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Group commit: CONCURRENCY requests in flight, as under load.
      let t0 = performance.now();
      for (let i = 0; i < PER_ROUND; i += CONCURRENCY) {
        await Promise.all(Array.from({ length: CONCURRENCY }, (_, j) => grouped.append(input(n + i + j))));
      }
      g.push(PER_ROUND / ((performance.now() - t0) / 1000));
      // Baseline: one durable transaction per entry.
      t0 = performance.now();
      for (let i = 0; i < PER_ROUND; i++) single.commitWith([input(n + i)], () => undefined);
      s.push(PER_ROUND / ((performance.now() - t0) / 1000));
      n += PER_ROUND;
    }
    const size = grouped.size;
    const proofs = 2000;
    let t0 = performance.now();
    const paths = Array.from({ length: proofs }, (_, i) => grouped.inclusionProof((i * 7919) % size));
    const proveUs = ((performance.now() - t0) * 1000) / proofs;
    const root = grouped.root();
    t0 = performance.now();
    for (const [i, p] of paths.entries()) {
      const at = (i * 7919) % size;
      verifyInclusion(grouped.leafHash(at), at, size, p, root);
    }
    const verifyUs = ((performance.now() - t0) * 1000) / proofs;
    return {
      groupCommitPerSec: Math.round(median(g)),
      perEntryCommitPerSec: Math.round(median(s)),
      speedup: Number((median(g) / median(s)).toFixed(1)),
      logSize: size,
      inclusionProofMicros: Number(proveUs.toFixed(1)),
      verifyInclusionMicros: Number(verifyUs.toFixed(1)),
      samples: { groupCommit: g, perEntryCommit: s },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function main(): Promise<void> {
  const r = await runLogBench();
  const table = [
    '| measure | value |',
    '|---|---:|',
    `| appends/s, group commit (${CONCURRENCY} concurrent), median | ${r.groupCommitPerSec} |`,
    `| appends/s, one transaction per entry, median | ${r.perEntryCommitPerSec} |`,
    `| group commit speed-up | ${r.speedup}x |`,
    `| inclusion proof on a log of ${r.logSize}, µs | ${r.inclusionProofMicros} |`,
    `| inclusion proof verification, µs | ${r.verifyInclusionMicros} |`,
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
    `# Transparency log\n\n${meta.date}, ${meta.node}, ${ROUNDS} rounds x ${PER_ROUND} entries, both durable (WAL, synchronous=FULL)\n\n${table}\n`,
  );
  process.stdout.write(`${table}\n\nwrote bench/results/log.json and bench/results/log.md\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
