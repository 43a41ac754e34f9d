/**
 * Attack family 22-24: what the claims machinery landed in issue 13 tells a member about a
 * patient it has no consent for, over real sockets on the claims network
 * (test/support/claimsNetwork.ts: the attack network plus a second insurer voted in).
 *
 *   22  eligibility as an oracle: the hospital, a provider that holds nothing of the patient and
 *       has no grant from them, signs `/federation/eligibility` itself for an enrolled patient and
 *       for an address nobody knows, at both insurers. The answers must not depend on whether (or
 *       where) the patient is insured, and no member number may come back.
 *   23  line commitments as an oracle: the lab submits a claim; the clinic, which holds the
 *       consortium key every member has (and its own line key), recomputes line commitments over a
 *       small dictionary of (provider, date, code) for the patient's chain address under every key
 *       it has, and asks Claims.isCommitted. It must not learn which service the patient was billed
 *       for (the control: under the lab's key, which only its payers hold, the dictionary finds it).
 *   22b an insurer posing as a provider: insurer2 anchors a batch naming itself as provider and
 *       submits claims to the insurer for an enrolled patient and a stranger: refused alike (403)
 *       before anything is read or decided.
 *   24  a planted duplicate: the clinic commits the line the lab will bill to insurer2 first (even
 *       under the lab's own line key); the lab's honest claim must still be approved, not pended as
 *       a cross-payer duplicate.
 *   26  a key per payer: the hospital bills the patient's service to the insurer under the line key
 *       it pinned on chain, then bills the same service to insurer2 with its lines committed under
 *       another key and that key sent sealed (so insurer2 would not see the line held elsewhere).
 *       Refused, nothing stored or decided; the honest submission is pended CARC 22.
 *
 * 22 is fixed (the member number, src/claims/eligibility.ts), 22b (src/claims/intake.ts), 24
 * (Claims.sol marks a line only under the provider that sent it), 23 and 26 (each provider's own
 * line key, pinned on chain: src/claims/lineKey.ts).
 */
