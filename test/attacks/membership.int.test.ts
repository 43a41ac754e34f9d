/**
 * Attack family: consent outliving the membership it was given to (issue 11). The rule: a patient's
 * grant is to a member as it was when the patient signed; a member removed by vote and admitted
 * again (same address) starts with no grants, and needs a new patient signature.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AttackNetwork, federationRecordIds, matches } from '../support/attackNetwork.js';

let net: AttackNetwork;
before(async () => {
  net = await AttackNetwork.start();
});
after(async () => {
  await net?.close();
});

describe('attack: a re-admitted member', { timeout: 600_000 }, () => {
  test('7. removed by vote and re-admitted with the same address: the old grant no longer permits reads', async () => {
    const a = net.patientA;
    await net.revokeAll(a);
    await net.grant(a, 'clinic', ['labs'], ['treatment']);
    const labRecords = async () =>
      matches(await net.fhirSearch('clinic', 'clinician', 'Observation', { patient: a.address }))
        .filter((r) => r.meta?.source === net.source('lab'))
        .map((r) => r.id as string);
    assert.deepEqual(await labRecords(), [a.labObservation], 'before: the grant permits the read');
    await net.wireControl();

    // Four members: removal needs 3 votes (51 %), then admission among three needs 2.
    const removal = await net.proposeRemoval('lab', 'clinic');
    await net.vote('hospital', removal);
    await net.vote('insurer', removal);
    assert.equal(await net.isActive('clinic'), false, 'the clinic was removed');
    const admission = await net.proposeAdmission('lab', 'clinic');
    await net.vote('hospital', admission);
    assert.equal(await net.isActive('clinic'), true, 'the clinic was admitted again');

    const leaks: string[] = [];
    const viaUser = await labRecords();
    if (viaUser.length > 0)
      leaks.push(`the clinic's clinician read ${net.labels(viaUser)} under the old grant`);
    const raw = await net.federationSearch('clinic', 'lab', {
      patient: a.address,
      resourceType: 'Observation',
      purpose: 'treatment',
      userRole: 'clinician',
    });
    const rawIds = federationRecordIds(raw);
    if (rawIds.length > 0) leaks.push(`the clinic node received ${net.labels(rawIds)} under the old grant`);
    assert.equal(leaks.length, 0, `a grant survived removal and re-admission:\n${leaks.join('\n')}`);

    // A new signature from the patient permits again.
    await net.grant(a, 'clinic', ['labs'], ['treatment']);
    assert.deepEqual(await labRecords(), [a.labObservation], 'after a new grant the read is permitted');
  });
});
