/** Test support: `medchain up` as its own process, waiting for its ready line. */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/medchain.mjs');

/** How long `medchain up` may take to say it is ready. */
export const UP_DEADLINE_MS = 600_000;

/** Every `medchain up` this process started and that has not exited yet. */
const live = new Set<ChildProcess>();

/** Stop every network still running (an after() hook: a failed assertion must leave nothing behind). */
export async function stopAllUp(): Promise<void> {
  await Promise.all([...live].map((c) => stopUp(c)));
}

export function startUp(
  dataDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [bin, 'up', '--dir', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let output = '';
  child.stdout?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  return new Promise((resolve, reject) => {
    // Generous: seeding 20 patients and the supply chain, and starting seven node processes, takes about a minute on a
    // 2-core machine at load average 10 (and a few times that when it is busier still).
    const timer = setTimeout(() => {
      child.kill('SIGINT'); // it stops its chain and nodes; leave nothing running behind a failed test
      reject(
        new Error(`medchain up did not get ready within ${UP_DEADLINE_MS / 1000} s; its output:\n${output}`),
      );
    }, UP_DEADLINE_MS);
    child.stdout?.on('data', () => {
      if (output.includes('Press Ctrl-C to stop')) {
        clearTimeout(timer);
        resolve({ child, output: () => output });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`medchain up exited with ${code}; its output:\n${output}`));
    });
  });
}

export function stopUp(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGINT');
  });
}

/** Run the CLI in process, capturing its output lines (for tests). */
export async function runCliCaptured(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const { runCli } = await import('../../src/cli/main.js');
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}
