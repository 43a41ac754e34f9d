/**
 * Attack family: the International Patient Summary as a side channel (issue 15). `$summary` adds no
 * access path of its own: every record in it comes through the gatekeeper. The rules it must keep:
 * what the asker may not see never changes the document (its sections, narratives and empty
 * reasons read the same whether or not hidden records exist), and a patient's summary is theirs
 * alone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Bundle, Composition } from '@medplum/fhirtypes';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { Actor } from '../../src/access/gatekeeper.js';
import { validateIpsDocument } from '../../src/fhir/ips/validateIps.js';
import { type Answer, AttackNetwork, request, type SeededPatient } from '../support/attackNetwork.js';

const OPERATOR: Actor = { id: 'operator:attack-summary', role: 'operator', purpose: 'operations' };
let net: AttackNetwork;
/** A patient with no records anywhere but a Patient at the clinic: the "nothing hidden" twin. */
let nobody: SeededPatient;
/** Local Patient ids at the clinic. */
const atClinic = new Map<string, string>();

async function clinicPatient(address: string): Promise<string> {
  const p = await net.members.clinic.node.gate.create(OPERATOR, 'Patient', {
    resourceType: 'Patient',
    identifier: [{ system: 'urn:medchain:patient', value: address }],
    name: [{ family: 'Same', given: ['Name'] }],
    birthDate: '1970-01-01',
  });
  return p.id as string;
}

before(async () => {
  net = await AttackNetwork.start();
  const account = privateKeyToAccount(generatePrivateKey());
  nobody = { ...net.patientA, account, address: account.address };
  for (const p of [net.patientA, nobody]) atClinic.set(p.address, await clinicPatient(p.address));
});
after(async () => {
  await net?.close();
});

const summary = (p: SeededPatient) =>
  net.asUser('clinic', 'clinician', `/fhir/Patient/${atClinic.get(p.address)}/$summary`);

/** A document with what legitimately differs between two patients and two calls taken out. */
function normalized(a: Answer, p: SeededPatient): string {
  return JSON.stringify(a.body)
    .replaceAll(p.address, '<address>')
    .replaceAll(p.address.toLowerCase(), '<address>')
    .replaceAll(atClinic.get(p.address) as string, '<id>')
    .replace(/urn:uuid:[0-9a-f-]{36}/g, '<uuid>')
    .replace(/\d{4}-\d{2}-\d{2}T[\d:.]+Z/g, '<time>');
}

const sectionOf = (a: Answer, code: string) =>
  ((a.body as Bundle).entry?.[0]?.resource as Composition | undefined)?.section?.find((s) =>
    s.code?.coding?.some((c) => c.code === code),
  );

describe('12. the patient summary as a side channel', () => {
  test('16a. with no consent, the summary of a patient with hidden mental-health records reads exactly as one with none', async () => {
    await net.revokeAll(net.patientA);
    const [hit, miss] = [await summary(net.patientA), await summary(nobody)];
    assert.equal(hit.status, 200, JSON.stringify(hit.body).slice(0, 1000));
    assert.deepEqual(validateIpsDocument(hit.body as Bundle), []);
    const leaks: string[] = [];
    if (normalized(hit, net.patientA) !== normalized(miss, nobody))
      leaks.push(
        `the document changes when hidden records exist:\n  hidden: ${normalized(hit, net.patientA).slice(0, 600)}\n  none:   ${normalized(miss, nobody).slice(0, 600)}`,
      );
    for (const bad of ['depressive', 'HIV', net.patientA.psyCondition, net.patientA.medicationRequest])
      if (JSON.stringify(hit.body).includes(bad)) leaks.push(`the document holds ${bad}`);
    assert.deepEqual(leaks, []);
    assert.equal(sectionOf(hit, '11450-4')?.emptyReason?.coding?.[0]?.code, 'withheld');
  });

  test('16b. medications granted: the medication is served; the problems section still says nothing of the hidden conditions', async () => {
    await net.grant(net.patientA, 'clinic', ['medications'], ['treatment']);
    await net.grant(nobody, 'clinic', ['medications'], ['treatment']);
    const [hit, miss] = [await summary(net.patientA), await summary(nobody)];
    assert.equal(hit.status, 200);
    assert.deepEqual(validateIpsDocument(hit.body as Bundle), []);
    const ids = ((hit.body as Bundle).entry ?? []).map((e) => e.resource?.id);
    const leaks: string[] = [];
    if (!ids.includes(net.patientA.medicationRequest)) leaks.push('the granted medication is missing');
    for (const id of [net.patientA.psyCondition, net.patientA.psyHivCondition, net.patientA.labObservation])
      if (ids.includes(id)) leaks.push(`${net.label(id)} is in the document`);
    for (const code of ['11450-4', '48765-2']) {
      const [h, m] = [JSON.stringify(sectionOf(hit, code)), JSON.stringify(sectionOf(miss, code))];
      if (h !== m) leaks.push(`section ${code} differs:\n  hidden: ${h}\n  none:   ${m}`);
    }
    assert.deepEqual(leaks, []);
    await net.revokeAll(net.patientA);
    await net.revokeAll(nobody);
  });

  test("16c. a patient's summary is theirs alone", async () => {
    const path = `/patients/${net.patientB.address}/summary`;
    const asA = await request(`${net.url('lab')}${path}`, {
      headers: {
        authorization: await net.patientHeader(net.patientA, 'lab', { method: 'GET', pathAndQuery: path }),
      },
    });
    assert.equal(asA.status, 403, JSON.stringify(asA.body));
    const staff = await net.asUser('lab', 'clinician', path);
    assert.ok([401, 403].includes(staff.status), `a staff token: ${staff.status}`);
    const none = await request(`${net.url('lab')}${path}`);
    assert.equal(none.status, 401);
    for (const a of [asA, staff, none]) assert.ok(!JSON.stringify(a.body).includes('depressive'));
  });
});
