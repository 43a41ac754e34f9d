/**
 * The claims fraud scenarios end to end over real sockets (issue 13): the lab's billing user at
 * `POST /fhir/Claim/$submit`, the lab's node anchoring the batch and sending the member-signed
 * submission to the insurer's `POST /federation/claims`, the insurer adjudicating, storing and
 * recording on chain. One network for the file (test/support/claimsNetwork.ts: the attack network
 * plus a second insurer voted in). Each scenario uses its own patient, so none depends on another.
 * What each waits for: `anchorLab` waits until the lab's log head is confirmed on chain; `$submit`
 * answers only once the batch and the insurer's decision are mined.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type {
  Claim,
  ClaimResponse,
  CoverageEligibilityResponse,
  ExplanationOfBenefit,
  OperationOutcome,
} from '@medplum/fhirtypes';
import type { Hex } from 'viem';
import { type Answer, request, waitFor } from '../../test/support/attackNetwork.js';
import { ClaimsNetwork, type Payer, today } from '../../test/support/claimsNetwork.js';
import { signDispute } from '../chain/disputeSignature.js';
import { claimIdOf, disputeFactsOf, documentId } from './claimDocuments.js';
import { FRAUD } from './model.js';

let cn: ClaimsNetwork;
before(async () => {
  cn = await ClaimsNetwork.start();
});
after(async () => {
  await cn?.close();
});

const CARC = 'https://x12.org/codes/claim-adjustment-reason-codes';
/** CARC codes per item sequence of a ClaimResponse. */
function carcs(r: ClaimResponse): Record<number, string[]> {
  const out: Record<number, string[]> = {};
  for (const i of r.item ?? [])
    out[i.itemSequence] = (i.adjudication ?? []).flatMap(
      (a) => a.reason?.coding?.filter((c) => c.system === CARC).map((c) => c.code as string) ?? [],
    );
  return out;
}
const benefit = (r: ClaimResponse, seq: number) =>
  r.item
    ?.find((i) => i.itemSequence === seq)
    ?.adjudication?.find((a) => a.category?.coding?.[0]?.code === 'benefit')?.amount?.value;

/** A patient with a logged, anchored Encounter at the lab. */
async function visited(payers: Payer[] = ['insurer'], opts: { lapsed?: boolean } = {}) {
  const p = await cn.enroll(payers, opts);
  const enc = await cn.encounter(p);
  await cn.anchorLab();
  return { p, enc };
}

/** Submit and expect a ClaimResponse; returns it with its on-chain claim id. */
async function submitted(claim: Claim): Promise<{ response: ClaimResponse; claimId: Hex }> {
  const r = await cn.submit(claim);
  assert.equal(r.status, 200, `Claim/$submit answered ${r.status}: ${JSON.stringify(r.body).slice(0, 600)}`);
  const response = r.body as ClaimResponse;
  assert.equal(response.resourceType, 'ClaimResponse');
  const claimId = claimIdOf(response);
  assert.ok(claimId, 'the ClaimResponse names the on-chain claim id');
  return { response, claimId };
}

