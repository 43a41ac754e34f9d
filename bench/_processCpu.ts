/**
 * CPU time a process has used so far, from /proc/<pid>/stat (all its threads: GC, libuv, SQLite
 * included), for benches that time node processes they started. Linux only; NaN elsewhere.
 */
import { readFileSync } from 'node:fs';

/** USER_HZ: the unit of /proc times (100 on Linux everywhere in practice). */
const CLOCK_TICKS = 100;

/** User and system CPU time (ms) of process `pid` so far. */
export function processCpuMs(pid: number | undefined): { user: number; sys: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at state: utime is the 12th.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: (Number(f[11]) * 1000) / CLOCK_TICKS, sys: (Number(f[12]) * 1000) / CLOCK_TICKS };
  } catch {
    return { user: Number.NaN, sys: Number.NaN };
  }
}
