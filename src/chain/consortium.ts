/**
 * A member node's view of the consortium on chain: who the members are (roles, admission, endpoint,
 * encryption key), what the patients consented to, and the log heads members anchored. Reads only,
 * standard eth_call. A chain that does not answer is a ChainUnavailableError (503 at the API), never
 * a silent "no".
 */
import { type Address, BaseError, getAddress, HttpRequestError, TimeoutError } from 'viem';
import { ChainUnavailableError } from '../errors.js';
import type { ChainConnection } from './clients.js';
import type { GrantTerms } from './consentModel.js';
import { type ConsortiumContracts, consortiumContracts } from './contracts.js';
import type { DeploymentManifest } from './manifest.js';

export interface MemberInfo {
  address: Address;
  name: string;
  endpoint: string;
  encryptionKey: Uint8Array;
  active: boolean;
  /** Registry role mask (src/chain/scopes.ts MEMBER_ROLES). */
  roles: number;
  /** The member's current (or, when removed, last) admission number. */
  admission: number;
}

export interface ConsortiumView {
  member(address: Address): Promise<MemberInfo>;
  activeMembers(): Promise<MemberInfo[]>;
  /** The latest log head `member` anchored on chain (size 0 when none). */
  latestHead(member: Address): Promise<{ treeSize: number; rootHash: `0x${string}` }>;
  /** The grant stored for (patient, grantee), or undefined when none. */
  grantOf(patient: Address, grantee: Address): Promise<GrantTerms | undefined>;
}

/** True when `err` is the chain not answering (transport failure or timeout), not a contract answer. */
export function isChainDown(err: unknown): boolean {
  return (
    err instanceof BaseError &&
    err.walk((e) => e instanceof HttpRequestError || e instanceof TimeoutError) !== null
  );
}

async function reading<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    throw isChainDown(err) ? new ChainUnavailableError(err) : err;
  }
}

/** Read `address`'s Registry entry, at `blockNumber` when given (else the latest block). */
export function readMember(
  c: ConsortiumContracts,
  address: Address,
  blockNumber?: bigint,
): Promise<MemberInfo> {
  return reading(async () => {
    const m = await c.registry.read.getMember([address], blockNumber === undefined ? {} : { blockNumber });
    return {
      address: getAddress(address),
      name: m.name,
      endpoint: m.endpoint,
      encryptionKey: new Uint8Array(Buffer.from(m.encryptionKey.slice(2), 'hex')),
      active: m.active,
      roles: m.roles,
      admission: m.admission,
    };
  });
}

/** Read the grant stored for (patient, grantee), at `blockNumber` when given; undefined when none. */
export function readGrant(
  c: ConsortiumContracts,
  patient: Address,
  grantee: Address,
  blockNumber?: bigint,
): Promise<GrantTerms | undefined> {
  return reading(async () => {
    const g = await c.consent.read.getGrant(
      [patient, grantee],
      blockNumber === undefined ? {} : { blockNumber },
    );
    if (g.categories === 0) return undefined;
    return {
      categories: g.categories,
      purposes: g.purposes,
      validFrom: g.validFrom,
      expiry: g.expiry,
      granteeAdmission: g.granteeAdmission,
    };
  });
}

/** The consortium as read from the chain, every call a contract read at the latest block. */
export function chainConsortium(conn: ChainConnection, manifest: DeploymentManifest): ConsortiumView {
  const c = consortiumContracts(conn, manifest);
  const member = (address: Address): Promise<MemberInfo> => readMember(c, address);
  return {
    member,
    activeMembers: () =>
      reading(async () =>
        (await Promise.all((await c.registry.read.memberAccounts()).map(member))).filter((m) => m.active),
      ),
    latestHead: (m) =>
      reading(async () => {
        const h = await c.auditAnchor.read.latestHead([m]);
        return { treeSize: Number(h.treeSize), rootHash: h.rootHash };
      }),
    grantOf: (patient, grantee) => readGrant(c, patient, grantee),
  };
}
