/**
 * The steps every multi-member test network takes (attack, claims and supply networks, the
 * two-member $summary and federation tests): a key file per member, a deployment with them as
 * genesis members, users with known passwords at each node, and each served node's endpoint
 * published in the Registry. Each network composes these; what differs (roles, seeding, when
 * nodes are served) stays with it.
 */
import path from 'node:path';
import type { ChainConnection, ChainWallet } from '../../src/chain/clients.js';
import { walletFor } from '../../src/chain/clients.js';
import { deployContracts } from '../../src/chain/deploy.js';
import { registryAbi } from '../../src/chain/generated/index.js';
import type { DeploymentManifest } from '../../src/chain/manifest.js';
import { writeAndWait } from '../../src/chain/transact.js';
import { hashPassword } from '../../src/crypto/password.js';
import { createIdentity, type MemberIdentity } from '../../src/node/memberIdentity.js';
import {
  keyFileOf,
  type MemberNode,
  openMemberNode,
  type RunningNode,
  type ServeOptions,
  serveMemberNode,
} from '../../src/node/memberNode.js';
import type { TestChain } from './testChain.js';

/** A fresh identity (key file under `dir/<name>`, sealed with `passphrase`) for each name. */
export function createMemberIdentities<N extends string>(
  dir: string,
  names: readonly N[],
  passphrase: string,
): Record<N, MemberIdentity> {
  const ids = {} as Record<N, MemberIdentity>;
  for (const n of names) ids[n] = createIdentity(keyFileOf(path.join(dir, n)), passphrase);
  return ids;
}

/**
 * Deploy the consortium's contracts with `members` as the genesis members (their Registry roles
 * mask; the endpoint a placeholder until each node is served), sent by `deployer`.
 */
export async function deployGenesis<N extends string>(
  conn: ChainConnection,
  deployer: ChainWallet,
  ids: Record<N, MemberIdentity>,
  members: readonly { name: N; roles: number }[],
  opts: { manifestFile: string; quorumPercent?: number; endpoint?: string },
): Promise<DeploymentManifest> {
  const { manifest } = await deployContracts(conn, deployer, {
    genesis: members.map(({ name, roles }) => ({
      account: ids[name].address,
      roles,
      encryptionKey: ids[name].encryptionPublicKey,
      name,
      endpoint: opts.endpoint ?? 'http://127.0.0.1:1',
    })),
    ...(opts.quorumPercent === undefined ? {} : { quorumPercent: opts.quorumPercent }),
    manifestFile: opts.manifestFile,
  });
  return manifest;
}

/** The password hash of each user name (hashed once, shared by every node that adds the user). */
export async function hashPasswords(
  usernames: readonly string[],
  passwordOf: (username: string) => string,
): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  for (const u of usernames) hashes.set(u, await hashPassword(passwordOf(u)));
  return hashes;
}

/** Add each user (named after its role) the node does not have yet, with its hashed password. */
export function addUsers(node: MemberNode, hashes: ReadonlyMap<string, string>): void {
  for (const [username, hash] of hashes)
    if (!node.users.byUsername(username)) node.users.add(username, username, hash);
}

/** Publish `url` as the member's endpoint in the Registry (sent with its own wallet). */
export async function publishEndpoint(
  conn: ChainConnection,
  wallet: ChainWallet,
  manifest: DeploymentManifest,
  url: string,
): Promise<void> {
  await writeAndWait(conn, wallet, {
    address: manifest.contracts.Registry,
    abi: registryAbi,
    functionName: 'updateEndpoint',
    args: [url],
  });
}

/** Serve `node` and publish its URL as the endpoint of the member whose chain key is `chainKey`. */
export async function serveAndPublish(
  conn: ChainConnection,
  manifest: DeploymentManifest,
  node: MemberNode,
  chainKey: `0x${string}`,
  opts: ServeOptions,
): Promise<RunningNode> {
  const running = await serveMemberNode(node, opts);
  await publishEndpoint(conn, walletFor(conn, chainKey), manifest, running.url);
  return running;
}

/** Sign in as `username` at the node served at `baseUrl` (POST /auth/login); its bearer token. */
export async function signInToken(baseUrl: string, username: string, password: string): Promise<string> {
  const r = await fetch(`${baseUrl}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const token = r.status === 200 ? ((await r.json()) as { access_token?: string }).access_token : undefined;
  if (!token) throw new Error(`sign-in of ${username} at ${baseUrl}: ${r.status}`);
  return token;
}

/** Served members of a test consortium: their identities, the deployment, each node and server. */
export interface ServedMembers<N extends string> {
  ids: Record<N, MemberIdentity>;
  manifest: DeploymentManifest;
  nodes: Record<N, { node: MemberNode; running: RunningNode }>;
}

/**
 * A consortium of `names` on `t`'s chain, all genesis members with Registry roles `roles`
 * (deployed by the first), each node with the users `usernames` (password "<name> password 123")
 * and served one after the other on 127.0.0.1 with `serve`, its endpoint published.
 */
export async function startServedMembers<N extends string>(
  t: TestChain,
  names: readonly N[],
  opts: {
    passphrase: string;
    usernames: readonly string[];
    serve: Omit<ServeOptions, 'rpcUrl'>;
    roles?: number;
    endpoint?: string;
  },
): Promise<ServedMembers<N>> {
  const ids = createMemberIdentities(t.dir, names, opts.passphrase);
  const first = names[0];
  if (first === undefined) throw new Error('a consortium needs at least one member');
  const manifest = await deployGenesis(
    t.conn,
    walletFor(t.conn, ids[first].chainKey),
    ids,
    names.map((name) => ({ name, roles: opts.roles ?? 1 })),
    {
      manifestFile: path.join(t.dir, 'consortium.json'),
      ...(opts.endpoint === undefined ? {} : { endpoint: opts.endpoint }),
    },
  );
  const hashes = await hashPasswords(opts.usernames, (u) => `${u} password 123`);
  const nodes = {} as Record<N, { node: MemberNode; running: RunningNode }>;
  for (const n of names) {
    const node = openMemberNode(path.join(t.dir, n), opts.passphrase, { manifest });
    addUsers(node, hashes);
    const running = await serveAndPublish(t.conn, manifest, node, ids[n].chainKey, {
      rpcUrl: t.chain.rpcUrl,
      ...opts.serve,
    });
    nodes[n] = { node, running };
  }
  return { ids, manifest, nodes };
}
