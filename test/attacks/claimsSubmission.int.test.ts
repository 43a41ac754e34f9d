/**
 * Attack family 18: claim submission (issue 13), over real sockets on the claims network (the
 * attack network plus a second insurer voted in, test/support/claimsNetwork.ts).
 *
 *   19a  replay: the same Claim again at the provider's `$submit`; the same submission body sent
 *        again (freshly signed) by a provider node straight to the insurer; the same signed request
 *        twice. Refused; nothing stored, anchored or decided twice.
 *   19b  another provider's claim: the lab's billing user submits a Claim naming the hospital as
 *        provider; the hospital's node anchors and sends a claim naming the lab. Refused; nothing
 *        stored or decided.
 *   19c  one insurer reading another's claims: the patient grants insurer2 everything general for
 *        payment; insurer2's node asks the insurer and the lab directly for Claim, ClaimResponse,
 *        ExplanationOfBenefit and Coverage. Nothing released, while the same grant releases the
 *        lab's Encounter (the control).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ClaimResponse } from '@medplum/fhirtypes';
import { claimIdOf, documentId } from '../../src/claims/claimDocuments.js';
import type { ResourceType } from '../../src/fhir/resourceTypes.js';
import { federationRecordIds, federationSearchBody, request } from '../support/attackNetwork.js';
import { ClaimsNetwork } from '../support/claimsNetwork.js';

let cn: ClaimsNetwork;
before(async () => {
  cn = await ClaimsNetwork.start();
});
after(async () => {
  await cn?.close();
});

const hospitalAsProvider = () => ({
  provider: { identifier: { system: 'urn:medchain:member', value: cn.address('hospital') } },
});

/** Versions of the insurer's documents of a claim (undefined: none held). */
const heldAtInsurer = (claimId: `0x${string}`) =>
  (['Claim', 'ClaimResponse', 'ExplanationOfBenefit'] as const).map(
    (t) => cn.nodeOf('insurer').records.head(t, documentId(claimId))?.version,
  );

