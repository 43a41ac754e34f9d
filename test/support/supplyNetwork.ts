/**
 * Test support for the drug supply chain: one embedded chain and four member nodes over real
 * sockets on 127.0.0.1 — a manufacturer, a wholesale distributor, a pharmacy and a hospital (each
 * with that Registry role, all genesis members) — seeded by the same `seedSupply` as `medchain up`
 * (300 units in four lots, shipped manufacturer -> distributor -> pharmacy), with a user of every
 * role at each node; every member has its GLN set (the hospital's too, though the seed ships it
 * nothing). `as` and `signedPost` call the served nodes as a user or as a member.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { privateKeyToAccount } from 'viem/accounts';
import { memberAuthHeader } from '../../src/access/memberAuth.js';
import { USER_ROLES } from '../../src/access/roles.js';
import { type ChainConnection, connectChain, walletFor } from '../../src/chain/clients.js';
import { type EmbeddedChain, launchEmbeddedChain } from '../../src/chain/embeddedChain.js';
import { drugLedgerAbi } from '../../src/chain/generated/index.js';
import type { DeploymentManifest } from '../../src/chain/manifest.js';
import { type MemberRole, rolesToMask } from '../../src/chain/scopes.js';
import { writeAndWait } from '../../src/chain/transact.js';
import type { MemberIdentity } from '../../src/node/memberIdentity.js';
import {
  type MemberNode,
  openMemberNode,
  type RunningNode,
  serveMemberNode,
} from '../../src/node/memberNode.js';
import { pickFreePort } from '../../src/node/memberPort.js';
import { type DemoUnit, type SupplyParty, seedSupply } from '../../src/node/seed/seedSupply.js';
import { type StoredUnit, UnitStore } from '../../src/store/unitStore.js';
import {
  addUsers,
  createMemberIdentities,
  deployGenesis,
  hashPasswords,
  publishEndpoint,
  signInToken,
} from './memberSetup.js';

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

/** A JSON answer as a test reads it, field by field. */
// biome-ignore lint/suspicious/noExplicitAny: tests assert on the answer's fields directly
export type Json = any;

