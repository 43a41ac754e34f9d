/**
 * Runs a member node as its own process (`medchain node --dir <memberDir>`), as `medchain up` does
 * for each member, and waits for the line that says where it listens. When the node does not
 * start, the error says why: its own last lines of output, or that it printed nothing in time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeStartError } from '../errors.js';

export interface NodeProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface SpawnNodeOptions {
  /** Who the node is, for messages (default: its folder). */
  label?: string;
  /** Port on 127.0.0.1 (default 0: any free port). */
  port?: number;
  /**
   * How long to wait for the node to say it listens. Default 120 s: a node starts in a few seconds
   * on a quiet machine, but compiling the CLI and loading the FHIR definitions on a loaded 2-core
   * machine (load average 10) has taken over 30.
   */
  timeoutMs?: number;
  rpcUrl?: string;
  manifestFile?: string;
  /**
   * Each line the node writes to stderr once it runs (errors of a running node would otherwise be
   * lost), and a line when it exits on its own.
   */
  onOutput?: (line: string) => void;
}

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/medchain.mjs');

export const DEFAULT_NODE_START_TIMEOUT_MS = 120_000;

/** The last lines of a process's output, for an error message (at most 20 lines, 2,000 characters). */
export function outputTail(output: string): string {
  const text = output.trim();
  if (text === '') return '(it printed nothing)';
  return text.split('\n').slice(-20).join('\n').slice(-2000);
}

export function spawnNodeProcess(
  memberDir: string,
  passphrase: string,
  opts: SpawnNodeOptions = {},
): Promise<NodeProcess> {
  const label = opts.label ?? `the node in ${memberDir}`;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_NODE_START_TIMEOUT_MS;
  const chainArgs =
    opts.rpcUrl && opts.manifestFile ? ['--rpc-url', opts.rpcUrl, '--manifest', opts.manifestFile] : [];
  const child = spawn(
    process.execPath,
    [BIN, 'node', '--dir', memberDir, '--port', String(opts.port ?? 0), ...chainArgs],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MEDCHAIN_PASSPHRASE: passphrase },
    },
  );
  let output = '';
  let started = false;
  let stopping = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new NodeStartError(
          'node-start-timeout',
          `${label} did not say it was listening within ${Math.round(timeoutMs / 1000)} s; its output: ${outputTail(output)}`,
        ),
      );
    }, timeoutMs);
    const onData = (c: Buffer) => {
      output += c.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (!m) return;
      clearTimeout(timer);
      started = true;
      child.stdout?.off('data', onData);
      child.stdout?.resume(); // keep draining so the node never blocks on a full pipe
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      resolve({
        url: m[1] as string,
        child,
        stop: async () => {
          stopping = true;
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    };
    child.stdout?.on('data', onData);
    let pending = '';
    child.stderr?.on('data', (c: Buffer) => {
      const text = c.toString();
      output += text;
      if (!started || !opts.onOutput) return;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) if (l.trim() !== '') opts.onOutput(l);
    });
    child.once('error', (cause) => {
      clearTimeout(timer);
      reject(new NodeStartError('node-start-failed', `${label} could not be run: ${cause.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const how = signal ? `was killed (${signal})` : `exited with code ${code}`;
      if (started) {
        if (!stopping) opts.onOutput?.(`${how}; restart the network to bring it back`);
        return;
      }
      reject(
        new NodeStartError('node-start-failed', `${label} ${how} before listening: ${outputTail(output)}`),
      );
    });
  });
}
