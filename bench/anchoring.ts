/**
 * Event -> anchored latency on a chain with 1 s blocks (the block period of a Besu QBFT network,
 * here the embedded anvil with --block-time 1): one member node anchors with its default settings
 * while entries are appended to its log, and an independent watcher polls the chain (every 25 ms)
 * for the member's HeadAnchored events. For each entry, the latency is from its durable commit to
 * the moment the watcher sees an anchored head that covers it.
 *
 *   steady   RATE entries per second, one at a time, for SECONDS
 *   burst    32 appends in flight for BURST_SECONDS: entries appended, and appended+anchored, per second
 *
 * Also counts the anchor transactions, how many were unconfirmed at once, and any that failed.
 */

import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { connectChain, walletFor } from '../src/chain/clients.js';
import { deployContracts } from '../src/chain/deploy.js';
import { auditAnchorAbi } from '../src/chain/generated/index.js';
import { DEFAULT_ANCHOR_INTERVAL_MS } from '../src/node/anchorer.js';
import { createIdentity } from '../src/node/memberIdentity.js';
import { keyFileOf, openMemberNode, serveMemberNode } from '../src/node/memberNode.js';
import { startTestChain } from '../test/support/testChain.js';
import { benchLogInput } from './_logInput.js';
import { quantile } from './_stats.js';

const SECONDS = Number(process.env.BENCH_ANCHOR_SECONDS ?? 45);
const RATE = Number(process.env.BENCH_ANCHOR_RATE ?? 20);
const BURST_SECONDS = Number(process.env.BENCH_ANCHOR_BURST_SECONDS ?? 15);
const IN_FLIGHT = 32;
const BLOCK_TIME_SECONDS = 1;
const WATCH_POLL_MS = 25;
const PASS = 'bench passphrase';
const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');

const ms = (x: number) => Math.round(x);

function latencyStats(commitAt: number[], anchoredAt: number[], from: number, to: number) {
  const lat: number[] = [];
  for (let i = from; i < to; i++) lat.push((anchoredAt[i] as number) - (commitAt[i] as number));
  return {
    entries: lat.length,
    p50Ms: ms(quantile(lat, 0.5)),
    p90Ms: ms(quantile(lat, 0.9)),
    p99Ms: ms(quantile(lat, 0.99)),
    maxMs: ms(lat.reduce((a, b) => Math.max(a, b), 0)),
  };
}

export async function runAnchoringBench() {
  const loadBefore = loadavg();
  const t = await startTestChain({ memberCount: 1, blockTimeSeconds: BLOCK_TIME_SECONDS });
  let close: () => Promise<void> = async () => {};
  try {
    const dir = path.join(t.dir, 'member');
    const identity = createIdentity(keyFileOf(dir), PASS);
    const { manifest } = await deployContracts(t.conn, walletFor(t.conn, identity.chainKey), {
      genesis: [
        {
          account: identity.address,
          roles: 1,
          encryptionKey: identity.encryptionPublicKey,
          name: 'City Hospital',
          endpoint: 'http://127.0.0.1',
        },
      ],
      manifestFile: path.join(t.dir, 'consortium.json'),
    });
    const node = openMemberNode(dir, PASS, { manifest });
    // The node's default anchoring settings: this is what a deployment gets.
    const running = await serveMemberNode(node, { rpcUrl: t.chain.rpcUrl, replicate: false });
    close = async () => {
      await running.close();
      node.close();
    };

    // The watcher: its own connection, as an auditor's would be.
    const watch = await connectChain(t.chain.rpcUrl);
    const commitAt: number[] = [];
    const anchoredAt: number[] = [];
    let covered = 0;
    let watching = true;
    let mostUnconfirmed = 0;
    const unconfirmed = node.db.prepare(
      `SELECT COUNT(*) AS n FROM outbox WHERE key LIKE 'anchor:%' AND status = 'signed'`,
    );
    const watcher = (async () => {
      let seen = BigInt(manifest.deploymentBlock) - 1n;
      while (watching) {
        const latest = await watch.publicClient.getBlockNumber({ cacheTime: 0 });
        if (latest > seen) {
          const events = await watch.publicClient.getContractEvents({
            address: manifest.contracts.AuditAnchor,
            abi: auditAnchorAbi,
            eventName: 'HeadAnchored',
            args: { member: identity.address },
            fromBlock: seen + 1n,
            toBlock: latest,
          });
          const at = performance.now();
          for (const e of events) {
            const size = Number(e.args.treeSize);
            for (; covered < size; covered++) anchoredAt[covered] = at;
          }
          seen = latest;
        }
        mostUnconfirmed = Math.max(mostUnconfirmed, (unconfirmed.get() as { n: number }).n);
        await sleep(WATCH_POLL_MS);
      }
    })();
    const append = (i: number) =>
      node.log.append(benchLogInput(i)).then((r) => {
        commitAt[r.index] = performance.now();
      });
    const waitCovered = async (size: number) => {
      const deadline = Date.now() + 120_000;
      while (covered < size) {
        if (Date.now() > deadline) throw new Error(`waited 120 s for the anchored head to reach ${size}`);
        await sleep(10);
      }
    };

    // Steady: RATE entries per second, on a fixed schedule (a late tick does not shift the rest).
    const steadyStart = performance.now();
    const steadyCount = Math.round(SECONDS * RATE);
    const pending: Promise<void>[] = [];
    for (let i = 0; i < steadyCount; i++) {
      const wait = steadyStart + (i * 1000) / RATE - performance.now();
      if (wait > 0) await sleep(wait);
      pending.push(append(i));
    }
    await Promise.all(pending);
    const steadySeconds = (performance.now() - steadyStart) / 1000;
    await waitCovered(node.log.size);
    const steadyEnd = node.log.size;

    // Burst: IN_FLIGHT appends always outstanding.
    const burstStart = performance.now();
    const burstUntil = burstStart + BURST_SECONDS * 1000;
    let next = steadyCount;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (performance.now() < burstUntil) await append(next++);
      }),
    );
    const appendedSeconds = (performance.now() - burstStart) / 1000;
    const burstEnd = node.log.size;
    await waitCovered(burstEnd);
    // Anchor times only grow with the index: the last entry's is the latest.
    const anchoredSeconds = ((anchoredAt[burstEnd - 1] as number) - burstStart) / 1000;
    watching = false;
    await watcher;
    // The node settles its last receipts a moment after the watcher saw the head.
    for (const deadline = Date.now() + 30_000; (unconfirmed.get() as { n: number }).n > 0; ) {
      if (Date.now() > deadline)
        throw new Error('waited 30 s for the node to settle its anchor transactions');
      await sleep(50);
    }

    const rows = node.db.prepare(`SELECT status, block FROM outbox WHERE key LIKE 'anchor:%'`).all() as {
      status: string;
      block: number | null;
    }[];
    const steady = latencyStats(commitAt, anchoredAt, 0, steadyEnd);
    const burst = latencyStats(commitAt, anchoredAt, steadyEnd, burstEnd);
    return {
      blockTimeSeconds: BLOCK_TIME_SECONDS,
      anchorIntervalMs: DEFAULT_ANCHOR_INTERVAL_MS,
      steady: { ...steady, ratePerSec: Number((steady.entries / steadySeconds).toFixed(1)) },
      burst: {
        ...burst,
        inFlight: IN_FLIGHT,
        appendedPerSec: Math.round((burstEnd - steadyEnd) / appendedSeconds),
        appendedAndAnchoredPerSec: Math.round((burstEnd - steadyEnd) / anchoredSeconds),
      },
      anchorTransactions: rows.length,
      confirmed: rows.filter((r) => r.status === 'confirmed').length,
      failed: rows.filter((r) => r.status === 'failed').length,
      blocksWithAnchors: new Set(rows.map((r) => r.block)).size,
      mostUnconfirmedAtOnce: mostUnconfirmed,
      anchorRounds: running.anchorer?.stats.rounds ?? 0,
      watchPollMs: WATCH_POLL_MS,
      loadAverage: {
        before: loadBefore.map((x) => Number(x.toFixed(2))),
        after: loadavg().map((x) => Number(x.toFixed(2))),
      },
    };
  } finally {
    await close();
    await t.close();
  }
}

