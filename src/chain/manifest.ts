/**
 * The deployment manifest: which chain, which contract addresses, from which block. Written once
 * by deployment and read by every node and CLI command that talks to the contracts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { type Address, isAddress } from 'viem';
import { InvalidInputError } from '../errors.js';
import { writeFileAtomic } from '../util/atomicFile.js';

export const CONTRACT_NAMES = ['Registry', 'Consent', 'AuditAnchor'] as const;
export type ContractName = (typeof CONTRACT_NAMES)[number];
/**
 * Contracts added after the first deployments: `deployContracts` deploys them (and adds them to a
 * manifest that lacks them), but a manifest written before them stays valid without them.
 */
export const OPTIONAL_CONTRACT_NAMES = ['Claims', 'DrugLedger'] as const;
export type OptionalContractName = (typeof OPTIONAL_CONTRACT_NAMES)[number];

export interface DeploymentManifest {
  version: 1;
  chainId: number;
  /** Block of the first deployment transaction: where event scans start. */
  deploymentBlock: number;
  quorumPercent: number;
  contracts: Record<ContractName, Address> & Partial<Record<OptionalContractName, Address>>;
}

/** Parse and validate a manifest object (from a file or a peer). */
export function parseManifest(value: unknown, source = 'manifest'): DeploymentManifest {
  const v = value as Partial<DeploymentManifest> | null;
  const bad = (what: string) => new InvalidInputError(`${source}: ${what}`);
  if (typeof v !== 'object' || v === null) throw bad('not a JSON object');
  if (v.version !== 1) throw bad(`unsupported version ${String(v.version)}`);
  if (!Number.isSafeInteger(v.chainId) || (v.chainId as number) <= 0)
    throw bad('chainId must be a positive integer');
  if (!Number.isSafeInteger(v.deploymentBlock) || (v.deploymentBlock as number) < 0) {
    throw bad('deploymentBlock must be a non-negative integer');
  }
  if (!Number.isSafeInteger(v.quorumPercent)) throw bad('quorumPercent must be an integer');
  const contracts = v.contracts as Record<string, unknown> | undefined;
  if (typeof contracts !== 'object' || contracts === null) throw bad('contracts missing');
  for (const name of CONTRACT_NAMES) {
    const a = contracts[name];
    if (typeof a !== 'string' || !isAddress(a)) throw bad(`contracts.${name} is not an address`);
  }
  for (const name of OPTIONAL_CONTRACT_NAMES) {
    const a = contracts[name];
    if (a !== undefined && (typeof a !== 'string' || !isAddress(a)))
      throw bad(`contracts.${name} is not an address`);
  }
  return v as DeploymentManifest;
}

export function readManifest(file: string): DeploymentManifest | undefined {
  if (!existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new InvalidInputError(`${file} is not valid JSON`, { cause });
  }
  return parseManifest(json, file);
}

export function writeManifest(file: string, m: DeploymentManifest): void {
  writeFileAtomic(file, `${JSON.stringify(m, null, 2)}\n`);
}