describe('claims scenarios over real sockets', { timeout: 900_000 }, () => {
  test('a clean claim is approved: ClaimResponse complete, Approved on chain, documents stored at both ends with the dispute facts on the EOB', async () => {
    const { p, enc } = await visited();
    const claim = await cn.claim(p, 'insurer', [{ code: 'Z1020', encounter: enc }]);
    const { response, claimId } = await submitted(claim);
    assert.equal(response.outcome, 'complete', response.disposition);
    assert.deepEqual(carcs(response), { 1: [] });
    assert.equal(benefit(response, 1), 100);
    assert.equal(response.request?.reference, `Claim/${claim.id}`);
    const onChain = await cn.claimOf(claimId);
    assert.equal(onChain?.state, 'approved');
    assert.equal(onChain?.approved, 10_000n);
    assert.equal(onChain?.fraudFlags, 0);

    // The lab holds its Claim (with the claim id) and the ClaimResponse, both under its Patient.
    const lab = cn.nodeOf('lab').records;
    const read = async <T>(
      records: typeof lab,
      type: 'Claim' | 'ClaimResponse' | 'ExplanationOfBenefit',
      id: string,
    ) => (await records.open(records.currentRow(type, id))) as unknown as T;
    const labClaim = await read<Claim>(lab, 'Claim', claim.id as string);
    assert.equal(claimIdOf(labClaim), claimId);
    const labResponse = await read<ClaimResponse>(lab, 'ClaimResponse', response.id as string);
    assert.equal(labResponse.patient?.reference, `Patient/${p.labPatientId}`);

    // The insurer holds Claim, ClaimResponse and EOB under one id; the EOB is its enrolled
    // Patient's, with the claim id and salt a dispute needs.
    const ins = cn.nodeOf('insurer').records;
    const id = documentId(claimId);
    const eob = await read<ExplanationOfBenefit>(ins, 'ExplanationOfBenefit', id);
    const enrolled = ins.patientIdsForAddress(p.address)[0];
    assert.equal(eob.patient.reference, `Patient/${enrolled}`);
    const facts = disputeFactsOf(eob);
    assert.equal(facts?.claimId, claimId);
    assert.match(facts?.salt ?? '', /^0x[0-9a-f]{64}$/);
    assert.equal(claimIdOf(await read<Claim>(ins, 'Claim', id)), claimId);
    assert.equal((await read<ClaimResponse>(ins, 'ClaimResponse', id)).outcome, 'complete');

    // The patient's own records at the insurer (what the patient routes serve) include the EOB.
    const mine = await cn.nodeOf('insurer').gate.patientRecords(p.address);
    assert.ok(
      mine.resources.some((r) => r.resourceType === 'ExplanationOfBenefit' && r.id === id),
      'the patient’s records at the insurer include the EOB',
    );
  });

  test('eligibility, then the patient disputes the approved claim through a member’s open relay', async () => {
    // Eligibility at the lab: the insurer found from the patient's Coverage, asked member-signed.
    const { p, enc } = await visited();
    const ask = (patient: string, servicedDate: string) =>
      cn.net.asUser('lab', 'billing', '/fhir/CoverageEligibilityRequest/$submit', {
        method: 'POST',
        body: JSON.stringify({
          resourceType: 'CoverageEligibilityRequest',
          status: 'active',
          purpose: ['validation'],
          patient: { identifier: { system: 'urn:medchain:patient', value: patient } },
          created: new Date().toISOString(),
          servicedDate,
        }),
      });
    const inForce = await ask(p.address, today());
    assert.equal(inForce.status, 200, JSON.stringify(inForce.body).slice(0, 400));
    const r = inForce.body as CoverageEligibilityResponse;
    assert.equal(r.outcome, 'complete');
    assert.equal(r.insurance?.[0]?.inforce, true);
    assert.equal(r.insurer.identifier?.value, cn.address('insurer'));
    const before2020 = (await ask(p.address, '2019-12-31')).body as CoverageEligibilityResponse;
    assert.equal(before2020.insurance?.[0]?.inforce, false);

    // The claim, approved; the patient signs a dispute with the EOB's facts; the lab relays it.
    const { claimId } = await submitted(await cn.claim(p, 'insurer', [{ code: 'Z1020', encounter: enc }]));
    const ins = cn.nodeOf('insurer').records;
    const eob = (await ins.open(
      ins.currentRow('ExplanationOfBenefit', documentId(claimId)),
    )) as unknown as ExplanationOfBenefit;
    const facts = disputeFactsOf(eob);
    assert.ok(facts);
    const deadline = BigInt(Math.floor(Date.now() / 1000) + 3600);
    const signature = await signDispute(
      p.account,
      { chainId: cn.net.manifest.chainId, verifyingContract: cn.net.manifest.contracts.Claims as Hex },
      { claimId: facts.claimId as Hex, round: 0, deadline },
    );
    const body = JSON.stringify({
      claimId: facts.claimId,
      round: 0,
      deadline: deadline.toString(),
      salt: facts.salt,
      signature,
    });
    const relay = () => request(`${cn.net.url('lab')}/claims/dispute`, { method: 'POST', body });
    const relayed = await relay();
    assert.equal(relayed.status, 202, JSON.stringify(relayed.body));
    await waitFor(
      'the relayed dispute to be mined (claim state disputed)',
      async () => (await cn.claimOf(claimId))?.state === 'disputed',
    );
    const replay = await relay();
    assert.equal(replay.status, 409, JSON.stringify(replay.body));
  });

  test('a duplicate at one payer is denied (CARC 18); the same service again with modifier 76 is allowed', async () => {
    const { p, enc } = await visited();
    const line = { code: 'Z1020', encounter: enc };
    const first = await submitted(await cn.claim(p, 'insurer', [line]));
    assert.equal(first.response.outcome, 'complete');
    const dup = await submitted(await cn.claim(p, 'insurer', [line]));
    assert.deepEqual(carcs(dup.response), { 1: ['18'] });
    const dupChain = await cn.claimOf(dup.claimId);
    assert.equal(dupChain?.state, 'denied');
    assert.equal((dupChain?.fraudFlags ?? 0) & FRAUD.duplicate, FRAUD.duplicate);
    const repeat = await submitted(await cn.claim(p, 'insurer', [{ ...line, modifiers: ['76'] }]));
    assert.equal(repeat.response.outcome, 'complete', repeat.response.disposition);
    assert.deepEqual(carcs(repeat.response), { 1: [] });
    assert.equal((await cn.claimOf(repeat.claimId))?.state, 'approved');
  });

  test('a duplicate across two payers: the second payer pends it (CARC 22); neither holds the other’s claim', async () => {
    const { p, enc } = await visited(['insurer', 'insurer2']);
    const line = { code: 'Z1020', encounter: enc };
    const one = await submitted(await cn.claim(p, 'insurer', [line]));
    assert.equal(one.response.outcome, 'complete');
    const two = await submitted(await cn.claim(p, 'insurer2', [line]));
    assert.equal(two.response.outcome, 'partial', two.response.disposition);
    assert.deepEqual(carcs(two.response), { 1: ['22'] });
    const onChain = await cn.claimOf(two.claimId);
    assert.equal(onChain?.state, 'pended');
    assert.equal((onChain?.fraudFlags ?? 0) & FRAUD.duplicateAcrossPayers, FRAUD.duplicateAcrossPayers);
    assert.equal((await cn.claimOf(one.claimId))?.state, 'approved');
    // Each payer holds only its own documents.
    assert.equal(cn.nodeOf('insurer').records.head('Claim', documentId(two.claimId)), undefined);
    assert.equal(cn.nodeOf('insurer2').records.head('Claim', documentId(one.claimId)), undefined);
    const seen = await cn.asInsurer2Billing(`/fhir/Claim?patient=${p.address}`);
    assert.equal(seen.status, 200);
    const ids = ((seen.body as { entry?: { resource: Claim; search?: { mode?: string } }[] }).entry ?? [])
      .filter((e) => e.search?.mode !== 'outcome')
      .map((e) => e.resource.id);
    assert.deepEqual(ids, [documentId(two.claimId)], 'insurer2’s billing user sees its own claim only');
  });

  test('a phantom visit is pended (CARC 252): an Encounter logged after the latest anchor, and one that never existed', async () => {
    // Through the route: the Encounter exists but no anchored head includes its creation yet.
    const p = await cn.enroll(['insurer']);
    const enc = await cn.encounter(p);
    const unproven = await submitted(await cn.claim(p, 'insurer', [{ code: 'Z1020', encounter: enc }]));
    assert.equal(unproven.response.outcome, 'partial');
    assert.deepEqual(carcs(unproven.response), { 1: ['252'] });
    const onChain = await cn.claimOf(unproven.claimId);
    assert.equal(onChain?.state, 'pended');
    assert.equal((onChain?.fraudFlags ?? 0) & FRAUD.noEvidenceOfService, FRAUD.noEvidenceOfService);

    // A provider node bypassing its route (the lab's store would refuse a Claim naming an Encounter
    // it does not hold): the hospital anchors and sends a claim for a visit that never happened.
    const q = await cn.enroll(['insurer']);
    const claim = await cn.claim(q, 'insurer', [{ code: 'Z1020', encounter: 'never-happened' }], {
      provider: { identifier: { system: 'urn:medchain:member', value: cn.address('hospital') } },
    });
    const { body, claimId } = await cn.anchoredSubmission('hospital', claim);
    const r = await cn.sendSubmission('hospital', 'insurer', body);
    assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 400));
    assert.deepEqual(carcs(r.body as ClaimResponse), { 1: ['252'] });
    assert.equal((await cn.claimOf(claimId))?.state, 'pended');
  });

  test('an unbundled pair: the column-two line is denied (CARC 236), the claim approved for the other', async () => {
    const { p, enc } = await visited();
    const { response, claimId } = await submitted(
      await cn.claim(p, 'insurer', [
        { code: 'Z1001', encounter: enc },
        { code: 'Z1002', encounter: enc },
      ]),
    );
    assert.deepEqual(carcs(response), { 1: [], 2: ['236'] });
    const onChain = await cn.claimOf(claimId);
    assert.equal(onChain?.state, 'approved');
    assert.equal(onChain?.approved, 10_000n);
    assert.equal((onChain?.fraudFlags ?? 0) & FRAUD.unbundling, FRAUD.unbundling);
  });

  test('units over the MUE limit are denied (CARC 151)', async () => {
    const { p, enc } = await visited();
    const { response, claimId } = await submitted(
      await cn.claim(p, 'insurer', [{ code: 'Z1002', units: 3, encounter: enc }]),
    );
    assert.deepEqual(carcs(response), { 1: ['151'] });
    const onChain = await cn.claimOf(claimId);
    assert.equal(onChain?.state, 'denied');
    assert.equal((onChain?.fraudFlags ?? 0) & FRAUD.unitsOverLimit, FRAUD.unitsOverLimit);
  });

  test('coverage lapsed: rejected before adjudication (ClaimResponse outcome error), Denied on chain', async () => {
    const { p, enc } = await visited(['insurer'], { lapsed: true });
    const { response, claimId } = await submitted(
      await cn.claim(p, 'insurer', [{ code: 'Z1020', encounter: enc }]),
    );
    assert.equal(response.outcome, 'error');
    assert.equal(response.error?.[0]?.code.coding?.[0]?.code, '27');
    assert.equal(response.item, undefined);
    const onChain = await cn.claimOf(claimId);
    assert.equal(onChain?.state, 'denied');
    assert.equal(onChain?.fraudFlags, 0);
  });
});

