/**
 * Test support for the drug supply chain: one embedded chain and four member nodes over real
 * sockets on 127.0.0.1 — a manufacturer, a wholesale distributor, a pharmacy and a hospital (each
 * with that Registry role, all genesis members) — seeded by the same `seedSupply` as `medchain up`
 * (300 units in four lots, shipped manufacturer -> distributor -> pharmacy), with a user of every
 * role at each node.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { USER_ROLES } from '../../src/access/roles.js';
import { type ChainConnection, connectChain, walletFor } from '../../src/chain/clients.js';
import { deployContracts } from '../../src/chain/deploy.js';
import { type EmbeddedChain, launchEmbeddedChain } from '../../src/chain/embeddedChain.js';
import { registryAbi } from '../../src/chain/generated/index.js';
import type { DeploymentManifest } from '../../src/chain/manifest.js';
import { type MemberRole, rolesToMask } from '../../src/chain/scopes.js';
import { writeAndWait } from '../../src/chain/transact.js';
import { hashPassword } from '../../src/crypto/password.js';
import { createIdentity, type MemberIdentity } from '../../src/node/memberIdentity.js';
import {
  keyFileOf,
  type MemberNode,
  openMemberNode,
  type RunningNode,
  serveMemberNode,
} from '../../src/node/memberNode.js';
import { pickFreePort } from '../../src/node/memberPort.js';
import { type DemoUnit, type SupplyParty, seedSupply } from '../../src/node/seed/seedSupply.js';

export const SUPPLY_PASSPHRASE = 'supply network passphrase';
/** The password of the user named `username` at every node (users are named after their role). */
export const supplyPasswordOf = (username: string) => `${username} password 123`;

export type SupplyMemberName = 'manufacturer' | 'distributor' | 'pharmacy' | 'hospital';

const SPECS: readonly { name: SupplyMemberName; role: MemberRole; gln: string }[] = [
  { name: 'manufacturer', role: 'MANUFACTURER', gln: '9521234000006' },
  { name: 'distributor', role: 'DISTRIBUTOR', gln: '9525678000004' },
  { name: 'pharmacy', role: 'PHARMACY', gln: '9529012000019' },
  { name: 'hospital', role: 'HOSPITAL', gln: '9523456000000' },
];

export interface SupplyMember {
  dir: string;
  identity: MemberIdentity;
  node?: MemberNode;
  running?: RunningNode;
}

export interface SupplyNetwork {
  dir: string;
  chain: EmbeddedChain;
  conn: ChainConnection;
  manifest: DeploymentManifest;
  members: Record<SupplyMemberName, SupplyMember>;
  units: DemoUnit[];
  /** Open and serve every member's node (after seeding: the seed sends with their accounts). */
  serve(): Promise<void>;
  close(): Promise<void>;
}

/** Start the chain, make the members, seed the supply chain (nodes not served yet). */
export async function startSupplyNetwork(): Promise<SupplyNetwork> {
  const dir = mkdtempSync(path.join(tmpdir(), 'medchain-supply-'));
  const chain = await launchEmbeddedChain({ dataDir: path.join(dir, 'chain') });
  const stop = async () => {
    for (const m of Object.values(members)) {
      await m.running?.close();
      m.node?.close();
    }
    await chain.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  const members = {} as Record<SupplyMemberName, SupplyMember>;
  try {
    const conn = await connectChain(chain.rpcUrl);
    for (const s of SPECS) {
      const memberDir = path.join(dir, s.name);
      const identity = createIdentity(keyFileOf(memberDir), SUPPLY_PASSPHRASE);
      members[s.name] = { dir: memberDir, identity };
    }
    const manifestFile = path.join(dir, 'deployment.json');
    const { manifest } = await deployContracts(
      conn,
      walletFor(conn, members.manufacturer.identity.chainKey),
      {
        genesis: SPECS.map((s) => ({
          account: members[s.name].identity.address,
          roles: rolesToMask([s.role]),
          encryptionKey: members[s.name].identity.encryptionPublicKey,
          name: s.name,
          endpoint: 'http://127.0.0.1:1',
        })),
        manifestFile,
      },
    );
    const party = (n: SupplyMemberName): SupplyParty => ({
      dir: members[n].dir,
      identity: members[n].identity,
      gln: SPECS.find((s) => s.name === n)?.gln as string,
    });
    const units = await seedSupply(
      conn,
      manifest,
      { manufacturer: party('manufacturer'), distributor: party('distributor'), pharmacy: party('pharmacy') },
      SUPPLY_PASSPHRASE,
      () => {},
    );
    for (const s of SPECS) {
      const node = openMemberNode(members[s.name].dir, SUPPLY_PASSPHRASE, { manifest });
      for (const role of USER_ROLES)
        if (!node.users.byUsername(role))
          node.users.add(role, role, await hashPassword(supplyPasswordOf(role)));
      node.close();
    }
    return {
      dir,
      chain,
      conn,
      manifest,
      members,
      units,
      serve: async () => {
        // Each member publishes its endpoint before its node (and its outbox, same account) starts.
        const ports: number[] = [];
        for (const s of SPECS) {
          const port = await pickFreePort('127.0.0.1');
          ports.push(port);
          await writeAndWait(conn, walletFor(conn, members[s.name].identity.chainKey), {
            address: manifest.contracts.Registry,
            abi: registryAbi,
            functionName: 'updateEndpoint',
            args: [`http://127.0.0.1:${port}`],
          });
        }
        await Promise.all(
          SPECS.map(async (s, i) => {
            const m = members[s.name];
            m.node = openMemberNode(m.dir, SUPPLY_PASSPHRASE, { manifest });
            m.running = await serveMemberNode(m.node, {
              rpcUrl: chain.rpcUrl,
              replicate: false,
              port: ports[i] as number,
            });
          }),
        );
      },
      close: stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
