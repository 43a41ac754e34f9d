/**
 * The insurer's check of a submission against the chain, with a chain double holding exactly what
 * the provider anchored: a faithful submission adjudicates clean; a claim for another provider,
 * a wrong salt or total, a batch to another payer or by another provider, an uncommitted line are
 * refused; a head not anchored pends the line (no evidence), a line held by another payer pends it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Address, Hex } from 'viem';
import {
  CLAIM_CREATED,
  claim,
  line,
  OTHER_PROVIDER,
  PAYER,
  PROVIDER,
  providerLog,
} from '../../test/support/claims.js';
import { buildClaimBatch, linesHash, patientCommitment } from '../chain/claimBatch.js';
import type { AnchoredHeadView, ClaimBatchRecord } from '../chain/claimsView.js';
import type { ClaimSubmission } from '../federation/claimSubmissionWire.js';
import { adjudicate } from './adjudicate.js';
import { ClaimSubmissionRefusedError } from './claimsError.js';
import { lineCommitment } from './lineCommitment.js';
import type { ClaimInput } from './model.js';
import { checkSubmission, type SubmissionChain } from './submissionContext.js';
import { loadEditTables } from './tableFiles.js';

const KEY = new Uint8Array(32).fill(7);
const SALT = `0x${'5a'.repeat(32)}` as Hex;
const CLAIM_ID = `0x${'c1'.repeat(32)}` as Hex;
const hex = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}`;
const COVERAGE = { status: 'active' as const, start: '2020-01-01', payer: PAYER };

/** What the provider anchored for `c`, the submission it sends, and a chain double holding it. */
function anchored(
  c: ClaimInput,
  over: { batch?: Partial<ClaimBatchRecord>; heldElsewhere?: Hex[]; headAnchored?: boolean } = {},
) {
  const commitments = [...c.lines]
    .sort((a, b) => a.sequence - b.sequence)
    .map((l) =>
      lineCommitment(KEY, {
        patient: c.patient,
        provider: c.provider,
        servicedDate: l.servicedDate,
        code: l.code,
        modifiers: l.modifiers,
      }),
    );
  const leaf = {
    claimId: CLAIM_ID,
    provider: c.provider,
    payer: c.payer,
    patientCommitment: patientCommitment(c.patient, SALT),
    linesHash: linesHash(commitments),
    billed: BigInt(c.total),
  };
  const other = { ...leaf, claimId: `0x${'c2'.repeat(32)}` as Hex };
  const batch = buildClaimBatch([leaf, other]);
  const log = providerLog(['enc-1'], { anchoredAt: CLAIM_CREATED - 60_000 });
  const ev = log.evidence.get('enc-1');
  assert.ok(ev?.entry && ev.proof && ev.anchoredHead);
  const head: AnchoredHeadView = {
    treeSize: ev.anchoredHead.treeSize,
    rootHash: hex(ev.anchoredHead.rootHash),
    anchoredAt: ev.anchoredHead.anchoredAt,
  };
  const sub: ClaimSubmission = {
    claim: { resourceType: 'Claim' },
    evidence: [
      {
        encounterId: 'enc-1',
        entryIndex: 3,
        entry: Buffer.from(ev.entry).toString('base64'),
        path: ev.proof.map(hex),
        treeSize: head.treeSize,
      },
    ],
    batch: { root: batch.root, claimId: CLAIM_ID, salt: SALT, proof: batch.proofs.get(CLAIM_ID) as Hex[] },
    // The intake opens and checks the key before this (lineKey.ts); checkSubmission takes it as given.
    lineKey: { enc: `0x${'00'.repeat(32)}`, sealed: `0x${'00'.repeat(48)}` },
  };
  const committed = new Set(commitments);
  const chain: SubmissionChain = {
    batchOf: async (root) =>
      root === batch.root
        ? { provider: PROVIDER, payer: PAYER, claimCount: 2, submittedAt: 1, ...over.batch }
        : {
            provider: '0x0000000000000000000000000000000000000000',
            payer: '0x0000000000000000000000000000000000000000',
            claimCount: 0,
            submittedAt: 0,
          },
    isCommitted: async (_provider, x) => committed.has(x),
    heldByOtherPayer: async (_provider, x) => (over.heldElsewhere ?? []).includes(x),
    anchoredHead: async (m: Address, size) =>
      over.headAnchored !== false && m === PROVIDER && size === head.treeSize ? head : undefined,
  };
  return { sub, chain, commitments };
}

