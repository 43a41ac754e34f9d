/**
 * The `medchain` command. Every failure prints one line ("medchain: <what to do>") and exits
 * non-zero; no stack traces for bad input.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Help, type Option } from 'commander';
import { getAddress, isAddress, isHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { memberAuthHeader } from '../access/memberAuth.js';
import { isUserRole, USER_ROLES } from '../access/roles.js';
import { connectChain, walletFor } from '../chain/clients.js';
import { consortiumContracts } from '../chain/contracts.js';
import { deployContracts, type MemberInput } from '../chain/deploy.js';
import { parseManifest } from '../chain/manifest.js';
import { maskToRoles, rolesToMask } from '../chain/scopes.js';
import { hashPassword } from '../crypto/password.js';
import { errorMessage, InvalidInputError } from '../errors.js';
import { verifyDisclosures } from '../log/disclosures.js';
import { httpPeerLog, monitorPeer } from '../log/monitor.js';
import { DEFAULT_ANCHOR_INTERVAL_MS } from '../node/anchorer.js';
import { DEMO_PASSPHRASE, type NetworkFile, startLocalNetwork } from '../node/localNetwork.js';
import {
  addKek,
  createIdentity,
  loadIdentity,
  readPublicIdentity,
  retireOldKeks,
} from '../node/memberIdentity.js';
import {
  chainHeads,
  DEFAULT_PORTAL_DIR,
  keyFileOf,
  openMemberNode,
  serveMemberNode,
  servingProcess,
} from '../node/memberNode.js';
import { importPath } from '../records/importer.js';
import { registerClaimsCommands } from './claimsCommands.js';
import {
  type CliIo,
  defaultIo,
  passphraseFrom,
  readJson,
  readManifestFile,
  VerifyFailed,
  waitForSignal,
} from './cliSupport.js';
import { registerConsentCommands } from './consentCommands.js';
import { registerVerifyCommand } from './verifyCommand.js';

/**
 * Parse a genesis file: a JSON array of {name, roles: string[], endpoint} plus either
 * {account, encryptionKey} (public halves) or {keyFile} (an identity file made by `medchain keygen`).
 */
function readGenesis(file: string): MemberInput[] {
  const v = readJson(file);
  if (!Array.isArray(v) || v.length === 0)
    throw new InvalidInputError(`${file}: expected a non-empty JSON array of members`);
  return v.map((m: Record<string, unknown>, i) => {
    const where = `${file}[${i}]`;
    if (typeof m.name !== 'string' || m.name.length === 0)
      throw new InvalidInputError(`${where}: name is required`);
    if (typeof m.endpoint !== 'string') throw new InvalidInputError(`${where}: endpoint is required`);
    if (!Array.isArray(m.roles))
      throw new InvalidInputError(`${where}: roles must be an array such as ["HOSPITAL"]`);
    const roles = rolesToMask(m.roles as string[]);
    if (typeof m.account === 'string' || typeof m.encryptionKey === 'string') {
      // Public halves only: what other founding members share with the deployer.
      if (typeof m.account !== 'string' || !isAddress(m.account))
        throw new InvalidInputError(`${where}: account must be an address`);
      if (typeof m.encryptionKey !== 'string' || !isHex(m.encryptionKey) || m.encryptionKey.length !== 66) {
        throw new InvalidInputError(`${where}: encryptionKey must be a 32-byte hex X25519 public key`);
      }
      return {
        account: m.account,
        roles,
        encryptionKey: m.encryptionKey,
        name: m.name,
        endpoint: m.endpoint,
      };
    }
    if (typeof m.keyFile !== 'string') {
      throw new InvalidInputError(
        `${where}: give either account + encryptionKey, or keyFile (an identity file)`,
      );
    }
    const id = readPublicIdentity(path.resolve(path.dirname(file), m.keyFile));
    return {
      account: id.address,
      roles,
      encryptionKey: id.encryptionPublicKey,
      name: m.name,
      endpoint: m.endpoint,
    };
  });
}