describe('Claim/$submit bad input: a clear OperationOutcome, nothing stored or anchored', {
  timeout: 900_000,
}, () => {
  const text = (a: Answer) =>
    ((a.body as OperationOutcome).issue ?? []).map((i) => i.details?.text ?? '').join(' ');

  /** Submit `claim` and check the refusal, and that neither the lab nor the chain kept anything. */
  async function refused(claim: unknown, status: number, says: RegExp, role?: 'clinician') {
    const batches = await cn.batchesBy('lab');
    const r = await cn.submit(claim, role);
    assert.equal(r.status, status, `${JSON.stringify(r.body).slice(0, 400)}`);
    assert.equal((r.body as OperationOutcome).resourceType, 'OperationOutcome');
    assert.match(text(r), says);
    const id = (claim as Claim).id;
    if (id) {
      const held = cn.nodeOf('lab').records.head('Claim', id);
      assert.ok(!held || held.version === 1, 'no new version of the Claim was stored');
    }
    assert.equal(await cn.batchesBy('lab'), batches, 'no batch was anchored');
  }

  test('the table', async () => {
    const { p, enc } = await visited();
    const good = () => cn.claim(p, 'insurer', [{ code: 'Z1020', encounter: enc }]);

    const zeroUnits = await good();
    (zeroUnits.item as NonNullable<Claim['item']>)[0] = {
      ...(zeroUnits.item?.[0] as NonNullable<Claim['item']>[number]),
      quantity: { value: 0 },
    };
    await refused(zeroUnits, 400, /Claim\.item\[0\]\.quantity/);
    await refused({ ...(await good()), status: 'bogus' }, 400, /Claim\.status/);
    await refused({ ...(await good()), unknownElement: true }, 422, /not valid FHIR R4/);
    await refused({ resourceType: 'Bundle', type: 'collection', entry: [] }, 400, /exactly one Claim/);

    const stranger = (await good()) as Claim;
    stranger.patient = {
      identifier: { system: 'urn:medchain:patient', value: '0x00000000000000000000000000000000000000a1' },
    };
    await refused(stranger, 422, /not held at this member/);

    const uncovered = await cn.enroll([]);
    await refused(
      await cn.claim(uncovered, 'insurer', [{ code: 'Z1020', encounter: enc }]),
      422,
      /no Coverage/,
    );
    await refused(
      await cn.claim(p, 'insurer2', [{ code: 'Z1020', encounter: enc }]),
      422,
      /not the payer of any Coverage/,
    );
    await refused(
      await good().then((c) => ({
        ...c,
        provider: { identifier: { system: 'urn:medchain:member', value: cn.address('hospital') } },
      })),
      422,
      /a provider submits only its own claims/,
    );
    await refused(await good(), 403, /may not submit claims/, 'clinician');

    // A replay: the same Claim again, and another id with the same business identifier.
    const once = await good();
    once.identifier = [{ system: 'urn:example:lab-claims', value: `lab-${once.id}` }];
    await submitted(once);
    await refused(once, 409, /already submitted/);
    await refused({ ...once, id: `${once.id}-again` }, 409, /already submitted/);

    // The insurer refuses (the patient is not enrolled there): the lab's Claim is no longer marked
    // submitted, so once the patient is enrolled the same Claim goes through.
    const unenrolled = await cn.enroll(['insurer'], { enrolledAt: [] });
    const enc2 = await cn.encounter(unenrolled);
    await cn.anchorLab();
    const early = await cn.claim(unenrolled, 'insurer', [{ code: 'Z1020', encounter: enc2 }]);
    const no = await cn.submit(early);
    assert.equal(no.status, 422, JSON.stringify(no.body).slice(0, 300));
    assert.match(text(no), /not enrolled/);
    await cn.enrollAt('insurer', unenrolled);
    const yes = await cn.submit(early);
    assert.equal(yes.status, 200, JSON.stringify(yes.body).slice(0, 300));

    // A PAS-style Bundle holding the Claim is accepted like the Claim itself.
    const inBundle = await good();
    const viaBundle = await cn.submit({
      resourceType: 'Bundle',
      type: 'collection',
      entry: [{ fullUrl: `urn:uuid:${crypto.randomUUID()}`, resource: inBundle }],
    });
    assert.equal(viaBundle.status, 200, JSON.stringify(viaBundle.body).slice(0, 300));
  });
});
