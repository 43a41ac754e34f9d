/**
 * A member node's view of the consortium on chain: who the members are, their endpoints and
 * encryption keys, and what the patients consented to. Reads only; standard eth_call.
 */
import { type Address, getAddress } from 'viem';
import type { ChainConnection } from './clients.js';
import type { GrantTerms } from './consentModel.js';
import { consortiumContracts } from './contracts.js';
import type { DeploymentManifest } from './manifest.js';
import { type Category, categoryBit, type Purpose, purposeBit } from './scopes.js';

/** A member as the Registry records it (`getMember`), active or removed. */
export interface MemberInfo {
  address: Address;
  name: string;
  endpoint: string;
  encryptionKey: Uint8Array;
  active: boolean;
  /** Registry organization-role bitmask (ROLE_HOSPITAL ...), as stored; check `active` before trusting it. */
  roles: number;
  /** The member's latest admission number (Registry `admissionOf`); a grant permits only for this one. */
  admission: number;
}

export interface ConsortiumView {
  member(address: Address): Promise<MemberInfo>;
  activeMembers(): Promise<MemberInfo[]>;
  isPermitted(
    patient: Address,
    grantee: Address,
    category: Category,
    purpose: Purpose,
    atSeconds: bigint,
  ): Promise<boolean>;
  /** The latest log head `member` anchored on chain (size 0 when none). */
  latestHead(member: Address): Promise<{ treeSize: number; rootHash: `0x${string}` }>;
  /** The grant stored for (patient, grantee), or undefined when none; it may name an earlier admission. */
  grantOf(patient: Address, grantee: Address): Promise<GrantTerms | undefined>;
}

/** The consortium view read from the deployed contracts. */
export function chainConsortium(conn: ChainConnection, manifest: DeploymentManifest): ConsortiumView {
  const c = consortiumContracts(conn, manifest);
  const member = async (address: Address): Promise<MemberInfo> => {
    const m = await c.registry.read.getMember([address]);
    return {
      address: getAddress(address),
      name: m.name,
      endpoint: m.endpoint,
      encryptionKey: new Uint8Array(Buffer.from(m.encryptionKey.slice(2), 'hex')),
      active: m.active,
      roles: m.roles,
      admission: m.admission,
    };
  };
  return {
    member,
    activeMembers: async () =>
      (await Promise.all((await c.registry.read.memberAccounts()).map(member))).filter((m) => m.active),
    latestHead: async (m) => {
      const h = await c.auditAnchor.read.latestHead([m]);
      return { treeSize: Number(h.treeSize), rootHash: h.rootHash };
    },
    grantOf: async (patient, grantee) => {
      const g = await c.consent.read.getGrant([patient, grantee]);
      return g.categories === 0 ? undefined : g;
    },
    isPermitted: (patient, grantee, category, purpose, at) =>
      c.consent.read.isPermitted([patient, grantee, categoryBit(category), purposeBit(purpose), at]),
  };
}
