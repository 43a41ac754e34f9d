/**
 * What the portal reads from the chain itself (standard eth_call over the RPC URL the node
 * publishes): the members and their endpoints, a patient's consent, and the heads members
 * anchored. The portal never takes a node's word for these.
 */
import { type Address, createPublicClient, getAddress, type Hex, http, type PublicClient } from 'viem';
import { type GrantState, grantState } from '../../../src/chain/consentModel.js';
import { auditAnchorAbi, consentAbi, registryAbi } from '../../../src/chain/generated/index.js';
import { maskToCategories, maskToPurposes, maskToRoles } from '../../../src/chain/scopes.js';
import { anchoredRoot, type ReadAnchor } from '../../../src/log/disclosures.js';
import { ApiError, call } from './api.js';

export interface PortalConfig {
  member: { address: Address; name: string };
  chain: {
    chainId: number;
    /** The node's `/rpc` (a path on it), or an operator's public RPC URL. */
    rpcUrl: string;
    contracts: { Registry: Address; Consent: Address; AuditAnchor: Address; Claims?: Address };
  } | null;
}

export interface Member {
  address: Address;
  name: string;
  endpoint: string;
  roles: string[];
  active: boolean;
  since: number;
  /** The member's latest admission number (Registry `admissionOf`). */
  admission: number;
}

export interface GrantView {
  member: Member;
  categories: string[];
  purposes: string[];
  validFrom: number;
  expiry: number;
  /** The member admission the patient consented to; not in force once the member was re-admitted. */
  granteeAdmission: number;
  state: GrantState;
}

/** The RPC URL of a portal config as an absolute URL: a path (`/rpc`) is on the node at `origin`. */
export function resolveRpcUrl(rpcUrl: string, origin: string): string {
  return new URL(rpcUrl, origin).href;
}

export class Chain {
  readonly client: PublicClient;
  constructor(readonly config: NonNullable<PortalConfig['chain']>) {
    const url = resolveRpcUrl(config.rpcUrl, window.location.origin);
    this.client = createPublicClient({ transport: http(url, { timeout: 15_000, retryCount: 1 }) });
  }

  async members(): Promise<Member[]> {
    const c = this.config.contracts;
    const accounts = await this.client.readContract({
      address: c.Registry,
      abi: registryAbi,
      functionName: 'memberAccounts',
    });
    return Promise.all(
      accounts.map(async (a) => {
        const m = await this.client.readContract({
          address: c.Registry,
          abi: registryAbi,
          functionName: 'getMember',
          args: [a],
        });
        return {
          address: getAddress(a),
          name: m.name,
          endpoint: m.endpoint,
          roles: maskToRoles(m.roles),
          active: m.active,
          since: Number(m.since),
          admission: m.admission,
        };
      }),
    );
  }

  async now(): Promise<number> {
    return Number((await this.client.getBlock()).timestamp);
  }

  /** The member's current admission number, read now (a grant must name it). */
  async admissionOf(member: Address): Promise<number> {
    return this.client.readContract({
      address: this.config.contracts.Registry,
      abi: registryAbi,
      functionName: 'admissionOf',
      args: [member],
    });
  }

  async nonce(patient: Address): Promise<bigint> {
    return this.client.readContract({
      address: this.config.contracts.Consent,
      abi: consentAbi,
      functionName: 'nonces',
      args: [patient],
    });
  }

  /** The consent `patient` has given each member (members with none are left out). */
  async grants(patient: Address, members: readonly Member[]): Promise<GrantView[]> {
    const now = await this.now();
    const out: GrantView[] = [];
    for (const member of members) {
      const g = await this.client.readContract({
        address: this.config.contracts.Consent,
        abi: consentAbi,
        functionName: 'getGrant',
        args: [patient, member.address],
      });
      if (g.categories === 0) continue;
      const validFrom = Number(g.validFrom);
      const expiry = Number(g.expiry);
      out.push({
        member,
        categories: maskToCategories(g.categories),
        purposes: maskToPurposes(g.purposes),
        validFrom,
        expiry,
        granteeAdmission: g.granteeAdmission,
        // The one consent rule (src/chain/consentModel.ts), as the contract's isPermitted applies it.
        state: grantState(g, member, BigInt(now)),
      });
    }
    return out;
  }

  /** The size of the latest head `member` anchored (0 when none). */
  async latestAnchoredSize(member: Address): Promise<number> {
    const h = await this.client.readContract({
      address: this.config.contracts.AuditAnchor,
      abi: auditAnchorAbi,
      functionName: 'latestHead',
      args: [member],
    });
    return Number(h.treeSize);
  }

  /** The root `member` anchored for a head of `treeSize`, or undefined. */
  anchoredRoot(member: Address, treeSize: number): Promise<Hex | undefined> {
    return anchoredRoot(
      this.client.readContract as unknown as ReadAnchor,
      this.config.contracts.AuditAnchor,
      member,
      treeSize,
    );
  }
}

/** This node's portal config, and the chain it names. */
export async function loadConfig(): Promise<{ config: PortalConfig; chain: Chain | null }> {
  const config = await call<PortalConfig>(window.location.origin, '/portal/config', {
    who: 'This member node',
  });
  return { config, chain: config.chain ? new Chain(config.chain) : null };
}

/** A readable chain failure. */
export function chainError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return new ApiError('offline', 'The chain cannot be reached; the consortium network may be down.');
}
