/**
 * EIP-712 typed data for patient consent (contracts/Consent.sol), and signing it with the
 * patient's own key. Used by the CLI and tests; the portal builds the same structure in the browser.
 */
import type { Address, Hex, LocalAccount } from 'viem';
import type { DeploymentManifest } from './manifest.js';

export const CONSENT_DOMAIN_NAME = 'medchain Consent';
export const CONSENT_DOMAIN_VERSION = '1';

export const grantTypes = {
  Grant: [
    { name: 'patient', type: 'address' },
    { name: 'grantee', type: 'address' },
    { name: 'granteeAdmission', type: 'uint32' },
    { name: 'categories', type: 'uint16' },
    { name: 'purposes', type: 'uint8' },
    { name: 'validFrom', type: 'uint64' },
    { name: 'expiry', type: 'uint64' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

export const revokeTypes = {
  Revoke: [
    { name: 'patient', type: 'address' },
    { name: 'grantee', type: 'address' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** The EIP-712 `Grant` message (contracts/Consent.sol GRANT_TYPEHASH). */
export interface GrantRequest {
  patient: Address;
  grantee: Address;
  /**
   * The grantee's current admission (Registry `admissionOf`) the patient consents to; the contract
   * refuses any other, and a re-admitted member's old grants stop permitting.
   */
  granteeAdmission: number;
  categories: number;
  purposes: number;
  /** Seconds since the Unix epoch. */
  validFrom: bigint;
  expiry: bigint;
  nonce: bigint;
  /** Last block timestamp (seconds) at which the signature may be used. */
  deadline: bigint;
}

/** The EIP-712 `Revoke` message. */
export interface RevokeRequest {
  patient: Address;
  grantee: Address;
  nonce: bigint;
  deadline: bigint;
}

/** The EIP-712 domain of the deployed Consent contract. */
export function consentDomain(m: Pick<DeploymentManifest, 'chainId' | 'contracts'>) {
  return {
    name: CONSENT_DOMAIN_NAME,
    version: CONSENT_DOMAIN_VERSION,
    chainId: m.chainId,
    verifyingContract: m.contracts.Consent,
  } as const;
}

/** Sign a grant as the patient (EIP-712 `Grant`). */
export function signGrant(
  patient: LocalAccount,
  manifest: Pick<DeploymentManifest, 'chainId' | 'contracts'>,
  g: GrantRequest,
): Promise<Hex> {
  return patient.signTypedData({
    domain: consentDomain(manifest),
    types: grantTypes,
    primaryType: 'Grant',
    message: g,
  });
}

/** Sign a revoke as the patient (EIP-712 `Revoke`). */
export function signRevoke(
  patient: LocalAccount,
  manifest: Pick<DeploymentManifest, 'chainId' | 'contracts'>,
  r: RevokeRequest,
): Promise<Hex> {
  return patient.signTypedData({
    domain: consentDomain(manifest),
    types: revokeTypes,
    primaryType: 'Revoke',
    message: r,
  });
}
