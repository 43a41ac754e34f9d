/**
 * `medchain up`: the embedded chain, the consortium contracts and the five demo members, in one
 * data directory. Running it again resumes the same chain and deployment; it never redeploys over
 * an existing one.
 *
 * Layout of the data directory:
 *   chain/anvil-state.json        the embedded chain (anvil --state)
 *   deployment.json               contract addresses (src/chain/manifest.ts)
 *   members/<slug>/identity.json  each member's chain and encryption keys (mode 0600)
 *   network.json                  what clients need: chain, contracts, members
 */
import path from 'node:path';
import type { Address } from 'viem';
import { type ChainConnection, connectChain, walletFor } from '../chain/clients.js';
import { deployContracts, type MemberInput } from '../chain/deploy.js';
import { type EmbeddedChain, launchEmbeddedChain } from '../chain/embeddedChain.js';
import { admitMember } from '../chain/governance.js';
import type { DeploymentManifest } from '../chain/manifest.js';
import { rolesToMask } from '../chain/scopes.js';
import { writeFileAtomic } from '../util/atomicFile.js';
import { DEMO_MEMBERS, type MemberSpec } from './demoNetwork.js';
import { loadOrCreateIdentity, type MemberIdentity } from './memberIdentity.js';

export interface NetworkMember {
  spec: MemberSpec;
  identity: MemberIdentity;
}

export interface LocalNetwork {
  dir: string;
  chain: EmbeddedChain;
  conn: ChainConnection;
  manifest: DeploymentManifest;
  members: NetworkMember[];
  /** True when this run deployed the contracts (first run); false when it resumed. */
  deployed: boolean;
  stop(): Promise<void>;
}

export type Progress = (step: string) => void;

/** The endpoint a member's node will serve on. Nodes arrive with the FHIR API (issue #3). */
const endpointOf = (spec: MemberSpec) => `http://127.0.0.1/${spec.slug}`;

export async function startLocalNetwork(dir: string, progress: Progress = () => {}): Promise<LocalNetwork> {
  const root = path.resolve(dir);
  progress('keys: loading or creating member identities');
  const members = DEMO_MEMBERS.map((spec) => ({
    spec,
    identity: loadOrCreateIdentity(path.join(root, 'members', spec.slug, 'identity.json')).identity,
  }));
  progress('chain: starting the embedded chain (anvil)');
  const chain = await launchEmbeddedChain({ dataDir: path.join(root, 'chain') });
  try {
    const conn = await connectChain(chain.rpcUrl);
    const input = (m: NetworkMember): MemberInput => ({
      account: m.identity.address,
      roles: rolesToMask(m.spec.roles),
      encryptionKey: m.identity.encryptionPublicKey,
      name: m.spec.name,
      endpoint: endpointOf(m.spec),
    });
    const founders = members.filter((m) => m.spec.genesis);
    const deployer = founders[0] as NetworkMember;
    progress('contracts: deploying Registry, Consent, AuditAnchor (or reusing the deployment)');
    const { manifest, deployed } = await deployContracts(conn, walletFor(conn, deployer.identity.chainKey), {
      genesis: founders.map(input),
      quorumPercent: 51,
      manifestFile: path.join(root, 'deployment.json'),
    });
    const voters = founders.map((m) => walletFor(conn, m.identity.chainKey));
    for (const m of members.filter((x) => !x.spec.genesis)) {
      const admitted = await admitMember(conn, manifest.contracts.Registry, voters, input(m));
      progress(
        `governance: ${m.spec.name} ${admitted ? 'voted in by the founding members' : 'already a member'}`,
      );
    }
    writeNetworkFile(root, chain.rpcUrl, manifest, members);
    return { dir: root, chain, conn, manifest, members, deployed, stop: () => chain.stop() };
  } catch (err) {
    await chain.stop();
    throw err;
  }
}

export interface NetworkFile {
  chain: { rpcUrl: string; chainId: number; deploymentBlock: number; contracts: Record<string, Address> };
  members: { name: string; slug: string; roles: string[]; address: Address; url: string }[];
}

function writeNetworkFile(
  root: string,
  rpcUrl: string,
  m: DeploymentManifest,
  members: NetworkMember[],
): void {
  const file: NetworkFile = {
    chain: { rpcUrl, chainId: m.chainId, deploymentBlock: m.deploymentBlock, contracts: m.contracts },
    members: members.map((x) => ({
      name: x.spec.name,
      slug: x.spec.slug,
      roles: x.spec.roles,
      address: x.identity.address,
      url: endpointOf(x.spec),
    })),
  };
  writeFileAtomic(path.join(root, 'network.json'), `${JSON.stringify(file, null, 2)}\n`);
}
