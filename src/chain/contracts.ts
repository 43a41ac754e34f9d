/** Typed read bindings for the deployed consortium contracts (viem `getContract`, ABIs `as const`). */
import { getContract } from 'viem';
import { ChainError } from './chainError.js';
import type { ChainConnection } from './clients.js';
import { auditAnchorAbi, claimsAbi, consentAbi, drugLedgerAbi, registryAbi } from './generated/index.js';
import type { DeploymentManifest } from './manifest.js';

export function consortiumContracts(conn: ChainConnection, m: DeploymentManifest) {
  const client = conn.publicClient;
  return {
    registry: getContract({ address: m.contracts.Registry, abi: registryAbi, client }),
    consent: getContract({ address: m.contracts.Consent, abi: consentAbi, client }),
    auditAnchor: getContract({ address: m.contracts.AuditAnchor, abi: auditAnchorAbi, client }),
  };
}

/** The DrugLedger binding, or undefined for a deployment made before it was part of one. */
export function drugLedgerContract(conn: ChainConnection, m: DeploymentManifest) {
  const address = m.contracts.DrugLedger;
  return address ? getContract({ address, abi: drugLedgerAbi, client: conn.publicClient }) : undefined;
}

export type DrugLedgerContract = NonNullable<ReturnType<typeof drugLedgerContract>>;

export type ConsortiumContracts = ReturnType<typeof consortiumContracts>;

/**
 * The Claims contract of a deployment. A manifest from before Claims was deployed names none:
 * that is a ChainError telling the operator to redeploy (deployContracts adds it), not a crash.
 */
export function claimsContract(conn: ChainConnection, m: DeploymentManifest) {
  const address = m.contracts.Claims;
  if (address === undefined) {
    throw new ChainError('claims-not-deployed', 'this deployment has no Claims contract', {
      details: ['run the deployment again (medchain up): it adds Claims beside the existing contracts'],
    });
  }
  return getContract({ address, abi: claimsAbi, client: conn.publicClient });
}

export type ClaimsContract = ReturnType<typeof claimsContract>;