export async function main(): Promise<void> {
  const r = await runAnchoringBench();
  const table = [
    '| measure | value |',
    '|---|---:|',
    `| steady: entries/s appended | ${r.steady.ratePerSec} |`,
    `| steady: commit -> anchored p50 / p90 / p99 / max, ms | ${r.steady.p50Ms} / ${r.steady.p90Ms} / ${r.steady.p99Ms} / ${r.steady.maxMs} |`,
    `| burst (${r.burst.inFlight} appends in flight): entries/s appended | ${r.burst.appendedPerSec} |`,
    `| burst: entries/s appended and anchored | ${r.burst.appendedAndAnchoredPerSec} |`,
    `| burst: commit -> anchored p50 / p90 / p99 / max, ms | ${r.burst.p50Ms} / ${r.burst.p90Ms} / ${r.burst.p99Ms} / ${r.burst.maxMs} |`,
    `| anchor transactions (confirmed / failed) | ${r.anchorTransactions} (${r.confirmed} / ${r.failed}) |`,
    `| blocks holding them | ${r.blocksWithAnchors} |`,
    `| most anchors unconfirmed at once | ${r.mostUnconfirmedAtOnce} |`,
  ].join('\n');
  const meta = {
    bench: 'anchoring',
    date: new Date().toISOString(),
    node: process.version,
    seconds: SECONDS,
    rate: RATE,
    burstSeconds: BURST_SECONDS,
  };
  writeFileSync(path.join(outDir, 'anchoring.json'), `${JSON.stringify({ ...meta, results: r }, null, 2)}\n`);
  writeFileSync(
    path.join(outDir, 'anchoring.md'),
    `# Anchoring latency\n\n${meta.date}, ${meta.node}, embedded chain with ${r.blockTimeSeconds} s blocks, ` +
      `anchor interval ${r.anchorIntervalMs} ms (the default); steady ${RATE} entries/s for ${SECONDS} s, ` +
      `then ${r.burst.inFlight} appends in flight for ${BURST_SECONDS} s. Latency: from an entry's durable commit ` +
      `until a watcher polling the chain every ${r.watchPollMs} ms sees a HeadAnchored head covering it. ` +
      `Load average (1/5/15 min) before ${r.loadAverage.before.join(' ')}, after ${r.loadAverage.after.join(' ')} ` +
      `on a machine shared with other test runs.\n\n${table}\n`,
  );
  process.stdout.write(`${table}\n\nwrote bench/results/anchoring.json and bench/results/anchoring.md\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
