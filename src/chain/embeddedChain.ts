/**
 * The embedded chain: anvil from the `@foundry-rs/anvil` npm package, on 127.0.0.1 and a free port,
 * with its state in a file so a restart (even after kill -9) keeps blocks, transactions and events.
 *
 * This is the ONLY module that knows it talks to anvil. Everything else uses standard Ethereum
 * JSON-RPC so that a node runs unchanged against Hyperledger Besu (see docs/deploy-besu.md).
 * Like Besu QBFT in production, the embedded chain runs with a zero gas price, so member accounts
 * need no funding. The state folder is owner-only (0700) and anvil runs with umask 077, so the
 * state file it writes is 0600.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, renameSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { securePrivateDir } from '../util/privateFiles.js';
import { ChainError } from './chainError.js';

export interface EmbeddedChainOptions {
  /** Directory that holds the state file (`anvil-state.json`). */
  dataDir: string;
  /** Chain id of a new chain (ignored when resuming from a state file that has one). */
  chainId?: number;
  /** Seconds between state dumps; bounds what a kill -9 can lose. Default 1. */
  stateIntervalSeconds?: number;
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** How long to wait for anvil to listen. Default 60 s (a second when quiet; far more on a loaded machine). */
  startTimeoutMs?: number;
  /**
   * Mine a block every this many seconds, as a Besu QBFT network does (its block period), instead
   * of one block per transaction the moment it arrives (anvil's automine, the default).
   */
  blockTimeSeconds?: number;
}

export interface EmbeddedChain {
  readonly rpcUrl: string;
  readonly chainId: number;
  readonly stateFile: string;
  readonly pid: number;
  /** Graceful stop: anvil dumps its state, then exits. */
  stop(): Promise<void>;
  /** Hard kill (SIGKILL), as a crash would; for tests of crash recovery. */
  kill(): Promise<void>;
}

export const DEFAULT_CHAIN_ID = 31337;

/** Absolute path of the anvil binary shipped by the platform package of @foundry-rs/anvil. */
export function anvilBinaryPath(): string {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`;
  const require = createRequire(import.meta.url);
  try {
    const dir = path.dirname(require.resolve(`${pkg}/package.json`));
    return path.join(dir, 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
  } catch (cause) {
    throw new ChainError(
      'anvil-missing',
      `anvil is not installed for ${process.platform}/${arch}; run npm install`,
      {
        cause,
      },
    );
  }
}

/** Start anvil (resuming from `<dataDir>/anvil-state.json` when it exists) and wait until it listens. */
export async function launchEmbeddedChain(opts: EmbeddedChainOptions): Promise<EmbeddedChain> {
  if (opts.blockTimeSeconds !== undefined && !(opts.blockTimeSeconds > 0)) {
    throw new ChainError(
      'chain-options',
      `block time must be a positive number of seconds, not ${opts.blockTimeSeconds}`,
    );
  }
  securePrivateDir(opts.dataDir, { create: true });
  const stateFile = path.join(opts.dataDir, 'anvil-state.json');
  // A state file cut short by a crash mid-dump cannot be loaded; keep it aside rather than lose it
  // silently, and start from the last good dump anvil wrote (anvil writes whole files each interval).
  if (existsSync(stateFile) && statSync(stateFile).size === 0) {
    renameSync(stateFile, `${stateFile}.empty-${Date.now()}`);
  }
  const chainId = opts.chainId ?? DEFAULT_CHAIN_ID;
  const [command, args] = withPrivateUmask(anvilBinaryPath(), buildArgs(opts, stateFile, chainId));
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const rpcUrl = await waitForListening(child, opts.startTimeoutMs ?? 60_000);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid ?? -1;
  let stopped = false;
  const terminate = async (signal: NodeJS.Signals) => {
    if (stopped) return exited;
    stopped = true;
    child.kill(signal);
    await exited;
  };
  return {
    rpcUrl,
    chainId,
    stateFile,
    pid,
    stop: () => terminate('SIGTERM'),
    kill: () => terminate('SIGKILL'),
  };
}

/**
 * Run `bin` under umask 077 so every file it creates (the state file) is owner-only. Node can set
 * the umask only for its whole process, so a POSIX shell sets it and `exec`s anvil (same pid, same
 * signals). On Windows, modes do not apply and anvil runs directly.
 */
function withPrivateUmask(bin: string, args: string[]): [string, string[]] {
  if (process.platform === 'win32') return [bin, args];
  return ['/bin/sh', ['-c', 'umask 077 && exec "$0" "$@"', bin, ...args]];
}

function buildArgs(opts: EmbeddedChainOptions, stateFile: string, chainId: number): string[] {
  return [
    ['--host', '127.0.0.1'],
    ['--port', String(opts.port ?? 0)],
    ['--chain-id', String(chainId)],
    ['--state', stateFile],
    ['--state-interval', String(opts.stateIntervalSeconds ?? 1)],
    // No prefunded dev accounts: members sign with their own keys at a zero gas price, as on Besu.
    ['--accounts', '0'],
    ['--base-fee', '0'],
    ['--gas-price', '0'],
    ['--disable-min-priority-fee'],
    opts.blockTimeSeconds === undefined ? [] : ['--block-time', String(opts.blockTimeSeconds)],
  ].flat();
}

function waitForListening(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new ChainError('chain-start-timeout', `anvil did not start within ${timeoutMs} ms`, {
          details: [tail(output)],
        }),
      );
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /Listening on (127\.0\.0\.1:\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        // Keep draining output so anvil never blocks on a full pipe.
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(`http://${m[1]}`);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(
        new ChainError('chain-start-failed', `anvil exited with code ${code} before listening`, {
          details: [tail(output)],
        }),
      );
    });
    child.once('error', (cause) => {
      clearTimeout(timer);
      reject(new ChainError('chain-start-failed', `could not run anvil: ${cause.message}`, { cause }));
    });
  });
}

function tail(s: string): string {
  return s.split('\n').slice(-10).join('\n');
}
