/**
 * `medchain up`: the embedded chain, the consortium contracts and the seven demo members, each
 * member node in its own process with its own keys, store and port. Running it again resumes the
 * same chain, deployment, stores and users; it never redeploys or reseeds over existing data.
 *
 * Layout of the data directory:
 *   chain/anvil-state.json        the embedded chain (anvil --state)
 *   deployment.json               contract addresses (src/chain/manifest.ts)
 *   members/<slug>/keys.json      each member's keys (passphrase-protected, mode 0600)
 *   members/<slug>/node.db        each member's encrypted store
 *   members/<slug>/port.json      the port the member's node listens on, chosen on its first start
 *   patients/                     the synthetic patients' key files (src/node/seed)
 *   network.json                  what clients need: chain, contracts, members, demo users
 *
 * Every folder here is owner-only (0700) and every file 0600 (src/util/privateFiles.ts).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Address } from 'viem';
import { USER_ROLES, type UserRole } from '../access/roles.js';
import { type ChainConnection, connectChain, walletFor } from '../chain/clients.js';
import { consortiumContracts } from '../chain/contracts.js';
import { deployContracts, ensureDrugLedger, type MemberInput } from '../chain/deploy.js';
import { type EmbeddedChain, launchEmbeddedChain } from '../chain/embeddedChain.js';
import { registryAbi } from '../chain/generated/index.js';
import { admitMember } from '../chain/governance.js';
import type { DeploymentManifest } from '../chain/manifest.js';
import { rolesToMask } from '../chain/scopes.js';
import { writeAndWait } from '../chain/transact.js';
import { hashPassword } from '../crypto/password.js';
import { PortInUseError } from '../errors.js';
import { writeFileAtomic } from '../util/atomicFile.js';
import { securePrivateDir, tightenPrivateFile } from '../util/privateFiles.js';
import { distributeConsortiumKey } from './consortiumSetup.js';
import { DEMO_MEMBERS, type MemberSpec } from './demoNetwork.js';
import { loadOrCreateIdentity, type MemberIdentity } from './memberIdentity.js';
import { keyFileOf, openMemberNode } from './memberNode.js';
import { pickFreePort, portFileOf, portIsFree, savedPort, savePort } from './memberPort.js';
import { type NodeProcess, spawnNodeProcess } from './nodeProcess.js';
import { type SeededClaim, type SeedProvider, seedClaims } from './seed/seedClaims.js';
import { type SeededPatient, seedNetwork } from './seed/seedNetwork.js';
import { type DemoUnit, type SupplyParty, seedSupply } from './seed/seedSupply.js';

export interface NetworkMember {
  spec: MemberSpec;
  dir: string;
  identity: MemberIdentity;
  node?: NodeProcess;
}

export interface DemoUser {
  member: string;
  username: string;
  password: string;
  role: UserRole;
}

export interface LocalNetwork {
  dir: string;
  chain: EmbeddedChain;
  conn: ChainConnection;
  manifest: DeploymentManifest;
  members: NetworkMember[];
  users: DemoUser[];
  /** True when this run deployed the contracts (first run); false when it resumed. */
  deployed: boolean;
  stop(): Promise<void>;
}

export type Progress = (step: string) => void;

/** The passphrase protecting the demo members' key files (MEDCHAIN_PASSPHRASE overrides it). */
export const DEMO_PASSPHRASE = 'medchain-local-demo';

export interface NetworkFile {
  /** `rpcUrl` is the first member's /rpc proxy, not the embedded chain's own URL. */
  chain: { rpcUrl: string; chainId: number; deploymentBlock: number; contracts: Record<string, Address> };
  members: { name: string; slug: string; roles: string[]; address: Address; url: string }[];
  /** Local demo only: sign-in details of the seeded users. */
  demoUsers: DemoUser[];
  /** Local demo only: the synthetic patients and their key files (same passphrase as the members'). */
  patients: SeededPatient[];
  /** Local demo only: a few seeded drug units (two of each lot) and the member holding them. */
  units: DemoUnit[];
  /** Local demo only: the seeded claims (src/node/seed/seedClaims.ts), clean and fraudulent. */
  claims: SeededClaim[];
}

/** Kinds of member that get a demo pharmacist. */
const PHARMACIST_MEMBERS: readonly string[] = ['PHARMACY', 'HOSPITAL', 'DISTRIBUTOR'];

/** Create the demo users of a member once; later runs keep the stored ones. */
async function ensureDemoUsers(
  m: NetworkMember,
  passphrase: string,
  previous: DemoUser[],
): Promise<DemoUser[]> {
  const node = openMemberNode(m.dir, passphrase);
  try {
    const out: DemoUser[] = [];
    for (const role of USER_ROLES) {
      // Pharmacists work where drugs are dispensed or handled (verification before dispensing or resale).
      if (role === 'pharmacist' && !m.spec.roles.some((r) => PHARMACIST_MEMBERS.includes(r))) continue;
      const username = role;
      const known = previous.find((u) => u.member === m.spec.name && u.username === username);
      if (node.users.byUsername(username)) {
        if (known) out.push(known);
        continue;
      }
      const password = randomBytes(12).toString('base64url');
      node.users.add(username, role, await hashPassword(password));
      out.push({ member: m.spec.name, username, password, role });
    }
    return out;
  } finally {
    node.close();
  }
}

