/**
 * What the embedded chain's periodic state dump costs as its history grows (docs/architecture.md
 * "Not yet built"): a test chain (anvil with `--state` and `--state-interval 1`, as `medchain up`
 * runs it), then BATCHES rounds of 300 transactions of 40 KB of calldata each (about a decide
 * transaction of 100 claims); after each round, the state file's size and anvil's CPU over 5 s
 * with nothing sent. Prints; writes nothing.
 *
 *   node --import tsx bench/anvilState.ts      (BENCH_ANVIL_ROUNDS, default 3)
 */
import { statSync } from 'node:fs';
import { startTestChain } from '../test/support/testChain.js';
import { processCpuMs } from './_processCpu.js';

const ROUNDS = Number(process.env.BENCH_ANVIL_ROUNDS ?? 3);
const PER_ROUND = 300;
const IDLE_MS = 5_000;

export async function main(): Promise<void> {
  const t = await startTestChain({ memberCount: 1 });
  try {
    const wallet = t.members[0]?.wallet;
    if (!wallet) throw new Error('the test chain has no member');
    const data = `0x${'ab'.repeat(40_000)}` as const;
    const idle = async (label: string) => {
      const c0 = processCpuMs(t.chain.pid);
      // The file is rewritten in place every second: its largest size over the window.
      let bytes = 0;
      for (let waited = 0; waited < IDLE_MS; waited += 250) {
        await new Promise((r) => setTimeout(r, 250));
        // Absent for a moment while anvil replaces it (and before its first dump).
        bytes = Math.max(bytes, statSync(t.chain.stateFile, { throwIfNoEntry: false })?.size ?? 0);
      }
      const c1 = processCpuMs(t.chain.pid);
      const cpu = (c1.user + c1.sys - c0.user - c0.sys) / (IDLE_MS / 1000);
      const mb = bytes / 1e6;
      process.stdout.write(
        `${label}: state file ${mb.toFixed(1)} MB, anvil idle ${cpu.toFixed(0)} ms of CPU a second\n`,
      );
    };
    await idle('fresh chain');
    for (let k = 1; k <= ROUNDS; k++) {
      let last: `0x${string}` | undefined;
      for (let i = 0; i < PER_ROUND; i++)
        last = await wallet.sendTransaction({
          to: '0x000000000000000000000000000000000000dEaD',
          data,
          gas: 2_000_000n,
          gasPrice: 0n,
          type: 'legacy',
        });
      if (last) await t.conn.publicClient.waitForTransactionReceipt({ hash: last });
      await idle(`after ${k * PER_ROUND} transactions of 40 KB`);
    }
  } finally {
    await t.close();
  }
}

await main();