export function buildCli(io: CliIo = defaultIo): Command {
  const program = new Command('medchain')
    .description(
      'Health record security for a consortium: encrypted records, patient consent, anchored audit logs.',
    )
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    // Commander's help does not say which options are required; every command's help does.
    .configureHelp({
      optionDescription(this: Help, o: Option) {
        const text = Help.prototype.optionDescription.call(this, o);
        return o.mandatory ? `${text} (required)` : text;
      },
    });

  program
    .command('up')
    .description('run the local network: embedded chain, contracts and the seven demo members (Ctrl-C stops)')
    .option('--dir <dir>', 'data directory', './data')
    .action(async (opts: { dir: string }) => {
      const started = Date.now();
      let step = 0;
      const net = await startLocalNetwork(opts.dir, (s) => io.out(`[${++step}] ${s}`), {
        onNodeOutput: (member, line) => io.err(`${member}: ${line}`),
      });
      io.out(
        `chain      ${net.chain.rpcUrl} (chain id ${net.manifest.chainId}, state in ${net.chain.stateFile})`,
      );
      io.out(
        `contracts  ${net.deployed ? 'deployed' : 'resumed'}: ${Object.entries(net.manifest.contracts)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
      for (const m of net.members)
        io.out(`member     ${m.spec.name.padEnd(24)} ${m.identity.address} ${m.node?.url}/fhir`);
      io.out(`network    ${path.join(net.dir, 'network.json')} (demo users and passwords are listed there)`);
      const first = net.members[0]?.node?.url;
      if (first) {
        io.out(
          `portal     ${first}/  (every member serves it; patients: import a key file from ${path.join(net.dir, 'patients')})`,
        );
        if (!existsSync(path.join(DEFAULT_PORTAL_DIR, 'index.html')))
          io.out('portal     not built: run `npm run build:portal` (npm start does it), then reload');
      }
      if (!process.env.MEDCHAIN_PASSPHRASE) {
        io.out(
          `keys       demo passphrase "${DEMO_PASSPHRASE}" protects the member key files; set MEDCHAIN_PASSPHRASE for anything real`,
        );
      }
      io.out(`ready in ${Date.now() - started} ms. Press Ctrl-C to stop.`);
      await waitForSignal();
      io.out('stopping: member nodes, then the chain (saving its state)');
      await net.stop();
      io.out('stopped');
    });

  program
    .command('keygen')
    .description(
      'create a member key file (chain key, X25519 key, index key; passphrase-protected, mode 0600)',
    )
    .requiredOption('--out <file>', 'where to write the key file (e.g. <memberDir>/keys.json)')
    .option('--passphrase-file <file>', 'file holding the passphrase (default: $MEDCHAIN_PASSPHRASE)')
    .action((opts: { out: string; passphraseFile?: string }) => {
      if (existsSync(opts.out))
        throw new InvalidInputError(`${opts.out} exists; refusing to overwrite a key`);
      const identity = createIdentity(opts.out, passphraseFrom(opts));
      io.out(`address ${identity.address}`);
      io.out(`encryption key ${identity.encryptionPublicKey}`);
    });

  program
    .command('deploy')
    .description('deploy the consortium contracts to any EVM JSON-RPC (e.g. Hyperledger Besu); idempotent')
    .requiredOption('--rpc-url <url>', 'JSON-RPC endpoint')
    .requiredOption('--key-file <file>', "the deploying member's key file")
    .option('--passphrase-file <file>', 'file holding its passphrase (default: $MEDCHAIN_PASSPHRASE)')
    .requiredOption('--genesis <file>', 'JSON array of founding members')
    .option('--quorum <percent>', 'percent of members needed to admit or remove one', '51')
    .option('--manifest <file>', 'where to write the deployment manifest', './deployment.json')
    .action(
      async (opts: {
        rpcUrl: string;
        keyFile: string;
        genesis: string;
        quorum: string;
        manifest: string;
        passphraseFile?: string;
      }) => {
        const quorum = Number(opts.quorum);
        if (!Number.isInteger(quorum) || quorum < 1 || quorum > 100) {
          throw new InvalidInputError('--quorum must be an integer percent from 1 to 100');
        }
        const genesis = readGenesis(opts.genesis);
        const id = loadIdentity(opts.keyFile, passphraseFrom(opts));
        const conn = await connectChain(opts.rpcUrl);
        const r = await deployContracts(conn, walletFor(conn, id.chainKey), {
          genesis,
          quorumPercent: quorum,
          manifestFile: opts.manifest,
        });
        io.out(
          `${r.deployed ? 'deployed' : 'already deployed'} on chain ${r.manifest.chainId}; manifest ${opts.manifest}`,
        );
        for (const [k, v] of Object.entries(r.manifest.contracts)) io.out(`${k.padEnd(12)} ${v}`);
      },
    );

  program
    .command('node')
    .description(
      "run one member's node: encrypted store, FHIR API, transparency log anchored on chain (Ctrl-C stops)",
    )
    .requiredOption('--dir <dir>', 'member directory (holds keys.json and node.db)')
    .option('--port <port>', 'port on 127.0.0.1 (0 = any free port)', '0')
    .option('--rpc-url <url>', 'chain JSON-RPC endpoint (with --manifest: anchor the log there)')
    .option('--manifest <file>', 'deployment manifest (deployment.json)')
    .option(
      '--anchor-interval <ms>',
      'anchor a growing log this often (ms; one transaction per round, receipts not awaited)',
      String(DEFAULT_ANCHOR_INTERVAL_MS),
    )
    .option(
      '--public-rpc-url <url>',
      "chain JSON-RPC URL the portal's browsers read from, for a hardened public RPC of your own (default: this node's /rpc, which forwards only standard reads and eth_sendRawTransaction to --rpc-url)",
    )
    .option(
      '--passphrase-file <file>',
      'file holding the key file passphrase (default: $MEDCHAIN_PASSPHRASE)',
    )
    .action(
      async (opts: {
        dir: string;
        port: string;
        rpcUrl?: string;
        manifest?: string;
        anchorInterval: string;
        publicRpcUrl?: string;
        passphraseFile?: string;
      }) => {
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          throw new InvalidInputError('--port must be 0..65535');
        const interval = Number(opts.anchorInterval);
        if (!Number.isInteger(interval) || interval < 10)
          throw new InvalidInputError('--anchor-interval must be at least 10 ms');
        if (Boolean(opts.rpcUrl) !== Boolean(opts.manifest))
          throw new InvalidInputError('give both --rpc-url and --manifest, or neither');
        const manifest = opts.manifest ? readManifestFile(opts.manifest) : undefined;
        const node = openMemberNode(opts.dir, passphraseFrom(opts), manifest ? { manifest } : {});
        if (node.tightened.length > 0)
          io.err(`medchain: made owner-only (were open to group or others): ${node.tightened.join(', ')}`);
        const running = await serveMemberNode(node, {
          port,
          ...(opts.rpcUrl ? { rpcUrl: opts.rpcUrl } : {}),
          ...(opts.publicRpcUrl ? { publicRpcUrl: opts.publicRpcUrl } : {}),
          anchor: { intervalMs: interval },
        });
        io.out(`member ${node.identity.address} listening on ${running.url} (portal at ${running.url}/)`);
        if (!running.anchorer)
          io.out('log anchoring is off (no --rpc-url/--manifest): heads are signed but not anchored');
        await waitForSignal();
        await running.close();
        node.close();
      },
    );

  registerVerifyCommand(program, io);

  program
    .command('monitor')
    .description(
      "check another member's log against the heads it anchored on chain (detects a log rewritten after anchoring)",
    )
    .requiredOption('--dir <dir>', 'your member directory (its key signs the requests)')
    .requiredOption('--peer <url>', "the other member's node URL")
    .requiredOption('--member <address>', "the other member's chain address")
    .requiredOption('--rpc-url <url>', 'chain JSON-RPC endpoint')
    .requiredOption('--manifest <file>', 'deployment manifest (deployment.json)')
    .option(
      '--passphrase-file <file>',
      'file holding your key file passphrase (default: $MEDCHAIN_PASSPHRASE)',
    )
    .action(
      async (opts: {
        dir: string;
        peer: string;
        member: string;
        rpcUrl: string;
        manifest: string;
        passphraseFile?: string;
      }) => {
        if (!isAddress(opts.member)) throw new InvalidInputError('--member must be a chain address');
        const member = getAddress(opts.member);
        const me = privateKeyToAccount(loadIdentity(keyFileOf(opts.dir), passphraseFrom(opts)).chainKey);
        const manifest = readManifestFile(opts.manifest);
        const conn = await connectChain(opts.rpcUrl, { expectedChainId: manifest.chainId });
        const heads = await chainHeads(conn, manifest, member);
        const peer = httpPeerLog(opts.peer.replace(/\/$/, ''), (method, p) =>
          memberAuthHeader(me, member, method, p),
        );
        const r = await monitorPeer(
          member,
          { chainId: manifest.chainId, verifyingContract: manifest.contracts.AuditAnchor },
          heads,
          peer,
        );
        for (const p of r.problems) io.out(`problem: ${p}`);
        io.out(
          `${r.ok ? 'ok' : 'FAILED'}: ${heads.length} anchored heads, current head ${r.head ? `size ${r.head.treeSize}` : 'unknown'}, ${r.checked} consistency proofs checked`,
        );
        if (!r.ok) throw new VerifyFailed();
      },
    );

  program
    .command('verify-disclosures <file>')
    .description(
      "check a patient's disclosures file (GET /patients/<address>/disclosures) offline against the chain",
    )
    .requiredOption('--rpc-url <url>', 'chain JSON-RPC endpoint')
    .action(async (file: string, opts: { rpcUrl: string }) => {
      const doc = readJson(file);
      const conn = await connectChain(opts.rpcUrl);
      const r = await verifyDisclosures(conn, doc);
      for (const line of r.lines) io.out(line);
      if (!r.ok) throw new VerifyFailed();
    });

  const keys = program.command('keys').description("manage a member's keys");
  keys
    .command('rotate')
    .description(
      "add a new key-encryption key, rewrap every one of the member's own data keys and patient record keys under it, and retire the old one (stop the member's node first)",
    )
    .requiredOption('--dir <dir>', 'member directory')
    .option('--passphrase-file <file>', 'file holding the passphrase (default: $MEDCHAIN_PASSPHRASE)')
    .action(async (opts: { dir: string; passphraseFile?: string }) => {
      const passphrase = passphraseFrom(opts);
      const pid = servingProcess(opts.dir);
      if (pid !== undefined)
        throw new InvalidInputError(
          `the node of ${opts.dir} is running (process ${pid}); stop it, then rotate`,
        );
      loadIdentity(keyFileOf(opts.dir), passphrase); // a wrong passphrase stops here, before anything changes
      const identity = addKek(keyFileOf(opts.dir), passphrase);
      const node = openMemberNode(opts.dir, passphrase);
      try {
        const n = await node.records.rewrapToCurrentKek();
        if (node.records.needsOlderKeys())
          throw new InvalidInputError(
            'some keys could not be rewrapped; the older key-encryption key is kept',
          );
        retireOldKeks(keyFileOf(opts.dir), passphrase);
        io.out(
          `key-encryption key ${identity.keks.at(-1)?.id} is current; rewrapped ${n} key(s); the old key is retired`,
        );
      } finally {
        node.close();
      }
    });

  const user = program.command('user').description("manage a member node's users");
  user
    .command('add')
    .description(
      `add a user (roles: ${USER_ROLES.join(', ')}); prints a generated password unless one is given`,
    )
    .requiredOption('--dir <dir>', 'member directory')
    .requiredOption('--username <name>', 'sign-in name')
    .requiredOption('--role <role>', USER_ROLES.join(' | '))
    .option('--password-file <file>', 'file holding the password (at least 12 characters)')
    .option(
      '--passphrase-file <file>',
      'file holding the key file passphrase (default: $MEDCHAIN_PASSPHRASE)',
    )
    .action(
      async (opts: {
        dir: string;
        username: string;
        role: string;
        passwordFile?: string;
        passphraseFile?: string;
      }) => {
        if (!isUserRole(opts.role))
          throw new InvalidInputError(
            `unknown role "${opts.role}" (expected one of: ${USER_ROLES.join(', ')})`,
          );
        let password: string;
        if (opts.passwordFile) {
          if (!existsSync(opts.passwordFile))
            throw new InvalidInputError(`${opts.passwordFile} does not exist`);
          password = readFileSync(opts.passwordFile, 'utf8').replace(/\r?\n$/, '');
        } else password = randomBytes(15).toString('base64url');
        const node = openMemberNode(opts.dir, passphraseFrom(opts));
        try {
          const u = node.users.add(opts.username, opts.role, await hashPassword(password));
          io.out(`added ${u.username} (${u.role}), user id ${u.id}`);
          if (!opts.passwordFile) io.out(`password ${password}`);
        } finally {
          node.close();
        }
      },
    );

  program
    .command('import <path>')
    .description('import FHIR resources from a Bundle or resource JSON file, or a folder of them')
    .requiredOption('--dir <dir>', 'member directory')
    .option(
      '--passphrase-file <file>',
      'file holding the key file passphrase (default: $MEDCHAIN_PASSPHRASE)',
    )
    .action(async (file: string, opts: { dir: string; passphraseFile?: string }) => {
      const node = openMemberNode(opts.dir, passphraseFrom(opts));
      try {
        const bar = progressBar(io);
        const operator = { id: 'operator:import', role: 'operator', purpose: 'operations' } as const;
        const report = await importPath(
          {
            bundle: (body) => node.gate.bundle(operator, body),
            create: (type, body) => node.gate.create(operator, type, body),
            update: (type, id, body) => node.gate.update(operator, type, id, body),
          },
          file,
          bar,
        );
        bar.finish();
        io.out(`imported ${report.imported}, rejected ${report.rejected.length}`);
        for (const r of report.rejected) io.out(`rejected ${r.source}: ${r.reason}`);
        if (report.rejected.length > 0 && report.imported === 0)
          throw new InvalidInputError('nothing was imported');
      } finally {
        node.close();
      }
    });

  registerConsentCommands(program, io);
  registerClaimsCommands(program, io);

  program
    .command('status')
    .description('show the consortium members and their latest anchored log heads (network must be running)')
    .option('--dir <dir>', 'data directory of `medchain up`', './data')
    .action(async (opts: { dir: string }) => {
      const net = readJson(path.join(opts.dir, 'network.json')) as NetworkFile;
      const manifest = parseManifest(
        { version: 1, quorumPercent: 0, ...net.chain },
        path.join(opts.dir, 'network.json'),
      );
      const conn = await connectChain(net.chain.rpcUrl, { expectedChainId: manifest.chainId });
      const c = consortiumContracts(conn, manifest);
      const accounts = await c.registry.read.memberAccounts();
      io.out(
        `chain ${manifest.chainId} at ${net.chain.rpcUrl}, block ${await conn.publicClient.getBlockNumber()}`,
      );
      io.out(
        `members: ${await c.registry.read.activeMemberCount()} active, ${await c.registry.read.requiredVotes()} votes to admit or remove`,
      );
      for (const a of accounts) {
        const m = await c.registry.read.getMember([a]);
        const head = await c.auditAnchor.read.latestHead([a]);
        io.out(
          `${m.active ? 'active ' : 'removed'} ${m.name.padEnd(24)} ${a} ${maskToRoles(m.roles).join(',').padEnd(10)} ${m.endpoint} log head: ${head.treeSize === 0n ? 'none anchored' : `size ${head.treeSize} at block ${head.blockNumber}`}`,
        );
      }
    });

  return program;
}

/** A progress bar on stderr: redraws in place on a terminal, prints every 10% otherwise. */
function progressBar(io: CliIo) {
  const tty = process.stderr.isTTY === true && io === defaultIo;
  let lastDecile = -1;
  let shown = false;
  const fn = (done: number, total: number) => {
    const frac = total === 0 ? 1 : done / total;
    const width = 30;
    const line = `[${'#'.repeat(Math.round(frac * width)).padEnd(width, '.')}] ${done}/${total} resources`;
    if (tty) {
      process.stderr.write(`\r${line}`);
      shown = true;
    } else if (Math.floor(frac * 10) > lastDecile) {
      lastDecile = Math.floor(frac * 10);
      io.err(line);
    }
  };
  fn.finish = () => {
    if (shown) process.stderr.write('\n');
  };
  return fn;
}

/** Run the CLI; resolves to the process exit code. */
export async function runCli(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  const program = buildCli(io);
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0
        ? 0
        : 2;
    }
    if (!(err instanceof VerifyFailed)) io.err(`medchain: ${errorMessage(err)}`);
    return 1;
  }
}

export type { CliIo };
