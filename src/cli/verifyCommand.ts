/**
 * `medchain verify`: check members' records against their logs, and each log against the heads it
 * anchored on chain. By default the whole local network (`./data`: every member, the chain read
 * from network.json); `--dir` also takes one member's folder.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { type ChainConnection, connectChain } from '../chain/clients.js';
import type { DeploymentManifest } from '../chain/manifest.js';
import { errorMessage, InvalidInputError } from '../errors.js';
import { readPublicIdentity } from '../node/memberIdentity.js';
import { dbFileOf, keyFileOf, verifyMemberNode } from '../node/memberNode.js';
import { openDatabase } from '../store/database.js';
import { NODE_MIGRATIONS } from '../store/nodeSchema.js';
import { type CliIo, readManifestFile, readNetwork, VerifyFailed } from './cliSupport.js';

interface Target {
  /** The member's name when known (from network.json), else its folder. */
  name: string;
  dir: string;
}

interface ChainSource {
  manifest: DeploymentManifest;
  /** RPC URLs to try in turn (network.json names one member's /rpc; any member's serves). */
  urls: string[];
  /** Where the chain details came from, for messages. */
  from: string;
  /** Given on the command line: failing to reach it is an error, not a note. */
  explicit: boolean;
}

/** What `--dir` names: the data folder of `medchain up`, or one member's folder. */
function targetsOf(dir: string): { targets: Target[]; network?: string } {
  if (existsSync(keyFileOf(dir))) {
    // A member folder of the local network (<data>/members/<slug>) finds the network file itself.
    const network = path.resolve(dir, '..', '..', 'network.json');
    if (existsSync(network)) {
      const { net } = readNetwork(network);
      const slug = path.basename(path.resolve(dir));
      const m = net.members.find((x) => x.slug === slug);
      if (m) return { targets: [{ name: m.name, dir }], network };
    }
    return { targets: [{ name: dir, dir }] };
  }
  const network = path.join(dir, 'network.json');
  if (existsSync(network)) {
    const { net } = readNetwork(network);
    return {
      targets: net.members.map((m) => ({ name: m.name, dir: path.join(dir, 'members', m.slug) })),
      network,
    };
  }
  const members = path.join(dir, 'members');
  if (existsSync(members)) {
    const targets = readdirSync(members)
      .map((slug) => ({ name: slug, dir: path.join(members, slug) }))
      .filter((t) => existsSync(keyFileOf(t.dir)));
    if (targets.length > 0) return { targets };
  }
  throw new InvalidInputError(
    `${dir} is neither the data folder of \`medchain up\` (no network.json; run npm start first) nor a member folder (no keys.json)`,
  );
}

function chainSource(
  opts: { rpcUrl?: string; manifest?: string },
  network: string | undefined,
): ChainSource | undefined {
  if (opts.rpcUrl && opts.manifest)
    return {
      manifest: readManifestFile(opts.manifest),
      urls: [opts.rpcUrl],
      from: opts.rpcUrl,
      explicit: true,
    };
  if (!network) return undefined;
  const { net, manifest } = readNetwork(network);
  const urls = [net.chain.rpcUrl, ...net.members.map((m) => `${m.url}/rpc`)];
  return { manifest, urls: [...new Set(urls)], from: network, explicit: false };
}

/** Connect through the first URL that answers; undefined (with a note) when none does. */
async function connect(src: ChainSource, io: CliIo): Promise<ChainConnection | undefined> {
  let last: unknown;
  for (const url of src.urls) {
    try {
      return await connectChain(url, { expectedChainId: src.manifest.chainId });
    } catch (err) {
      last = err;
    }
  }
  if (src.explicit) throw last;
  io.out(
    `cannot reach the chain of ${src.from} (${errorMessage(last)}): is the network running (npm start)? Checking records against each log only, not the logs against the heads anchored on chain`,
  );
  return undefined;
}

export function registerVerifyCommand(program: Command, io: CliIo): void {
  program
    .command('verify')
    .description(
      "check members' records against their logs, and each log against the heads it anchored on chain (default: every member of the local network in ./data)",
    )
    .option(
      '--dir <dir>',
      'the data folder of `medchain up` (every member; the chain from its network.json), or one member folder',
      './data',
    )
    .option('--rpc-url <url>', 'chain JSON-RPC endpoint (with --manifest; default: from network.json)')
    .option('--manifest <file>', 'deployment manifest (deployment.json)')
    .action(async (opts: { dir: string; rpcUrl?: string; manifest?: string }) => {
      if (Boolean(opts.rpcUrl) !== Boolean(opts.manifest))
        throw new InvalidInputError('give both --rpc-url and --manifest, or neither');
      const { targets, network } = targetsOf(opts.dir);
      const src = chainSource(opts, network);
      const conn = src ? await connect(src, io) : undefined;
      if (!src)
        io.out('no chain given: checking records against the log only, not the log against anchored heads');
      const chain = conn && src ? { conn, manifest: src.manifest } : undefined;
      const many = targets.length > 1;
      const totals = { entries: 0, recordVersions: 0, anchoredHeads: 0, problems: 0 };
      for (const t of targets) {
        const prefix = many ? `${t.name}: ` : '';
        const identity = readPublicIdentity(keyFileOf(t.dir));
        if (!existsSync(dbFileOf(t.dir))) throw new InvalidInputError(`${dbFileOf(t.dir)} does not exist`);
        const db = openDatabase(dbFileOf(t.dir), NODE_MIGRATIONS);
        try {
          let lastPct = -1;
          const report = await verifyMemberNode({ db, identity }, chain, (phase, done, total) => {
            const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
            if (pct >= lastPct + 25 || done === total) {
              lastPct = pct;
              io.err(`${prefix}verifying ${phase}: ${done}/${total}`);
            }
          });
          for (const p of report.problems) io.out(`${prefix}problem ${p.kind}: ${p.where}: ${p.detail}`);
          const c = report.checked;
          io.out(
            `${prefix}${report.ok ? 'ok' : 'FAILED'}: ${c.entries} log entries, ${c.recordVersions} record versions, ${c.anchoredHeads} anchored heads checked; ${report.problems.length} problem(s)`,
          );
          totals.entries += c.entries;
          totals.recordVersions += c.recordVersions;
          totals.anchoredHeads += c.anchoredHeads;
          totals.problems += report.problems.length;
        } finally {
          db.close();
        }
      }
      if (many)
        io.out(
          `${totals.problems === 0 ? 'ok' : 'FAILED'}: ${targets.length} members, ${totals.entries} log entries, ${totals.recordVersions} record versions, ${totals.anchoredHeads} anchored heads checked; ${totals.problems} problem(s)${chain ? '' : '; anchors NOT checked (no chain)'}`,
        );
      if (totals.problems > 0) throw new VerifyFailed();
    });
}