import assert from 'node:assert/strict';
import { hkdfSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { ClaimResponse, CoverageEligibilityResponse } from '@medplum/fhirtypes';
import type { Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { memberAuthHeader } from '../../src/access/memberAuth.js';
import { random32 } from '../../src/chain/claimBatch.js';
import { claimsAbi } from '../../src/chain/generated/index.js';
import { writeAndWait } from '../../src/chain/transact.js';
import { claimIdOf, documentId } from '../../src/claims/claimDocuments.js';
import { lineCommitment } from '../../src/claims/lineCommitment.js';
import { FRAUD } from '../../src/claims/model.js';
import { ELIGIBILITY_PATH } from '../../src/federation/eligibilityWire.js';
import { currentConsortiumKey } from '../../src/node/memberIdentity.js';
import { request } from '../support/attackNetwork.js';
import { ClaimsNetwork, type Payer, today } from '../support/claimsNetwork.js';

let cn: ClaimsNetwork;
before(async () => {
  cn = await ClaimsNetwork.start();
});
after(async () => {
  await cn?.close();
});

/** The hospital's node asks `payer` directly, signed with its own key, about `patient`. */
async function hospitalAsks(payer: Payer, patient: Address) {
  const body = JSON.stringify({
    request: {
      resourceType: 'CoverageEligibilityRequest',
      status: 'active',
      purpose: ['validation'],
      patient: { identifier: { system: 'urn:medchain:patient', value: patient } },
      created: new Date().toISOString(),
      servicedDate: today(),
      provider: { identifier: { system: 'urn:medchain:member', value: cn.address('hospital') } },
      insurer: { identifier: { system: 'urn:medchain:member', value: cn.address(payer) } },
    },
  });
  if (payer === 'insurer') return cn.net.memberRequest('hospital', 'insurer', 'POST', ELIGIBILITY_PATH, body);
  const authorization = await memberAuthHeader(
    cn.net.members.hospital.account,
    cn.address('insurer2'),
    'POST',
    ELIGIBILITY_PATH,
    body,
  );
  return request(`${cn.insurer2.running.url}${ELIGIBILITY_PATH}`, {
    method: 'POST',
    headers: { authorization },
    body,
  });
}

/** The claims key every member could derive from the consortium key before finding 23 was fixed. */
const consortiumDerivedKey = (consortiumKey: Uint8Array) =>
  new Uint8Array(
    hkdfSync('sha256', consortiumKey, new Uint8Array(0), 'medchain/claims/line-commitment-key/v1', 32),
  );

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

/** What an answer says, without what differs per request (ids, times, the patient asked about). */
function said(status: number, body: unknown): string {
  const r = (body as { response?: CoverageEligibilityResponse }).response;
  if (!r) return JSON.stringify({ status, body });
  return JSON.stringify({
    status,
    outcome: r.outcome,
    disposition: r.disposition,
    error: r.error,
    insurance: r.insurance,
  });
}

describe('attack: what claims tell a member without consent', { timeout: 900_000 }, () => {
  test('22. eligibility answers a provider with no tie to the patient the same whether or not, and where, the patient is insured', async () => {
    const p = await cn.enroll(['insurer']);
    const stranger = privateKeyToAccount(generatePrivateKey()).address;
    assert.deepEqual(
      cn.nodeOf('hospital').records.patientIdsForAddress(p.address),
      [],
      'the hospital holds nothing of the patient',
    );
    const leaks: string[] = [];
    const answers = new Map<string, string>();
    for (const payer of ['insurer', 'insurer2'] as const)
      for (const [who, address] of [
        ['patient', p.address],
        ['stranger', stranger],
      ] as const) {
        const a = await hospitalAsks(payer, address);
        // The control: the wire is understood (a refusal of the wire would make this pass).
        assert.notEqual(a.status, 400, JSON.stringify(a.body).slice(0, 400));
        assert.notEqual(a.status, 401, JSON.stringify(a.body).slice(0, 400));
        answers.set(`${payer}/${who}`, said(a.status, a.body));
        const r = (a.body as { response?: CoverageEligibilityResponse }).response;
        const number = r?.insurance?.[0]?.coverage?.identifier?.value;
        if (number) leaks.push(`${payer} served the member number ${number} of the ${who}`);
      }
    const distinct = new Set(answers.values());
    if (distinct.size > 1)
      leaks.push(
        `the answers differ by who is insured where: ${[...answers].map(([k, v]) => `${k}: ${v.slice(0, 160)}`).join(' | ')}`,
      );
    assert.deepEqual(leaks, []);
    // The control: the lab, holding the patient's card (member number in its stored Coverage),
    // is told the coverage is in force: the answers above are uniform, not all refusals.
    const res = await cn.net.asUser('lab', 'billing', '/fhir/CoverageEligibilityRequest/$submit', {
      method: 'POST',
      body: JSON.stringify({
        resourceType: 'CoverageEligibilityRequest',
        status: 'active',
        purpose: ['validation'],
        patient: { identifier: { system: 'urn:medchain:patient', value: p.address } },
        created: new Date().toISOString(),
        servicedDate: today(),
        insurer: { identifier: { system: 'urn:medchain:member', value: cn.address('insurer') } },
      }),
    });
    assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 400));
    assert.equal((res.body as CoverageEligibilityResponse).outcome, 'complete');
    assert.equal((res.body as CoverageEligibilityResponse).insurance?.[0]?.inforce, true);
  });

  test('23. line commitments on chain do not tell a member holding the consortium key which service a patient was billed for', async () => {
    const p = await cn.enroll(['insurer']);
    const enc = await cn.encounter(p);
    await cn.anchorLab();
    const billed = 'Z1020';
    const r = await cn.submit(await cn.claim(p, 'insurer', [{ code: billed, encounter: enc }]));
    assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 400));

    // The clinic: no grant from the patient, only the keys it holds and the public chain.
    const ck = currentConsortiumKey(cn.net.members.clinic.identity);
    assert.ok(ck, 'the clinic holds the consortium key');
    const codes = ['Z1001', 'Z1002', 'Z1010', 'Z1020', 'Z1022', 'Z1030'];
    const now = Date.now();
    const dates = [-2, -1, 0, 1].map((d) => new Date(now + d * 86_400_000).toISOString().slice(0, 10));
    const providers = [cn.address('hospital'), cn.address('lab'), cn.address('clinic')];
    const guess = async (key: Uint8Array): Promise<string[]> => {
      const found: string[] = [];
      for (const provider of providers)
        for (const servicedDate of dates)
          for (const code of codes) {
            const c = lineCommitment(key, {
              patient: p.address,
              provider,
              servicedDate,
              code,
              modifiers: [],
            });
            const hit = await cn.net.t.conn.publicClient.readContract({
              address: cn.net.manifest.contracts.Claims as Address,
              abi: claimsAbi,
              functionName: 'isCommitted',
              args: [provider as Address, c],
            });
            if (hit) found.push(`${code} on ${servicedDate} at ${provider}`);
          }
      return found;
    };
    const clinicKeys: [string, Uint8Array][] = [
      ['the claims key derived from the consortium key', consortiumDerivedKey(ck.key)],
      ['the consortium key itself', ck.key],
      ['the clinic’s own line key', cn.lineKeyOf('clinic')],
    ];
    const leaks: string[] = [];
    for (const [name, key] of clinicKeys) {
      const found = await guess(key);
      if (found.length > 0) leaks.push(`under ${name}: ${found.join(', ')}`);
    }
    assert.deepEqual(leaks, [], 'the clinic learned the patient’s billed services');
    // The control: the same dictionary under the lab's key (held by the lab and the payers it
    // bills: the residual, README) finds exactly the billed service, so the oracle and the
    // dictionary would have caught a leak.
    assert.deepEqual(await guess(cn.lineKeyOf('lab')), [`${billed} on ${today()} at ${cn.address('lab')}`]);
  });

  test('24. a member holding the consortium key cannot mark another provider’s service as billed elsewhere before it is billed', async () => {
    const p = await cn.enroll(['insurer']);
    const enc = await cn.encounter(p);
    await cn.anchorLab();
    const code = 'Z1020';
    // The clinic guesses the lab's next service for the patient and commits it to insurer2 first,
    // even under the lab's own line key (as if it had it), from a batch of its own (its key pinned).
    await cn.registerLineKey('clinic');
    const c = lineCommitment(cn.lineKeyOf('lab'), {
      patient: p.address,
      provider: cn.address('lab'),
      servicedDate: today(),
      code,
      modifiers: [],
    });
    await writeAndWait(cn.net.t.conn, cn.net.members.clinic.wallet, {
      address: cn.net.manifest.contracts.Claims as Address,
      abi: claimsAbi,
      functionName: 'submitBatch',
      args: [cn.address('insurer2'), random32(), 1, [c]],
    });
    // The lab's honest, first and only claim of that service, to the patient's one insurer.
    const r = await cn.submit(await cn.claim(p, 'insurer', [{ code, encounter: enc }]));
    assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 400));
    const response = r.body as ClaimResponse;
    const claimId = claimIdOf(response);
    assert.ok(claimId);
    const onChain = await cn.claimOf(claimId);
    assert.deepEqual(
      { outcome: response.outcome, state: onChain?.state, fraudFlags: onChain?.fraudFlags },
      { outcome: 'complete', state: 'approved', fraudFlags: 0 },
      `the clinic's planted commitment changed the lab's claim: ${response.disposition}`,
    );
  });

  test('22b. an insurer posing as a provider at another insurer’s claim intake is refused before anything of the patient is read', async () => {
    const p = await cn.enroll(['insurer']);
    const stranger = { ...p, address: privateKeyToAccount(generatePrivateKey()).address };
    const answers: string[] = [];
    for (const who of [p, stranger]) {
      // insurer2 anchors a one-claim batch naming itself as provider (the contract lets any member)
      const claim = await cn.claim(who, 'insurer', [{ code: 'Z1020', encounter: 'enc-x' }], {
        provider: { identifier: { system: 'urn:medchain:member', value: cn.address('insurer2') } },
      });
      const { body, claimId } = await cn.anchoredSubmission('insurer2', claim);
      const a = await cn.fromInsurer2('insurer', '/federation/claims', body);
      assert.notEqual(a.status, 400, JSON.stringify(a.body).slice(0, 400));
      assert.notEqual(a.status, 401, JSON.stringify(a.body).slice(0, 400));
      answers.push(`${a.status} ${JSON.stringify(a.body).slice(0, 300)}`);
      assert.equal(await cn.claimOf(claimId), undefined, 'nothing decided on chain');
    }
    assert.equal(answers[0], answers[1], 'the answer tells insurer2 whether the insurer covers the patient');
    assert.match(answers[0] ?? '', /^403 /, 'refused as no provider');
  });

  test('26. a provider cannot commit a payer’s lines under another key than the one it pinned, to hide a service billed to another payer', async () => {
    const p = await cn.enroll(['insurer', 'insurer2']);
    const asHospital = {
      provider: { identifier: { system: 'urn:medchain:member', value: cn.address('hospital') } },
    };
    const line = [{ code: 'Z1020', encounter: 'enc-x' }];
    // The hospital's node bills the service to the insurer under the key it pinned on chain.
    const first = await cn.anchoredSubmission('hospital', await cn.claim(p, 'insurer', line, asHospital));
    const one = await cn.sendSubmission('hospital', 'insurer', first.body);
    assert.equal(one.status, 200, JSON.stringify(one.body).slice(0, 400));
    const pinned = await cn.pinnedLineKey('hospital');
    assert.notEqual(BigInt(pinned), 0n, 'the hospital pinned a line key');

    // Then the same service to insurer2: its lines committed under a key for insurer2 alone.
    const perPayer = new Uint8Array(Buffer.from(random32().slice(2), 'hex'));
    const held = (claimId: `0x${string}`) =>
      (['Claim', 'ClaimResponse', 'ExplanationOfBenefit'] as const).map(
        (t) => cn.nodeOf('insurer2').records.head(t, documentId(claimId))?.version,
      );
    const answers: string[] = [];
    for (const [how, opts] of [
      ['that key sent', { commitKey: perPayer }],
      ['the pinned key sent', { commitKey: perPayer, sentKey: cn.lineKeyOf('hospital') }],
    ] as const) {
      const { body, claimId } = await cn.anchoredSubmission(
        'hospital',
        await cn.claim(p, 'insurer2', line, asHospital),
        [],
        opts,
      );
      const a = await cn.sendSubmission('hospital', 'insurer2', body);
      answers.push(`${how}: ${a.status} ${JSON.stringify(a.body).slice(0, 300)}`);
      assert.notEqual(a.status, 400, JSON.stringify(a.body).slice(0, 400));
      assert.notEqual(a.status, 401, JSON.stringify(a.body).slice(0, 400));
      assert.equal(a.status, 422, `${how}: ${JSON.stringify(a.body).slice(0, 400)}`);
      assert.deepEqual(
        held(claimId),
        [undefined, undefined, undefined],
        `${how}: nothing stored at insurer2`,
      );
      assert.equal(await cn.claimOf(claimId), undefined, `${how}: nothing decided on chain`);
    }
    assert.match(answers[0] ?? '', /not the one the provider registered on chain/);
    assert.match(answers[1] ?? '', /not the leaf its proof proves/);
    assert.equal(await cn.pinnedLineKey('hospital'), pinned, 'the pin is unchanged');

    // The control: committed and sent under the pinned key, insurer2 sees the line held by the
    // insurer and pends it (CARC 22, duplicate across payers).
    const honest = await cn.anchoredSubmission('hospital', await cn.claim(p, 'insurer2', line, asHospital));
    const h = await cn.sendSubmission('hospital', 'insurer2', honest.body);
    assert.equal(h.status, 200, JSON.stringify(h.body).slice(0, 400));
    assert.deepEqual(
      carcs(h.body as ClaimResponse)[1]?.includes('22'),
      true,
      JSON.stringify(carcs(h.body as ClaimResponse)),
    );
    const onChain = await cn.claimOf(honest.claimId);
    assert.equal((onChain?.fraudFlags ?? 0) & FRAUD.duplicateAcrossPayers, FRAUD.duplicateAcrossPayers);
  });
});
