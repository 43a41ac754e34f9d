/**
 * The insurer's side of a claim submission, before the rules run: check that the batch leaf the
 * provider anchored on chain is this claim (claim id, provider, payer, salted patient commitment,
 * keyed line commitments, billed total; Merkle proof; the batch is the provider's, to this payer,
 * and every line is committed), then gather the adjudication context the rules take: the
 * Encounters' evidence with the anchored heads read from chain, and the lines another payer holds.
 * Coverage and history come from the insurer's own store (the caller passes them).
 */
import type { Address, Hex } from 'viem';
import { type ClaimLeaf, linesHash, patientCommitment, verifyClaimProof } from '../chain/claimBatch.js';
import type { ClaimsView } from '../chain/claimsView.js';
// The wire shape only (a type): the parsing lives with the other wire messages.
import type { ClaimSubmission } from '../federation/claimSubmissionWire.js';
import { ClaimSubmissionRefusedError } from './claimsError.js';
import { claimLineCommitments } from './lineCommitment.js';
import type {
  AdjudicationContext,
  ClaimInput,
  CoverageFacts,
  EncounterEvidence,
  PriorLine,
} from './model.js';

/** The chain reads the insurer needs (a ClaimsView satisfies it). */
export type SubmissionChain = Pick<
  ClaimsView,
  'anchoredHead' | 'heldByOtherPayer' | 'isCommitted' | 'batchOf'
>;

export interface SubmissionInputs {
  /** This insurer's account: the claim must name it, and the batch must be to it. */
  self: Address;
  /** The member that signed the submission: must be the claim's provider. */
  sender: Address;
  /** The provider's line-commitment key, checked against its pinned hash (lineKey.ts). */
  commitmentKey: Uint8Array;
  coverage: CoverageFacts | undefined;
  history: readonly PriorLine[];
}

export interface CheckedSubmission {
  leaf: ClaimLeaf;
  root: Hex;
  proof: readonly Hex[];
  /** How many claims the batch `root` anchors (its record on chain). */
  batchClaims: number;
  /** The keyed commitment of each line, in sequence order. */
  commitments: readonly Hex[];
  context: AdjudicationContext;
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const hexToBytes = (h: Hex) => new Uint8Array(Buffer.from(h.slice(2), 'hex'));

/** Check the submission against the chain and gather the context; throws ClaimSubmissionRefusedError. */
export async function checkSubmission(
  claim: ClaimInput,
  sub: ClaimSubmission,
  chain: SubmissionChain,
  inputs: SubmissionInputs,
): Promise<CheckedSubmission> {
  if (!same(claim.provider, inputs.sender))
    throw new ClaimSubmissionRefusedError(
      'a provider submits only its own claims (Claim.provider is another member)',
    );
  if (!same(claim.payer, inputs.self))
    throw new ClaimSubmissionRefusedError('the claim names another insurer');
  const lines = [...claim.lines].sort((a, b) => a.sequence - b.sequence);
  const commitments = claimLineCommitments(inputs.commitmentKey, claim);
  const leaf: ClaimLeaf = {
    claimId: sub.batch.claimId,
    provider: claim.provider,
    payer: claim.payer,
    patientCommitment: patientCommitment(claim.patient, sub.batch.salt),
    linesHash: linesHash(commitments),
    billed: BigInt(claim.total),
  };
  if (!verifyClaimProof(sub.batch.root, leaf, sub.batch.proof))
    throw new ClaimSubmissionRefusedError('the claim is not the leaf its proof proves in the batch root');
  // Every chain read at once (one JSON-RPC batch where the client batches), judged in order below.
  const settled = <T>(p: Promise<T>) =>
    p.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
  const reads = {
    batch: settled(chain.batchOf(sub.batch.root)),
    committed: settled(Promise.all(commitments.map((c) => chain.isCommitted(claim.provider, c)))),
    held: settled(
      Promise.all(commitments.map((c) => chain.heldByOtherPayer(claim.provider, c, inputs.self))),
    ),
    heads: settled(Promise.all(sub.evidence.map((e) => chain.anchoredHead(claim.provider, e.treeSize)))),
  };
  const value = async <T>(p: Promise<{ value: T } | { error: unknown }>): Promise<T> => {
    const r = await p;
    if ('error' in r) throw r.error;
    return r.value;
  };
  const batch = await value(reads.batch);
  if (batch.claimCount === 0) throw new ClaimSubmissionRefusedError('the batch is not anchored on chain');
  if (!same(batch.provider, claim.provider) || !same(batch.payer, inputs.self))
    throw new ClaimSubmissionRefusedError('the batch on chain is another provider’s or to another payer');
  const committed = await value(reads.committed);
  if (committed.includes(false))
    throw new ClaimSubmissionRefusedError('a line of the claim is not committed on chain');

  const held = await value(reads.held);
  const crossPayerDuplicates = new Set(lines.filter((_, i) => held[i]).map((l) => l.sequence));

  const heads = await value(reads.heads);
  const evidence = new Map<string, EncounterEvidence>();
  for (const [i, e] of sub.evidence.entries()) {
    const head = heads[i];
    evidence.set(e.encounterId, {
      encounterId: e.encounterId,
      exists: true,
      entry: new Uint8Array(Buffer.from(e.entry, 'base64')),
      proof: e.path.map(hexToBytes),
      // No head of that size anchored by the provider: no proof, the rule pends the line.
      ...(head
        ? {
            anchoredHead: {
              treeSize: head.treeSize,
              rootHash: hexToBytes(head.rootHash),
              anchoredAt: head.anchoredAt,
            },
          }
        : {}),
    });
  }
  return {
    leaf,
    root: sub.batch.root,
    proof: sub.batch.proof,
    batchClaims: batch.claimCount,
    commitments,
    context: { coverage: inputs.coverage, history: inputs.history, evidence, crossPayerDuplicates },
  };
}