const inputs = (sender: Address = PROVIDER) => ({
  self: PAYER,
  sender,
  commitmentKey: KEY,
  coverage: COVERAGE,
  history: [],
});
const refused = async (p: Promise<unknown>, msg: RegExp) =>
  assert.rejects(p, (e: Error) => e instanceof ClaimSubmissionRefusedError && msg.test(e.message));

describe('checkSubmission', () => {
  const c = claim([line(1), line(2, { code: 'Z1030' })]);

  test('a faithful submission gathers a context under which the claim is approved', async () => {
    const { sub, chain, commitments } = anchored(c);
    const checked = await checkSubmission(c, sub, chain, inputs());
    assert.deepEqual(checked.commitments, commitments);
    const d = adjudicate(c, checked.context, loadEditTables());
    assert.equal(d.kind, 'adjudicated');
    assert.equal(d.kind === 'adjudicated' && d.state, 'approved', JSON.stringify(d));
  });

  test('refusals: another provider’s claim, wrong salt or total, foreign batch, uncommitted line', async () => {
    const { sub, chain } = anchored(c);
    await refused(checkSubmission(c, sub, chain, inputs(OTHER_PROVIDER)), /only its own claims/);
    await refused(checkSubmission({ ...c, payer: OTHER_PROVIDER }, sub, chain, inputs()), /another insurer/);
    await refused(
      checkSubmission(c, { ...sub, batch: { ...sub.batch, salt: `0x${'00'.repeat(32)}` } }, chain, inputs()),
      /not the leaf/,
    );
    const more = {
      ...c,
      total: c.total + 100,
      lines: [
        ...c.lines.slice(0, 1),
        { ...(c.lines[1] as (typeof c.lines)[0]), net: (c.lines[1]?.net ?? 0) + 100 },
      ],
    };
    await refused(checkSubmission(more, sub, chain, inputs()), /not the leaf/);
    await refused(
      checkSubmission(c, sub, anchored(c, { batch: { payer: OTHER_PROVIDER } }).chain, inputs()),
      /another provider’s or to another payer/,
    );
    await refused(
      checkSubmission(c, sub, anchored(c, { batch: { provider: OTHER_PROVIDER } }).chain, inputs()),
      /another provider’s/,
    );
    await refused(
      checkSubmission(c, sub, anchored(c, { batch: { claimCount: 0 } }).chain, inputs()),
      /not anchored/,
    );
    const uncommitted = { ...chain, isCommitted: async () => false };
    await refused(checkSubmission(c, sub, uncommitted, inputs()), /not committed/);
  });

  test('no anchored head of the named size: the lines pend as no evidence of service (CARC 252)', async () => {
    const { sub, chain } = anchored(c, { headAnchored: false });
    const d = adjudicate(c, (await checkSubmission(c, sub, chain, inputs())).context, loadEditTables());
    assert.equal(d.kind === 'adjudicated' && d.state, 'pended');
    assert.ok(d.kind === 'adjudicated' && d.lines.every((l) => l.findings.some((f) => f.carc === '252')));
  });

  test('a line another payer holds on chain pends (CARC 22), the other line is approved', async () => {
    const first = anchored(c);
    const { sub, chain } = anchored(c, { heldElsewhere: [first.commitments[1] as Hex] });
    const d = adjudicate(c, (await checkSubmission(c, sub, chain, inputs())).context, loadEditTables());
    assert.equal(d.kind === 'adjudicated' && d.state, 'pended');
    const byLine =
      d.kind === 'adjudicated'
        ? d.lines.map((l) => [l.sequence, l.status, l.findings.map((f) => f.carc)])
        : [];
    assert.deepEqual(byLine, [
      [1, 'approved', []],
      [2, 'pended', ['22']],
    ]);
  });
});
