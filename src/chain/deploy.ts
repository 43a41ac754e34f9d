/**
 * Idempotent deployment of the consortium contracts. If a manifest exists and every contract in it
 * has code on this chain, nothing is sent and the manifest is returned; otherwise the contracts
 * are deployed and the manifest written atomically (only after all of them are mined).
 */
import type { Abi, Address, Hex } from 'viem';
import { ChainError } from './chainError.js';
import type { ChainConnection, ChainWallet } from './clients.js';
import {
  auditAnchorAbi,
  auditAnchorBytecode,
  claimsAbi,
  claimsBytecode,
  consentAbi,
  consentBytecode,
  drugLedgerAbi,
  drugLedgerBytecode,
  registryAbi,
  registryBytecode,
} from './generated/index.js';
import { CONTRACT_NAMES, type DeploymentManifest, readManifest, writeManifest } from './manifest.js';

/** A genesis (or candidate) member as the Registry takes it. */
export interface MemberInput {
  account: Address;
  roles: number;
  /** X25519 public key, 32 bytes hex. */
  encryptionKey: Hex;
  name: string;
  endpoint: string;
}

export interface DeployOptions {
  genesis: readonly MemberInput[];
  /** Percent of active members needed to admit or remove one (1..100). Default 51 (a majority). */
  quorumPercent?: number;
  /** Where the manifest lives; makes the deployment idempotent. */
  manifestFile: string;
}

export interface DeployResult {
  manifest: DeploymentManifest;
  /** False when an existing deployment was found and reused. */
  deployed: boolean;
}

export async function deployContracts(
  conn: ChainConnection,
  deployer: ChainWallet,
  opts: DeployOptions,
): Promise<DeployResult> {
  const existing = readManifest(opts.manifestFile);
  if (existing) {
    if (existing.chainId !== conn.chain.id) {
      throw new ChainError(
        'manifest-chain-mismatch',
        `${opts.manifestFile} is for chain ${existing.chainId} but the RPC serves chain ${conn.chain.id}`,
      );
    }
    const missing: string[] = [];
    for (const name of CONTRACT_NAMES) {
      const code = await conn.publicClient.getCode({ address: existing.contracts[name] });
      if (!code || code === '0x') missing.push(name);
    }
    if (missing.length === 0) {
      if (existing.contracts.Claims !== undefined) {
        const code = await conn.publicClient.getCode({ address: existing.contracts.Claims });
        if (!code || code === '0x') {
          throw new ChainError(
            'deployment-missing',
            `the chain has no code for Claims listed in ${opts.manifestFile}; the chain state was lost or reset`,
            { details: ['move the manifest aside to deploy afresh, or point at the chain it was made for'] },
          );
        }
        return { manifest: existing, deployed: false };
      }
      // A deployment from before Claims was part of it: add Claims beside it, keep the rest.
      const upgraded = await deployClaimsContract(conn, deployer, existing);
      writeManifest(opts.manifestFile, upgraded);
      return { manifest: upgraded, deployed: false };
    }
    throw new ChainError(
      'deployment-missing',
      `the chain has no code for ${missing.join(', ')} listed in ${opts.manifestFile}; the chain state was lost or reset`,
      { details: ['move the manifest aside to deploy afresh, or point at the chain it was made for'] },
    );
  }
  const quorumPercent = opts.quorumPercent ?? 51;
  const registry = await deployOne(conn, deployer, 'Registry', registryAbi, registryBytecode, [
    opts.genesis.map((m) => ({ ...m })),
    quorumPercent,
  ]);
  const consent = await deployOne(conn, deployer, 'Consent', consentAbi, consentBytecode, [registry.address]);
  const anchor = await deployOne(conn, deployer, 'AuditAnchor', auditAnchorAbi, auditAnchorBytecode, [
    registry.address,
  ]);
  const drugLedger = await deployDrugLedger(conn, deployer, registry.address);
  const claims = await deployOne(conn, deployer, 'Claims', claimsAbi, claimsBytecode, [registry.address]);
  const manifest: DeploymentManifest = {
    version: 1,
    chainId: conn.chain.id,
    deploymentBlock: registry.block,
    quorumPercent,
    contracts: {
      Registry: registry.address,
      Consent: consent.address,
      AuditAnchor: anchor.address,
      DrugLedger: drugLedger.address,
      Claims: claims.address,
    },
  };
  writeManifest(opts.manifestFile, manifest);
  return { manifest, deployed: true };
}

/** Deploy a DrugLedger beside an existing Registry (deployContracts does it for a new deployment). */
export async function deployDrugLedger(
  conn: ChainConnection,
  deployer: ChainWallet,
  registry: Address,
): Promise<{ address: Address; block: number }> {
  return deployOne(conn, deployer, 'DrugLedger', drugLedgerAbi, drugLedgerBytecode, [registry]);
}

/**
 * The manifest with a DrugLedger: `manifest` itself when it names one with code on this chain;
 * otherwise (a deployment made before DrugLedger was part of it) one is deployed beside its
 * Registry and the manifest rewritten in `manifestFile`.
 */
export async function ensureDrugLedger(
  conn: ChainConnection,
  deployer: ChainWallet,
  manifest: DeploymentManifest,
  manifestFile: string,
): Promise<{ manifest: DeploymentManifest; deployed: boolean }> {
  const known = manifest.contracts.DrugLedger;
  if (known) {
    const code = await conn.publicClient.getCode({ address: known });
    if (code && code !== '0x') return { manifest, deployed: false };
    throw new ChainError(
      'deployment-missing',
      `the chain has no code for DrugLedger listed in ${manifestFile}; the chain state was lost or reset`,
      { details: ['move the manifest aside to deploy afresh, or point at the chain it was made for'] },
    );
  }
  const { address } = await deployDrugLedger(conn, deployer, manifest.contracts.Registry);
  const next = { ...manifest, contracts: { ...manifest.contracts, DrugLedger: address } };
  writeManifest(manifestFile, next);
  return { manifest: next, deployed: true };
}

/**
 * Deploy the Claims contract beside an existing deployment's Registry and return the manifest
 * naming it (`deployContracts` uses it to add Claims to a deployment made before Claims existed);
 * the caller writes the manifest if it keeps one.
 */
export async function deployClaimsContract(
  conn: ChainConnection,
  deployer: ChainWallet,
  manifest: DeploymentManifest,
): Promise<DeploymentManifest> {
  const claims = await deployOne(conn, deployer, 'Claims', claimsAbi, claimsBytecode, [
    manifest.contracts.Registry,
  ]);
  return { ...manifest, contracts: { ...manifest.contracts, Claims: claims.address } };
}

async function deployOne(
  conn: ChainConnection,
  wallet: ChainWallet,
  name: string,
  abi: Abi,
  bytecode: Hex,
  args: readonly unknown[],
): Promise<{ address: Address; block: number }> {
  try {
    const gasPrice = await conn.publicClient.getGasPrice();
    const hash = await wallet.deployContract({ abi, bytecode, args, gasPrice } as never);
    const receipt = await conn.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 });
    if (receipt.status !== 'success' || !receipt.contractAddress) {
      throw new ChainError('deploy-reverted', `deploying ${name} reverted`);
    }
    return { address: receipt.contractAddress, block: Number(receipt.blockNumber) };
  } catch (err) {
    if (err instanceof ChainError) throw err;
    throw new ChainError('deploy-failed', `deploying ${name} failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
