/**
 * Durable log appends of this checkout against another (BENCH_BASE: a checkout of the code before,
 * e.g. `git worktree add --detach ../base <commit>` with node_modules linked), in one process, in
 * alternating rounds, so that both see the same machine: group commit at BENCH_IN_FLIGHT (32)
 * appends in flight, BENCH_ROUNDS (20) rounds of BENCH_PER_ROUND (4,000) entries each, after one
 * untimed round of each (the JIT's warm-up). Reports the
 * median rate of each, the median of the per-round ratios, and the CPU the event loop's thread
 * used per entry (Linux: /proc/<pid>/task/<pid>/schedstat, on-CPU time of the main thread only),
 * which a busy machine disturbs less than the rate. Prints; writes nothing.
 *
 *   BENCH_BASE=../base node --import tsx bench/logSideBySide.ts
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LogInput } from '../src/log/transparencyLog.js';
import { BENCH_MEMBER, benchLogInput } from './_logInput.js';
import { median } from './_stats.js';

const BASE = process.env.BENCH_BASE;
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 4000);
const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Nanoseconds the main thread has been on a CPU (NaN where /proc has no schedstat). */
function mainThreadNs(): number {
  try {
    return Number(readFileSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return Number.NaN;
  }
}

interface Appender {
  append(input: LogInput): Promise<unknown>;
}

/** A log of the checkout at `root` on a fresh store in `dir`. */
async function openLog(root: string, dir: string, name: string): Promise<Appender> {
  const { TransparencyLog } = await import(path.join(root, 'src/log/transparencyLog.ts'));
  const { openDatabase } = await import(path.join(root, 'src/store/database.ts'));
  const { NODE_MIGRATIONS } = await import(path.join(root, 'src/store/nodeSchema.ts'));
  return new TransparencyLog(openDatabase(path.join(dir, `${name}.db`), NODE_MIGRATIONS), BENCH_MEMBER);
}

export async function main(): Promise<void> {
  if (!BASE) throw new Error('set BENCH_BASE to a checkout of the code to compare with');
  const dir = mkdtempSync(path.join(tmpdir(), 'medchain-logsbs-'));
  try {
    const logs = {
      before: await openLog(path.resolve(BASE), dir, 'before'),
      now: await openLog(here, dir, 'now'),
    };
    const rate = { before: [] as number[], now: [] as number[] };
    const cpu = { before: [] as number[], now: [] as number[] };
    const load = [loadavg()];
    let n = 0;
    for (let round = -1; round < ROUNDS; round++) {
      for (const k of round % 2 === 0 ? (['before', 'now'] as const) : (['now', 'before'] as const)) {
        const log = logs[k];
        const c0 = mainThreadNs();
        const t0 = performance.now();
        for (let i = 0; i < PER_ROUND; i += IN_FLIGHT)
          await Promise.all(
            Array.from({ length: Math.min(IN_FLIGHT, PER_ROUND - i) }, (_, m) =>
              log.append(benchLogInput(n + i + m)),
            ),
          );
        if (round < 0) continue; // warm-up
        rate[k].push(PER_ROUND / ((performance.now() - t0) / 1000));
        cpu[k].push((mainThreadNs() - c0) / 1000 / PER_ROUND);
      }
      n += PER_ROUND;
    }
    load.push(loadavg());
    const ratio = (xs: number[], ys: number[]) => median(xs.map((x, i) => x / (ys[i] as number)));
    process.stdout.write(
      [
        `${ROUNDS} alternating rounds of ${PER_ROUND} durable appends, ${IN_FLIGHT} in flight; load average ${load.map((l) => l.map((x) => x.toFixed(2)).join(' ')).join(' -> ')}`,
        `appends/s, median: before ${Math.round(median(rate.before))}, now ${Math.round(median(rate.now))}; per-round ratio now/before, median ${ratio(rate.now, rate.before).toFixed(3)}`,
        `main-thread CPU us/entry, median: before ${median(cpu.before).toFixed(2)}, now ${median(cpu.now).toFixed(2)}; per-round ratio now/before, median ${ratio(cpu.now, cpu.before).toFixed(3)}`,
        '',
      ].join('\n'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