export interface SupplyNetwork {
  dir: string;
  chain: EmbeddedChain;
  conn: ChainConnection;
  manifest: DeploymentManifest;
  members: Record<SupplyMemberName, SupplyMember>;
  units: DemoUnit[];
  /**
   * Open and serve every member's node (after seeding: the seed sends with their accounts).
   * `clock`: the supply incident flows' clock at every node (24-hour deadlines without sleeping).
   */
  serve(opts?: { clock?: () => Date }): Promise<void>;
  /** The served node of `m` (after `serve`). */
  url(m: SupplyMemberName): string;
  /** Call `path` at `m` as the user named `role` (signed in once per member and role). */
  as(
    m: SupplyMemberName,
    role: string,
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Json }>;
  /** POST `body` (sent as given when a string) to `path` at `to`, signed by member `from`'s chain key. */
  signedPost(
    from: SupplyMemberName,
    to: SupplyMemberName,
    path: string,
    body: unknown,
  ): Promise<{ status: number; body: Json }>;
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
    const ids = createMemberIdentities(
      dir,
      SPECS.map((s) => s.name),
      SUPPLY_PASSPHRASE,
    );
    for (const s of SPECS) members[s.name] = { dir: path.join(dir, s.name), identity: ids[s.name] };
    const manifest = await deployGenesis(
      conn,
      walletFor(conn, members.manufacturer.identity.chainKey),
      ids,
      SPECS.map((s) => ({ name: s.name, roles: rolesToMask([s.role]) })),
      { manifestFile: path.join(dir, 'deployment.json') },
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
    const hashes = await hashPasswords(USER_ROLES, supplyPasswordOf);
    for (const s of SPECS) {
      const node = openMemberNode(members[s.name].dir, SUPPLY_PASSPHRASE, { manifest });
      addUsers(node, hashes);
      if (s.name === 'hospital') new UnitStore(node.db).setSetting('gln', s.gln);
      node.close();
    }
    const url = (m: SupplyMemberName) => {
      const u = members[m].running?.url;
      if (!u) throw new Error(`${m} is not served yet`);
      return u;
    };
    const tokens = new Map<string, string>();
    const tokenAt = async (m: SupplyMemberName, role: string) => {
      const known = tokens.get(`${m}/${role}`);
      if (known) return known;
      const t = await signInToken(url(m), role, supplyPasswordOf(role));
      tokens.set(`${m}/${role}`, t);
      return t;
    };
    return {
      dir,
      chain,
      conn,
      manifest,
      members,
      units,
      serve: async (opts = {}) => {
        // Each member publishes its endpoint before its node (and its outbox, same account) starts.
        const ports: number[] = [];
        for (const s of SPECS) {
          const port = await pickFreePort('127.0.0.1');
          ports.push(port);
          await publishEndpoint(
            conn,
            walletFor(conn, members[s.name].identity.chainKey),
            manifest,
            `http://127.0.0.1:${port}`,
          );
        }
        await Promise.all(
          SPECS.map(async (s, i) => {
            const m = members[s.name];
            m.node = openMemberNode(m.dir, SUPPLY_PASSPHRASE, { manifest });
            m.running = await serveMemberNode(m.node, {
              rpcUrl: chain.rpcUrl,
              replicate: false,
              port: ports[i] as number,
              ...(opts.clock ? { clock: opts.clock } : {}),
            });
          }),
        );
      },
      url,
      as: async (m, role, method, path, body) => {
        const r = await fetch(`${url(m)}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${await tokenAt(m, role)}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        return { status: r.status, body: await r.json() };
      },
      signedPost: async (from, to, path, body) => {
        const payload = typeof body === 'string' ? body : JSON.stringify(body);
        const signer = privateKeyToAccount(members[from].identity.chainKey);
        const r = await fetch(`${url(to)}${path}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: await memberAuthHeader(
              signer,
              members[to].identity.address,
              'POST',
              path,
              payload,
            ),
          },
          body: payload,
        });
        return { status: r.status, body: await r.json() };
      },
      close: stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A JSON reply of a node, asserted on field by field by the tests. */
export type JsonReply = { status: number; body: Json };

/** The base URL of a served member. */
export const urlOf = (net: SupplyNetwork, m: SupplyMemberName): string => net.url(m);

/** POST a JSON body as the user named after `role` at a served member. */
export const postAs = (net: SupplyNetwork, m: SupplyMemberName, role: string, path: string, body: unknown) =>
  net.as(m, role, 'POST', path, body);

/** GET as the user named after `role` at a served member. */
export const getAs = (net: SupplyNetwork, m: SupplyMemberName, role: string, path: string) =>
  net.as(m, role, 'GET', path);

/** The units of `lot` a member holds records of (its store, read beside the running node). */
export function storedUnitsOf(
  net: SupplyNetwork,
  m: SupplyMemberName,
  gtin: string,
  lot: string,
): StoredUnit[] {
  const node = openMemberNode(net.members[m].dir, SUPPLY_PASSPHRASE);
  try {
    return node.units.unitsOfLot(gtin, lot);
  } finally {
    node.close();
  }
}

/** A unit's status number on chain (DrugLedger.sol `Status`: 1 Active, 2 Dispensed, 4 Suspect, 5 Illegitimate). */
export async function chainStatusOf(net: SupplyNetwork, u: StoredUnit): Promise<number> {
  const [, status] = (await net.conn.publicClient.readContract({
    address: net.manifest.contracts.DrugLedger as `0x${string}`,
    abi: drugLedgerAbi,
    functionName: 'stateOf',
    args: [{ id: u.commitment, batch: u.batch, proof: u.proof }],
  })) as readonly [string, number];
  return status;
}

/**
 * Send a DrugLedger call with a member's account, before the nodes are served (afterwards their
 * outboxes send with the same account).
 */
export async function ledgerCallAs(
  net: SupplyNetwork,
  m: SupplyMemberName,
  functionName: 'setStatus' | 'transferUnits',
  args: readonly unknown[],
): Promise<void> {
  await writeAndWait(net.conn, walletFor(net.conn, net.members[m].identity.chainKey), {
    address: net.manifest.contracts.DrugLedger as `0x${string}`,
    abi: drugLedgerAbi,
    functionName,
    args,
  } as never);
}

/** A unit as DrugLedger names it. */
export const unitRef = (u: StoredUnit) => ({ id: u.commitment, batch: u.batch, proof: u.proof });
