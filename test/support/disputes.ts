/**
 * Test support for the dispute relay: an embedded chain with a provider and a payer, claims put on
 * chain and decided (submitBatch + decideFirst, as the provider and payer nodes do), and a member
 * node whose open `POST /claims/dispute` relays through its own outbox, listening on 127.0.0.1.
 */
import type { Address, Hex } from 'viem';
import {
  buildClaimBatch,
  linesHash,
  patientCommitment,
  random32,
  ruleSetId,
} from '../../src/chain/claimBatch.js';
import { CLAIM_STATE, type ClaimState, chainClaims } from '../../src/chain/claimsView.js';
import { claimsAbi } from '../../src/chain/generated/index.js';
import { Outbox } from '../../src/chain/outbox.js';
import { writeAndWait } from '../../src/chain/transact.js';
import { chainDisputeDeps, relayDispute } from '../../src/claims/disputeRelay.js';
import { loadEditTables } from '../../src/claims/tableFiles.js';
import { startTestChain, type TestChain, type TestMember, walletForTest } from './testChain.js';
import { startTestNode, type TestNode } from './testNode.js';

const HOSPITAL = 1;
const INSURER = 8;
const RULES = ruleSetId([loadEditTables().ptp, loadEditTables().mue]);

export interface DisputeFixture {
  t: TestChain;
  claims: Address;
  provider: TestMember;
  payer: TestMember;
  /** The relaying member node (its outbox signs with a fresh account). */
  node: TestNode;
  outbox: Outbox;
  url: string;
  /** A claim billed in `patient`'s name, decided `to` by the payer; its id and the salt. */
  claim(patient: Address, to?: 'approved' | 'pended' | 'denied'): Promise<{ claimId: Hex; salt: Hex }>;
  stateOf(claimId: Hex): Promise<ClaimState | undefined>;
  /** The payer decides a disputed (or pended) claim approved again. */
  approveAgain(claimId: Hex): Promise<unknown>;
  /** The payer marks the claim paid (throws the contract's error when it may not). */
  markPaid(claimId: Hex): Promise<unknown>;
  /** The chain's domain for dispute signatures. */
  domain: { chainId: number; verifyingContract: Address };
  post(body: unknown): Promise<{ status: number; json: Record<string, unknown> }>;
  close(): Promise<void>;
}

export async function startDisputeFixture(): Promise<DisputeFixture> {
  const t = await startTestChain({ memberCount: 2, memberRoles: [HOSPITAL, INSURER] });
  const [provider, payer] = t.members as [TestMember, TestMember];
  const claims = t.manifest.contracts.Claims as Address;
  // biome-ignore lint/suspicious/noExplicitAny: one helper for every Claims function
  const send = (by: TestMember, functionName: any, args: readonly unknown[]) =>
    writeAndWait(t.conn, by.wallet, { address: claims, abi: claimsAbi, functionName, args } as never);
  await send(payer, 'anchorRuleSet', [RULES]);
  // The provider's line-key hash, pinned once before its first batch (any 32 bytes: no payer opens it here).
  await send(provider, 'registerLineKey', [random32()]);
  const relayer = walletForTest(t);
  let outbox: Outbox | undefined;
  const node = await startTestNode({
    deps: (n) => {
      outbox = new Outbox(n.db, t.conn, relayer.wallet);
      return {
        relayDispute: (body) =>
          relayDispute(
            chainDisputeDeps(t.conn, t.manifest, outbox as Outbox, relayer.wallet.account.address),
            body,
          ),
      };
    },
  });
  const url = await node.app.listen({ host: '127.0.0.1', port: 0 });
  const view = chainClaims(t.conn, t.manifest);
  return {
    t,
    claims,
    provider,
    payer,
    node,
    outbox: outbox as Outbox,
    url,
    domain: { chainId: t.conn.chain.id, verifyingContract: claims },
    claim: async (patient, to = 'approved') => {
      const salt = random32();
      const lines = [random32()];
      const leaf = {
        claimId: random32(),
        provider: provider.input.account,
        payer: payer.input.account,
        patientCommitment: patientCommitment(patient, salt),
        linesHash: linesHash(lines),
        billed: 10_000n,
      };
      const batch = buildClaimBatch([leaf]);
      await send(provider, 'submitBatch', [payer.input.account, batch.root, 1, lines]);
      await send(payer, 'decideFirst', [
        batch.root,
        leaf,
        batch.proofs.get(leaf.claimId),
        CLAIM_STATE.indexOf(to),
        0,
        to === 'approved' ? 10_000n : 0n,
        RULES,
      ]);
      return { claimId: leaf.claimId, salt };
    },
    stateOf: async (id) => (await view.claimOf(id))?.state,
    approveAgain: (id) => send(payer, 'decide', [id, CLAIM_STATE.indexOf('approved'), 0, 10_000n, RULES]),
    markPaid: (id) => send(payer, 'markPaid', [id]),
    post: async (body) => {
      const r = await fetch(`${url}/claims/dispute`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
      });
      return { status: r.status, json: (await r.json()) as Record<string, unknown> };
    },
    close: async () => {
      await node.close();
      await t.close();
    },
  };
}

/** The text of an OperationOutcome's first issue. */
export const outcomeText = (json: Record<string, unknown>): string =>
  (json as { issue?: { details?: { text?: string } }[] }).issue?.[0]?.details?.text ?? '';

/** A deadline an hour from now (Unix seconds). */
export const inAnHour = (): bigint => BigInt(Math.floor(Date.now() / 1000) + 3600);
