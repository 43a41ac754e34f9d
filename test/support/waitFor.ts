/**
 * Test support: wait for a condition, with a deadline generous enough for a loaded machine, and a
 * failure that says what was awaited. Multi-process tests wait with this, never with fixed sleeps.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The default deadline: what takes a second on a quiet machine can take over a minute on a 2-core
 * machine at load average 10 (other test files, CI, benchmarks side by side).
 */
export const WAIT_DEADLINE_MS = 180_000;

/** Poll `cond` every `intervalMs` until it holds; fail naming `what` after `deadlineMs`. */
export async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  deadlineMs = WAIT_DEADLINE_MS,
  intervalMs = 100,
): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (await cond()) return;
    if (Date.now() - started > deadlineMs)
      throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
