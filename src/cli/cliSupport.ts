/** Shared helpers of the CLI commands: output, files, passphrases, the local network file. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type DeploymentManifest, parseManifest, readManifest } from '../chain/manifest.js';
import { InvalidInputError } from '../errors.js';
import type { NetworkFile } from '../node/localNetwork.js';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

export const defaultIo: CliIo = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
};

/** A check found problems (already printed): exit 1 without another message. */
export class VerifyFailed extends Error {}

export function readJson(file: string): unknown {
  if (!existsSync(file)) throw new InvalidInputError(`${file} does not exist`);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new InvalidInputError(`${file} is not valid JSON`, { cause });
  }
}

/** The passphrase of a key file: --passphrase-file, else $MEDCHAIN_PASSPHRASE. */
export function passphraseFrom(opts: { passphraseFile?: string }): string {
  if (opts.passphraseFile) {
    if (!existsSync(opts.passphraseFile))
      throw new InvalidInputError(`${opts.passphraseFile} does not exist`);
    return readFileSync(opts.passphraseFile, 'utf8').replace(/\r?\n$/, '');
  }
  const env = process.env.MEDCHAIN_PASSPHRASE;
  if (env) return env;
  throw new InvalidInputError(
    'give the key file passphrase: set MEDCHAIN_PASSPHRASE or pass --passphrase-file <file>',
  );
}

export function waitForSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const onSignal = () => resolve();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}

export function readManifestFile(file: string): DeploymentManifest {
  const m = readManifest(file);
  if (!m) throw new InvalidInputError(`${file} does not exist`);
  return m;
}

/** The network file written by `medchain up`, with its chain as a deployment manifest. */
export function readNetwork(file: string): { net: NetworkFile; manifest: DeploymentManifest } {
  const net = readJson(file) as NetworkFile;
  const manifest = parseManifest({ version: 1, quorumPercent: 0, ...net?.chain }, path.resolve(file));
  if (!Array.isArray(net.members)) throw new InvalidInputError(`${file}: members missing`);
  return { net, manifest };
}