describe('attack: claim submission', { timeout: 900_000 }, () => {
  test('19a. a replayed claim is refused at the provider and at the insurer; nothing is stored, anchored or decided twice', async () => {
    const p = await cn.enroll(['insurer']);
    const enc = await cn.encounter(p);
    await cn.anchorLab();
    const claim = await cn.claim(p, 'insurer', [{ code: 'Z1020', encounter: enc }]);
    const first = await cn.submit(claim);
    assert.equal(first.status, 200, JSON.stringify(first.body).slice(0, 400));
    const claimId = claimIdOf(first.body as ClaimResponse);
    assert.ok(claimId);
    const batches = await cn.batchesBy('lab');
    const again = await cn.submit(claim);
    assert.equal(again.status, 409, JSON.stringify(again.body).slice(0, 400));
    assert.equal(await cn.batchesBy('lab'), batches, 'the replay anchored no batch');
    assert.equal(cn.nodeOf('lab').records.head('Claim', claim.id as string)?.version, 1);
    assert.deepEqual(heldAtInsurer(claimId), [1, 1, 1]);

    // A provider node sends the same submission body twice, each time freshly signed.
    const q = await cn.enroll(['insurer']);
    const direct = await cn.claim(
      q,
      'insurer',
      [{ code: 'Z1020', encounter: 'enc-x' }],
      hospitalAsProvider(),
    );
    const { body, claimId: directId } = await cn.anchoredSubmission('hospital', direct);
    const once = await cn.sendSubmission('hospital', 'insurer', body);
    assert.equal(once.status, 200, JSON.stringify(once.body).slice(0, 400));
    const decided = await cn.claimOf(directId);
    const twice = await cn.sendSubmission('hospital', 'insurer', body);
    assert.equal(twice.status, 409, JSON.stringify(twice.body).slice(0, 400));
    assert.deepEqual(heldAtInsurer(directId), [1, 1, 1], 'nothing stored twice');
    assert.deepEqual(await cn.claimOf(directId), decided, 'nothing decided twice');

    // The very same signed request twice: the signature is single use.
    const path = '/federation/claims';
    const authorization = await cn.net.memberHeader('hospital', 'insurer', 'POST', path, body);
    const replayed = await request(`${cn.net.url('insurer')}${path}`, {
      method: 'POST',
      headers: { authorization },
      body,
    });
    assert.equal(replayed.status, 409, 'first use of the signature: refused as a replayed claim');
    const reused = await request(`${cn.net.url('insurer')}${path}`, {
      method: 'POST',
      headers: { authorization },
      body,
    });
    assert.equal(reused.status, 401, 'second use of the signature');
  });

  test('19b. a provider cannot submit another provider’s claim, through its route or straight to the insurer', async () => {
    const p = await cn.enroll(['insurer']);
    const enc = await cn.encounter(p);
    await cn.anchorLab();
    const batches = await cn.batchesBy('lab');
    const viaRoute = await cn.claim(p, 'insurer', [{ code: 'Z1020', encounter: enc }], hospitalAsProvider());
    const r = await cn.submit(viaRoute);
    assert.equal(r.status, 422, JSON.stringify(r.body).slice(0, 400));
    assert.match(JSON.stringify(r.body), /a provider submits only its own claims/);
    assert.equal(cn.nodeOf('lab').records.head('Claim', viaRoute.id as string), undefined, 'nothing stored');
    assert.equal(await cn.batchesBy('lab'), batches, 'nothing anchored');

    // The hospital's node anchors a claim naming the lab as provider and sends it itself.
    const forged = await cn.claim(p, 'insurer', [{ code: 'Z1020', encounter: enc }]);
    const { body, claimId } = await cn.anchoredSubmission('hospital', forged);
    const sent = await cn.sendSubmission('hospital', 'insurer', body);
    assert.equal(sent.status, 422, JSON.stringify(sent.body).slice(0, 400));
    assert.match(JSON.stringify(sent.body), /a provider submits only its own claims/);
    assert.deepEqual(
      heldAtInsurer(claimId),
      [undefined, undefined, undefined],
      'nothing stored at the insurer',
    );
    assert.equal(await cn.claimOf(claimId), undefined, 'nothing decided on chain');
  });

  test('19c. an insurer gets none of another insurer’s (or the provider’s) claims, even with a payment grant; the grant still releases the Encounter', async () => {
    const p = await cn.enroll(['insurer', 'insurer2']);
    const enc = await cn.encounter(p);
    await cn.anchorLab();
    const one = await cn.submit(await cn.claim(p, 'insurer', [{ code: 'Z1020', encounter: enc }]));
    assert.equal(one.status, 200, JSON.stringify(one.body).slice(0, 400));
    await cn.net.grant(p, cn.address('insurer2'), ['general'], ['payment']);
    const leaks: string[] = [];
    for (const target of ['insurer', 'lab'] as const) {
      for (const type of ['Claim', 'ClaimResponse', 'ExplanationOfBenefit', 'Coverage'] as ResourceType[]) {
        const raw = await cn.fromInsurer2(
          target,
          '/federation/search',
          federationSearchBody({
            patient: p.address,
            resourceType: type,
            purpose: 'payment',
            userRole: 'billing',
          }),
        );
        assert.equal(
          raw.status,
          200,
          `insurer2 asking ${target} for ${type}: ${JSON.stringify(raw.body).slice(0, 200)}`,
        );
        const ids = federationRecordIds(raw);
        if (ids.length > 0) leaks.push(`${target} ${type}: ${ids.join(', ')}`);
      }
    }
    assert.deepEqual(leaks, [], 'claims documents leaked to another insurer');
    const control = await cn.fromInsurer2(
      'lab',
      '/federation/search',
      federationSearchBody({
        patient: p.address,
        resourceType: 'Encounter',
        purpose: 'payment',
        userRole: 'billing',
      }),
    );
    assert.ok(
      federationRecordIds(control).includes(enc),
      `the payment grant releases the Encounter: ${JSON.stringify(control.body).slice(0, 300)}`,
    );
  });
});