export interface LocalNetworkOptions {
  /** A line a running member node wrote to stderr (or that it exited), with the member's name. */
  onNodeOutput?: (member: string, line: string) => void;
}

/**
 * The port a member listens on from an earlier start (kept in its folder), checked free now;
 * undefined on its first start.
 */
async function keptPort(m: NetworkMember): Promise<number | undefined> {
  const port = savedPort(m.dir);
  if (port === undefined) return undefined;
  if (!(await portIsFree(NODE_HOST, port))) {
    throw new PortInUseError(
      `${m.spec.name}'s port ${port} (kept in ${portFileOf(m.dir)}) is in use by another program: stop it (is the network already running, in another terminal?), or delete that file to give ${m.spec.name} a new port (its URLs change, and patients import their key file again in the portal)`,
      port,
    );
  }
  return port;
}

const NODE_HOST = '127.0.0.1';

export async function startLocalNetwork(
  dir: string,
  progress: Progress = () => {},
  opts: LocalNetworkOptions = {},
): Promise<LocalNetwork> {
  const root = path.resolve(dir);
  const passphrase = process.env.MEDCHAIN_PASSPHRASE ?? DEMO_PASSPHRASE;
  const tightened = [
    ...securePrivateDir(root, { create: true }),
    ...securePrivateDir(path.join(root, 'members'), { create: true }),
  ];
  progress('keys: opening or creating member key files');
  const members: NetworkMember[] = DEMO_MEMBERS.map((spec) => {
    const memberDir = path.join(root, 'members', spec.slug);
    tightened.push(...securePrivateDir(memberDir, { create: true }));
    return {
      spec,
      dir: memberDir,
      identity: loadOrCreateIdentity(keyFileOf(memberDir), passphrase).identity,
    };
  });
  // Patient discovery: every member holds the same consortium key (made once, sealed to each member).
  const withKey = await distributeConsortiumKey(
    members.map((m) => ({ file: keyFileOf(m.dir), identity: m.identity })),
    passphrase,
  );
  for (const [i, m] of members.entries()) m.identity = withKey[i] as MemberIdentity;
  if (tightened.length > 0)
    progress(`files: made owner-only (were open to group or others): ${tightened.join(', ')}`);
  // Each member keeps the port it was first given, so its URLs (and the portal origin, where a
  // patient's browser keeps their key) stay the same across restarts. Checked before anything starts.
  const kept = await Promise.all(members.map((m) => keptPort(m)));
  const networkFile = path.join(root, 'network.json');
  const previous: NetworkFile | undefined = existsSync(networkFile)
    ? JSON.parse(readFileSync(networkFile, 'utf8'))
    : undefined;

  progress('chain: starting the embedded chain (anvil)');
  const chain = await launchEmbeddedChain({ dataDir: path.join(root, 'chain') });
  const stopAll = async () => {
    await Promise.all(members.map((m) => m.node?.stop()));
    await chain.stop();
  };
  try {
    const conn = await connectChain(chain.rpcUrl);
    const input = (m: NetworkMember, endpoint: string): MemberInput => ({
      account: m.identity.address,
      roles: rolesToMask(m.spec.roles),
      encryptionKey: m.identity.encryptionPublicKey,
      name: m.spec.name,
      endpoint,
    });
    const founders = members.filter((m) => m.spec.genesis);
    const deployer = founders[0] as NetworkMember;
    progress('contracts: deploying Registry, Consent, AuditAnchor, DrugLedger (or reusing the deployment)');
    const manifestFile = path.join(root, 'deployment.json');
    const deployerWallet = walletFor(conn, deployer.identity.chainKey);
    const first = await deployContracts(conn, deployerWallet, {
      genesis: founders.map((m) => input(m, 'http://127.0.0.1')),
      quorumPercent: 51,
      manifestFile,
    });
    const deployed = first.deployed;
    // A data directory from before DrugLedger was deployed with the rest gets one beside it.
    const { manifest } = await ensureDrugLedger(conn, deployerWallet, first.manifest, manifestFile);
    tightenPrivateFile(manifestFile);
    // Every member admitted so far votes on the next one (a majority of seven is more than the
    // three founders).
    const voters = founders.map((m) => walletFor(conn, m.identity.chainKey));
    for (const m of members.filter((x) => !x.spec.genesis)) {
      const admitted = await admitMember(
        conn,
        manifest.contracts.Registry,
        voters,
        input(m, 'http://127.0.0.1'),
      );
      progress(`governance: ${m.spec.name} ${admitted ? 'voted in by the members' : 'already a member'}`);
      voters.push(walletFor(conn, m.identity.chainKey));
    }

    const users: DemoUser[] = [];
    for (const m of members) users.push(...(await ensureDemoUsers(m, passphrase, previous?.demoUsers ?? [])));

    const bySlug = (slug: string) => (members.find((m) => m.spec.slug === slug) as NetworkMember).dir;
    const acme = members.find((m) => m.spec.slug === 'acme-insurance') as NetworkMember;
    const patients = await seedNetwork(
      root,
      { hospital: bySlug('city-hospital'), clinic: bySlug('valley-clinic'), lab: bySlug('central-lab') },
      passphrase,
      progress,
      { dir: acme.dir, address: acme.identity.address, name: acme.spec.name },
    );

    const party = (slug: string): SupplyParty => {
      const m = members.find((x) => x.spec.slug === slug) as NetworkMember;
      return { dir: m.dir, identity: m.identity, gln: m.spec.gln as string };
    };
    const units = await seedSupply(
      conn,
      manifest,
      {
        manufacturer: party('northwind-pharma'),
        distributor: party('harbor-distribution'),
        pharmacy: party('main-street-pharmacy'),
      },
      passphrase,
      progress,
    );

    const contracts = consortiumContracts(conn, manifest);
    // Each member publishes its node's endpoint in the Registry BEFORE its node starts: the node's
    // own outbox sends with the same account (anchors from its first second), and two senders
    // picking nonces at once would leave one transaction stuck for good.
    // A member's first start: a free port picked now (late, so nothing started since can take it),
    // saved once its node listens on it.
    const ports = await Promise.all(kept.map((p) => p ?? pickFreePort(NODE_HOST)));
    const urls = ports.map((p) => `http://${NODE_HOST}:${p}`);
    for (const [i, m] of members.entries()) {
      const rec = await contracts.registry.read.getMember([m.identity.address]);
      if (rec.endpoint !== urls[i]) {
        progress(`registry: ${m.spec.name} publishes its endpoint ${urls[i]}`);
        await writeAndWait(conn, walletFor(conn, m.identity.chainKey), {
          address: manifest.contracts.Registry,
          abi: registryAbi,
          functionName: 'updateEndpoint',
          args: [urls[i] as string],
        });
      }
    }
    progress(`nodes: starting ${members.map((m) => m.spec.name).join(', ')}`);
    // Started side by side: on a loaded machine, one after another would add up each one's wait.
    const started = await Promise.allSettled(
      members.map(async (m, i) => {
        m.node = await spawnNodeProcess(m.dir, passphrase, {
          label: `the node of ${m.spec.name} (${m.dir})`,
          port: ports[i] as number,
          rpcUrl: chain.rpcUrl,
          manifestFile: path.join(root, 'deployment.json'),
          ...(opts.onNodeOutput
            ? { onOutput: (line: string) => opts.onNodeOutput?.(m.spec.name, line) }
            : {}),
        });
        if (savedPort(m.dir) !== ports[i]) savePort(m.dir, ports[i] as number);
      }),
    );
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    // Claims go through the running nodes' real routes, so they are seeded last.
    const provider = (slug: string): SeedProvider => {
      const m = members.find((x) => x.spec.slug === slug) as NetworkMember;
      const password = (role: string) =>
        users.find((u) => u.member === m.spec.name && u.role === role)?.password ?? '';
      return {
        name: m.spec.name,
        url: m.node?.url ?? '',
        address: m.identity.address,
        billingPassword: password('billing'),
        clinicianPassword: password('clinician'),
      };
    };
    const claims = await seedClaims({
      root,
      hospital: provider('city-hospital'),
      clinic: provider('valley-clinic'),
      insurer: acme.identity.address,
      patients,
      progress,
      chainTime: async () => Number((await conn.publicClient.getBlock()).timestamp) * 1000,
    });
    const file: NetworkFile = {
      chain: {
        // The CLI reads the chain through the first member's allow-listing proxy (consent and
        // status need only reads); the raw anvil URL goes only to the member node processes.
        rpcUrl: `${members[0]?.node?.url}/rpc`,
        chainId: manifest.chainId,
        deploymentBlock: manifest.deploymentBlock,
        contracts: manifest.contracts,
      },
      members: members.map((x) => ({
        name: x.spec.name,
        slug: x.spec.slug,
        roles: x.spec.roles,
        address: x.identity.address,
        url: x.node?.url ?? '',
      })),
      demoUsers: users,
      patients,
      units,
      claims,
    };
    // Demo passwords in clear: local demonstration only (mode 0600).
    writeFileAtomic(networkFile, `${JSON.stringify(file, null, 2)}\n`, 0o600);
    return { dir: root, chain, conn, manifest, members, users, deployed, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
