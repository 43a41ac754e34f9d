/**
 * Runs a member node as its own process (`medchain node --dir <memberDir>`), as `medchain up` does
 * for each member, and waits for the line that says where it listens.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MedchainError } from '../errors.js';

export interface NodeProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/medchain.mjs');

export function spawnNodeProcess(
  memberDir: string,
  passphrase: string,
  opts: { timeoutMs?: number; rpcUrl?: string; manifestFile?: string } = {},
): Promise<NodeProcess> {
  const chainArgs =
    opts.rpcUrl && opts.manifestFile ? ['--rpc-url', opts.rpcUrl, '--manifest', opts.manifestFile] : [];
  const child = spawn(process.execPath, [BIN, 'node', '--dir', memberDir, '--port', '0', ...chainArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MEDCHAIN_PASSPHRASE: passphrase },
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new MedchainError(
          'node-start-timeout',
          `the node in ${memberDir} did not start: ${output.trim().slice(-300)}`,
        ),
      );
    }, opts.timeoutMs ?? 30_000);
    const onData = (c: Buffer) => {
      output += c.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        resolve({
          url: m[1] as string,
          child,
          stop: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            await exited;
          },
        });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(
        new MedchainError(
          'node-start-failed',
          `the node in ${memberDir} exited (${code}): ${output.trim().slice(-300)}`,
        ),
      );
    });
  });
}
