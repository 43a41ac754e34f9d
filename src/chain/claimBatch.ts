/**
 * Claim batches for contracts/Claims.sol: the leaf of each claim (OpenZeppelin StandardMerkleTree
 * leaf: keccak256(keccak256(abi.encode(ClaimLeaf)))), the Merkle tree over a batch with sorted
 * pair hashing as OpenZeppelin MerkleProof verifies it, per-claim proofs, the salted patient
 * commitment (the EIP-712 `Dispute` a patient signs is in disputeSignature.ts, re-exported here).
 */
import { type Address, concat, encodeAbiParameters, type Hex, keccak256 } from 'viem';
import { InvalidInputError } from '../errors.js';

/** One claim as Claims.sol's ClaimLeaf. */
export interface ClaimLeaf {
  /** A random 32-byte id the provider gives the claim (not its FHIR id). */
  claimId: Hex;
  provider: Address;
  payer: Address;
  patientCommitment: Hex;
  linesHash: Hex;
  /** Billed total, cents. */
  billed: bigint;
}

const LEAF_TYPES = [
  { type: 'bytes32' },
  { type: 'address' },
  { type: 'address' },
  { type: 'bytes32' },
  { type: 'bytes32' },
  { type: 'uint128' },
] as const;

/** The leaf hash Claims.leafHash computes. */
export function claimLeafHash(l: ClaimLeaf): Hex {
  return keccak256(
    keccak256(
      encodeAbiParameters(LEAF_TYPES, [
        l.claimId,
        l.provider,
        l.payer,
        l.patientCommitment,
        l.linesHash,
        l.billed,
      ]),
    ),
  );
}

/** keccak256(abi.encode(patient, salt)): the patient as the chain sees a claim's patient. */
export const patientCommitment = (patient: Address, salt: Hex): Hex =>
  keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'bytes32' }], [patient, salt]));

/** keccak256(abi.encode(bytes32[])) of a claim's line commitments in sequence order. */
export const linesHash = (commitments: readonly Hex[]): Hex =>
  keccak256(encodeAbiParameters([{ type: 'bytes32[]' }], [commitments]));

const byBytes = (a: Hex, b: Hex) =>
  a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0;
const pair = (a: Hex, b: Hex): Hex => keccak256(byBytes(a, b) <= 0 ? concat([a, b]) : concat([b, a]));

export interface ClaimBatch {
  root: Hex;
  leaves: readonly ClaimLeaf[];
  /** The proof of each claim, by claimId. */
  proofs: ReadonlyMap<Hex, Hex[]>;
}

/**
 * The batch tree: leaf hashes sorted, paired level by level with sorted-pair keccak256 (an odd
 * last node moves up unchanged), so MerkleProof.verify accepts each proof. Claim ids must be unique.
 */
export function buildClaimBatch(leaves: readonly ClaimLeaf[]): ClaimBatch {
  if (leaves.length === 0) throw new InvalidInputError('a claim batch needs at least one claim');
  const ids = new Set(leaves.map((l) => l.claimId.toLowerCase()));
  if (ids.size !== leaves.length) throw new InvalidInputError('claim ids in a batch must be unique');
  const hashed = leaves
    .map((leaf) => ({ leaf, hash: claimLeafHash(leaf) }))
    .sort((a, b) => byBytes(a.hash, b.hash));
  // position of each original leaf at the current level
  let level = hashed.map((h) => h.hash);
  const paths = hashed.map(() => [] as Hex[]);
  let at = hashed.map((_, i) => i);
  while (level.length > 1) {
    const next: Hex[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i] as Hex;
      const right = level[i + 1];
      next.push(right === undefined ? left : pair(left, right));
    }
    at = at.map((pos, leafIndex) => {
      const sibling = pos % 2 === 0 ? level[pos + 1] : level[pos - 1];
      if (sibling !== undefined) paths[leafIndex]?.push(sibling);
      return Math.floor(pos / 2);
    });
    level = next;
  }
  const proofs = new Map<Hex, Hex[]>();
  hashed.forEach((h, i) => {
    proofs.set(h.leaf.claimId, paths[i] as Hex[]);
  });
  return { root: level[0] as Hex, leaves, proofs };
}

/** MerkleProof.verify in TypeScript (for tests and for a payer checking a proof before it sends). */
export function verifyClaimProof(root: Hex, leaf: ClaimLeaf, proof: readonly Hex[]): boolean {
  return proof.reduce<Hex>((h, p) => pair(h, p), claimLeafHash(leaf)).toLowerCase() === root.toLowerCase();
}

// The patient's dispute signature lives in its own module so the portal can import it too.
export { CLAIMS_DOMAIN_NAME, CLAIMS_DOMAIN_VERSION, disputeTypes, signDispute } from './disputeSignature.js';

/** 32 random bytes, hex (a claim id or a patient salt). */
export const random32 = (): Hex =>
  `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')}`;

/**
 * The rule set a payer anchors (Claims.anchorRuleSet) and names in each decision:
 * keccak256(abi.encode(bytes32[] SHA-256 of each edit table, in the order applied)).
 */
export const ruleSetId = (tables: readonly { sha256: string }[]): Hex =>
  keccak256(encodeAbiParameters([{ type: 'bytes32[]' }], [tables.map((t) => `0x${t.sha256}` as Hex)]));
