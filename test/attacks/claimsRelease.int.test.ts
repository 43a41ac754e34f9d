/**
 * Attack family: reading another member's insurance and claims (issue 13). A claim reaches its
 * payer only through `Claim/$submit`; no other member gets a provider's Claim or Coverage through
 * search, even its billing staff acting for payment with a payment grant from the patient, while
 * the same grant still releases the clinical records billing may read (the control).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ResourceType } from '../../src/fhir/resourceTypes.js';
import { AttackNetwork, federationRecordIds, type MemberName, matches } from '../support/attackNetwork.js';

let net: AttackNetwork;
const ids: Partial<Record<ResourceType, string>> = {};
before(async () => {
  net = await AttackNetwork.start();
  const a = net.patientA;
  const gate = net.members.lab.node.gate;
  const operator = { id: 'operator:claims-attack', role: 'operator', purpose: 'operations' } as const;
  const subject = { reference: `Patient/${a.patientId}` };
  const member = (name: MemberName) => ({
    identifier: { system: 'urn:medchain:member', value: net.address(name) },
  });
  ids.Encounter = (
    await gate.create(operator, 'Encounter', {
      resourceType: 'Encounter',
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      subject,
    })
  ).id;
  ids.Coverage = (
    await gate.create(operator, 'Coverage', {
      resourceType: 'Coverage',
      status: 'active',
      beneficiary: subject,
      payor: [member('insurer')],
    })
  ).id;
  ids.Claim = (
    await gate.create(operator, 'Claim', {
      resourceType: 'Claim',
      status: 'active',
      type: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }],
      },
      use: 'claim',
      patient: { ...subject, identifier: { system: 'urn:medchain:patient', value: a.address } },
      created: '2026-03-10T12:00:00Z',
      provider: member('lab'),
      insurer: member('insurer'),
      priority: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/processpriority', code: 'normal' }],
      },
      insurance: [{ sequence: 1, focal: true, coverage: { reference: `Coverage/${ids.Coverage}` } }],
    })
  ).id;
  // The patient grants the hospital and the insurer everything general, for payment.
  for (const grantee of ['hospital', 'insurer'] as const)
    await net.grant(a, grantee, ['general'], ['payment']);
});
after(async () => {
  await net?.close();
});

describe('attack: reading another member’s claims', { timeout: 600_000 }, () => {
  test('neither another provider nor the payer gets the lab’s Claim or Coverage by search; the grant still releases the Encounter', async () => {
    const a = net.patientA;
    const leaks: string[] = [];
    for (const attacker of ['hospital', 'insurer'] as const) {
      for (const type of ['Claim', 'Coverage'] as const) {
        const viaUser = await net.fhirSearch(attacker, 'billing', type, { patient: a.address });
        const got = matches(viaUser)
          .filter((r) => r.meta?.source === net.source('lab'))
          .map((r) => r.id);
        if (got.length > 0) leaks.push(`${attacker} billing user, ${type}: ${got.join(', ')}`);
        const raw = await net.federationSearch(attacker, 'lab', {
          patient: a.address,
          resourceType: type,
          purpose: 'payment',
          userRole: 'billing',
        });
        assert.equal(
          raw.status,
          200,
          `${attacker} node asking ${type}: ${JSON.stringify(raw.body).slice(0, 200)}`,
        );
        const rawIds = federationRecordIds(raw);
        if (rawIds.length > 0) leaks.push(`${attacker} node, ${type}: ${rawIds.join(', ')}`);
      }
    }
    assert.deepEqual(leaks, [], 'claims and coverage leaked to another member');

    // Control: the same grant, purpose and role do release what consent covers (the Encounter).
    const control = await net.federationSearch('hospital', 'lab', {
      patient: a.address,
      resourceType: 'Encounter',
      purpose: 'payment',
      userRole: 'billing',
    });
    assert.ok(
      federationRecordIds(control).includes(ids.Encounter as string),
      `the payment grant releases the Encounter: ${JSON.stringify(control.body).slice(0, 300)}`,
    );
  });
});
