/**
 * The EIP-712 `Dispute(bytes32 claimId, uint32 round, uint256 deadline)` a patient signs to dispute
 * a claim billed in their name (contracts/Claims.sol DISPUTE_TYPEHASH). Pure and free of Node
 * APIs: the CLI, the node's tests and the portal (web/) build and sign the same typed data here.
 */
import type { Address, Hex, LocalAccount } from 'viem';
import { ChainError } from './chainError.js';
import type { DeploymentManifest } from './manifest.js';

export const CLAIMS_DOMAIN_NAME = 'medchain Claims';
export const CLAIMS_DOMAIN_VERSION = '1';

export const disputeTypes = {
  Dispute: [
    { name: 'claimId', type: 'bytes32' },
    { name: 'round', type: 'uint32' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** The EIP-712 `Dispute` message. */
export interface DisputeMessage {
  /** The claim's random 32-byte id on chain (not its FHIR id). */
  claimId: Hex;
  /** The claim's current dispute count (Claims.claimOf(claimId).disputes): each round signs once. */
  round: number;
  /** Last block timestamp (seconds) at which the signature may be used. */
  deadline: bigint;
}

/** The EIP-712 domain of a deployed Claims contract. */
export function claimsDomain(d: { chainId: number; verifyingContract: Address }) {
  return {
    name: CLAIMS_DOMAIN_NAME,
    version: CLAIMS_DOMAIN_VERSION,
    chainId: d.chainId,
    verifyingContract: d.verifyingContract,
  } as const;
}

/** The typed data of a dispute for the deployment's Claims contract (for any EIP-712 signer). */
export function disputeTypedData(
  m: { chainId: number; contracts: Pick<DeploymentManifest['contracts'], 'Claims'> },
  message: DisputeMessage,
) {
  const claims = m.contracts.Claims;
  if (!claims) throw new ChainError('claims-not-deployed', 'this deployment has no Claims contract');
  return {
    domain: claimsDomain({ chainId: m.chainId, verifyingContract: claims }),
    types: disputeTypes,
    primaryType: 'Dispute' as const,
    message,
  };
}

/** The patient's signature disputing `claimId` (EIP-712 `Dispute` of contracts/Claims.sol). */
export function signDispute(
  patient: LocalAccount,
  domain: { chainId: number; verifyingContract: Address },
  message: DisputeMessage,
): Promise<Hex> {
  return patient.signTypedData({
    domain: claimsDomain(domain),
    types: disputeTypes,
    primaryType: 'Dispute',
    message,
  });
}
