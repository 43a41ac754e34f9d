/**
 * Attack family: reading beyond what the patient's consent and the requester's role allow (issue
 * 11). The rules (DESIGN.md, "Read a record"): break-glass only for care members; every security
 * label of a record must be covered by the grant; the purpose of use is bound to the user's role and
 * to the requesting member's Registry role.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ResourceType } from '../../src/fhir/resourceTypes.js';
import {
  AttackNetwork,
  federationRecordIds,
  type MemberName,
  matches,
  VALID_BREAK_GLASS_REASON,
} from '../support/attackNetwork.js';

let net: AttackNetwork;
before(async () => {
  net = await AttackNetwork.start();
});
after(async () => {
  await net?.close();
});

/** Ids of the records in a FHIR answer that came from `custodian`. */
const idsFrom = (custodian: MemberName, a: Parameters<typeof matches>[0]) =>
  matches(a)
    .filter((r) => r.meta?.source === net.source(custodian))
    .map((r) => r.id as string);

const TYPES: ResourceType[] = ['Condition', 'Observation', 'MedicationRequest'];
const breakGlass = { 'x-break-glass-reason': VALID_BREAK_GLASS_REASON };

describe('attack: reading beyond consent and role', { timeout: 600_000 }, () => {
  test('3. break-glass from a non-care member: the insurer (its emergency clinician, or its node) gets no record from the lab; a hospital still can', async () => {
    const a = net.patientA;
    await net.revokeAll(a);
    const leaks: string[] = [];
    for (const type of TYPES) {
      const viaUser = await net.fhirSearch(
        'insurer',
        'emergency-clinician',
        type,
        { patient: a.address },
        breakGlass,
      );
      const got = idsFrom('lab', viaUser);
      if (got.length > 0)
        leaks.push(
          `insurer emergency-clinician, ${type}: ${viaUser.status} with lab records ${net.labels(got)}`,
        );
      const raw = await net.federationSearch('insurer', 'lab', {
        patient: a.address,
        resourceType: type,
        purpose: 'emergency',
        userRole: 'emergency-clinician',
        breakGlassReason: VALID_BREAK_GLASS_REASON,
      });
      const rawIds = federationRecordIds(raw);
      if (rawIds.length > 0)
        leaks.push(`insurer node break-glass, ${type}: ${raw.status} with records ${net.labels(rawIds)}`);
    }

    // A care member breaking the glass still reads, through its user and (the wire control) its node.
    const hospital = await net.fhirSearch(
      'hospital',
      'emergency-clinician',
      'Condition',
      { patient: a.address },
      breakGlass,
    );
    assert.equal(hospital.status, 200, JSON.stringify(hospital.body).slice(0, 300));
    assert.ok(
      idsFrom('lab', hospital).includes(a.psyCondition),
      'a hospital emergency clinician breaking the glass reads the lab’s records',
    );
    const hospitalRaw = await net.federationSearch('hospital', 'lab', {
      patient: a.address,
      resourceType: 'Condition',
      purpose: 'emergency',
      userRole: 'emergency-clinician',
      breakGlassReason: VALID_BREAK_GLASS_REASON,
    });
    assert.ok(
      federationRecordIds(hospitalRaw).includes(a.psyCondition),
      `harness: a hospital's break-glass request is understood (${hospitalRaw.status})`,
    );
    assert.equal(
      leaks.length,
      0,
      `break-glass from a non-care member released records:\n${leaks.join('\n')}`,
    );
  });

  test('4. every security label counts: a mental-health grant does not release a record also labelled HIV', async () => {
    const a = net.patientA;
    await net.revokeAll(a);
    await net.grant(a, 'clinic', ['mental-health'], ['treatment']);
    const leaks: string[] = [];
    const viaUser = await net.fhirSearch('clinic', 'clinician', 'Condition', { patient: a.address });
    assert.ok([200, 403].includes(viaUser.status), JSON.stringify(viaUser.body).slice(0, 300));
    if (idsFrom('lab', viaUser).includes(a.psyHivCondition))
      leaks.push('the clinician received the PSY+HIV Condition under a mental-health-only grant');
    const raw = await net.federationSearch('clinic', 'lab', {
      patient: a.address,
      resourceType: 'Condition',
      purpose: 'treatment',
      userRole: 'clinician',
    });
    if (federationRecordIds(raw).includes(a.psyHivCondition))
      leaks.push('the clinic node received the PSY+HIV Condition under a mental-health-only grant');
    await net.wireControl();
    assert.equal(leaks.length, 0, leaks.join('\n'));
  });

  test('6. purpose is bound to role: billing claiming treatment is refused; an insurer node claiming treatment gets nothing', async () => {
    const a = net.patientA;
    await net.revokeAll(a);
    await net.grant(a, 'clinic', ['general', 'labs', 'mental-health'], ['treatment']);
    await net.grant(a, 'insurer', ['labs'], ['treatment']);
    const leaks: string[] = [];
    const claimTreatment = { 'x-purpose-of-use': 'treatment' };

    const billing = await net.fhirSearch(
      'clinic',
      'billing',
      'Condition',
      { patient: a.address },
      claimTreatment,
    );
    if (billing.status !== 403)
      leaks.push(`clinic billing with X-Purpose-Of-Use: treatment got ${billing.status}, not 403`);
    const remote = idsFrom('lab', billing);
    if (remote.length > 0)
      leaks.push(
        `clinic billing claiming treatment read the lab's treatment-only records ${net.labels(remote)}`,
      );
    const labBilling = await net.fhirSearch(
      'lab',
      'billing',
      'Condition',
      { patient: a.address },
      claimTreatment,
    );
    if (labBilling.status !== 403)
      leaks.push(
        `lab billing with X-Purpose-Of-Use: treatment (local records) got ${labBilling.status}, not 403`,
      );

    const raw = await net.federationSearch('insurer', 'lab', {
      patient: a.address,
      resourceType: 'Observation',
      purpose: 'treatment',
      userRole: 'clinician',
    });
    const rawIds = federationRecordIds(raw);
    if (rawIds.length > 0)
      leaks.push(`the insurer node claiming treatment received ${net.labels(rawIds)} (${raw.status})`);
    const insurerClinician = await net.fhirSearch('insurer', 'clinician', 'Observation', {
      patient: a.address,
    });
    const viaInsurer = idsFrom('lab', insurerClinician);
    if (viaInsurer.length > 0)
      leaks.push(`the insurer's clinician (treatment) received the lab's ${net.labels(viaInsurer)}`);

    // Control: the clinic's clinician, a care role at a care member, reads under the same grant.
    const clinician = await net.fhirSearch('clinic', 'clinician', 'Condition', { patient: a.address });
    assert.ok(
      idsFrom('lab', clinician).includes(a.psyCondition),
      `the clinic's clinician reads under the grant (${clinician.status})`,
    );
    await net.wireControl();
    assert.equal(leaks.length, 0, `purpose was not bound to role:\n${leaks.join('\n')}`);
  });
});
