/**
 * Drug supply incidents over real sockets (issue 14; docs/supply-chain.md "Incidents"): saleable
 * returns verified before resale, quarantine and its end (cleared, or illegitimate with a notice
 * to every trading partner who handled the unit and a 24-hour alarm on an injected clock), and a
 * dispense stored as the patient's MedicationDispense with its verification. Four nodes
 * (manufacturer, distributor, pharmacy, hospital) seeded by `seedSupply`; the pharmacy's own
 * chain steps that the custody routes would send (a return shipped back, a dispensed unit) are
 * sent before the nodes start.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Bundle, MedicationDispense } from '@medplum/fhirtypes';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import {
  chainStatusOf,
  getAs,
  ledgerCallAs,
  postAs,
  SUPPLY_PASSPHRASE,
  type SupplyMemberName,
  type SupplyNetwork,
  startSupplyNetwork,
  storedUnitsOf,
  unitRef,
  urlOf,
} from '../../test/support/supplyNetwork.js';
import { openMemberNode } from '../node/memberNode.js';
import { DEMO_LOTS, demoGtin } from '../node/seed/seedSupply.js';
import type { StoredUnit } from '../store/unitStore.js';
import { DISPENSE_VERIFICATION_EXTENSION } from './medicationDispense.js';

const HOUR = 3_600_000;
let net: SupplyNetwork;
let offsetMs = 0;
const clock = () => new Date(Date.now() + offsetMs);

const AMX = demoGtin(DEMO_LOTS[0]?.itemReference as string);
const MET = demoGtin(DEMO_LOTS[1]?.itemReference as string);
let amx: StoredUnit[]; // AMX2601 at the pharmacy
let met: StoredUnit[]; // MET2602 at the pharmacy
const returned = () => amx[10] as StoredUnit; // shipped back to the distributor before the nodes start
const dispensedThenReturned = () => amx[11] as StoredUnit; // dispensed, then brought to the distributor

before(async () => {
  net = await startSupplyNetwork();
  amx = storedUnitsOf(net, 'pharmacy', AMX, 'AMX2601');
  met = storedUnitsOf(net, 'pharmacy', MET, 'MET2602');
  assert.ok(amx.length >= 20 && met.length >= 20, 'the seed shipped both lots to the pharmacy');
  // The pharmacy returns one unit to the distributor (custody back on chain) and dispenses another.
  await ledgerCallAs(net, 'pharmacy', 'transferUnits', [
    [unitRef(returned())],
    net.members.distributor.identity.address,
    `0x${'44'.repeat(32)}`,
  ]);
  await ledgerCallAs(net, 'pharmacy', 'setStatus', [
    [unitRef(dispensedThenReturned())],
    2,
    `0x${'55'.repeat(32)}`,
  ]);
  await net.serve({ clock });
});
after(() => net?.close());

const pack = (u: StoredUnit) => ({ gtin: u.gtin, serial: u.serial, lot: u.lot, expiry: u.expiry });
/** POST an incident step about one unit (by its serial) or a whole lot as the user named after `role` at `m`. */
const incident = (
  m: SupplyMemberName,
  role: string,
  step: 'quarantine' | 'clear' | 'illegitimate',
  what: StoredUnit | { gtin: string; lot: string },
  reason: string,
) =>
  postAs(net, m, role, `/supply/${step}`, {
    gtin: what.gtin,
    ...('serial' in what ? { serial: what.serial } : { lot: what.lot }),
    reason,
  });
const verifyAt = (m: SupplyMemberName, u: StoredUnit) =>
  getAs(net, m, 'pharmacist', `/supply/verify/01/${u.gtin}/10/${u.lot}/21/${u.serial}?exp=${u.expiry}`);

function incidentsAt(m: SupplyMemberName, gtin: string) {
  const node = openMemberNode(net.members[m].dir, SUPPLY_PASSPHRASE);
  try {
    return node.incidents.incidents(gtin);
  } finally {
    node.close();
  }
}

describe('saleable returns (at the distributor the pharmacy returns to)', () => {
  test('a returned unit that verifies goes back to saleable stock, with its EPCIS receiving event', async () => {
    const u = returned();
    const r = await postAs(net, 'distributor', 'pharmacist', '/supply/return', {
      ...pack(u),
      from: '9529012000019',
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.returned, true);
    assert.equal(r.body.saleable, true);
    assert.deepEqual(r.body.verification.answer.data, { verified: true });
    const inc = incidentsAt('distributor', AMX).filter((i) => i.kind === 'return');
    assert.deepEqual(
      inc.map((i) => [i.serials[0], i.outcome]),
      [[u.serial, 'accepted']],
    );
    // Resale: the distributor's next verification of it says saleable (it may ship it on).
    const again = await verifyAt('distributor', u);
    assert.equal(again.body.saleable, true);
    const node = openMemberNode(net.members.distributor.dir, SUPPLY_PASSPHRASE);
    const events = node.units.events().map((e) => e.event as { bizStep: string; disposition: string });
    node.close();
    assert.ok(events.some((e) => e.bizStep === 'receiving' && e.disposition === 'sellable_not_accessible'));
  });

  test('a dispensed unit brought back is refused with the verification reason, and recorded as refused', async () => {
    const u = dispensedThenReturned();
    const r = await postAs(net, 'distributor', 'pharmacist', '/supply/return', pack(u));
    assert.equal(r.status, 409);
    assert.match(r.body.issue[0].details.text, /not-for-re-distribution.*already-dispensed/);
    const inc = incidentsAt('distributor', AMX).filter((i) => i.serials[0] === u.serial);
    assert.deepEqual(
      inc.map((i) => i.outcome),
      ['refused'],
    );
    assert.equal(await chainStatusOf(net, u), 2, 'still dispensed');
  });

  test('a unit still in the pharmacy’s custody is refused at the distributor (not shipped back)', async () => {
    const r = await postAs(net, 'distributor', 'pharmacist', '/supply/return', pack(amx[12] as StoredUnit));
    assert.equal(r.status, 409);
    assert.match(r.body.issue[0].details.text, /not-shipped-to-requester/);
  });

  test('bad input: 400 and nothing recorded', async () => {
    const before = incidentsAt('distributor', AMX).length;
    const u = pack(amx[13] as StoredUnit);
    const cases: unknown[] = [
      { gtin: u.gtin, serial: u.serial, lot: u.lot }, // no expiry
      { ...u, gtin: `${u.gtin.slice(0, 13)}${(Number(u.gtin.at(-1)) + 1) % 10}` }, // check digit
      { ...u, price: 3 }, // not a field
      { ...u, from: '123' }, // not a GLN
      { ...u, expiry: '281340' },
      [],
    ];
    for (const body of cases) {
      const r = await postAs(net, 'distributor', 'pharmacist', '/supply/return', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.ok(r.body.issue[0].details.text.length > 10);
    }
    assert.equal(incidentsAt('distributor', AMX).length, before);
  });
});

describe('quarantine and investigation', () => {
  test('quarantine → Suspect and dispensing refused → cleared by the manufacturer → saleable again', async () => {
    const u = amx[20] as StoredUnit;
    const q = await incident('pharmacy', 'pharmacist', 'quarantine', u, 'carton seal broken');
    assert.equal(q.status, 200, JSON.stringify(q.body));
    assert.equal(q.body.status, 'suspect');
    assert.deepEqual(q.body.serials, [u.serial]);
    assert.equal(await chainStatusOf(net, u), 4, 'Suspect on chain');
    const v = await verifyAt('pharmacy', u);
    assert.deepEqual(v.body.data, {
      verified: false,
      verificationFailureReason: 'Not_for_re-distribution',
      additionalInfo: 'Suspect',
    });
    const d = await postAs(net, 'pharmacy', 'pharmacist', '/supply/dispense', pack(u));
    assert.equal(d.status, 409, 'a suspect pack is not dispensed');
    // The holder cannot end its own investigation; the manufacturer does.
    const own = await incident('pharmacy', 'admin', 'clear', u, 'looks fine');
    assert.equal(own.status, 403);
    const c = await incident(
      'manufacturer',
      'admin',
      'clear',
      u,
      'seal damaged in transit; contents genuine',
    );
    assert.equal(c.status, 200, JSON.stringify(c.body));
    assert.equal(c.body.status, 'active');
    assert.equal(await chainStatusOf(net, u), 1);
    assert.equal((await verifyAt('pharmacy', u)).body.saleable, true);
    const kinds = incidentsAt('pharmacy', AMX).filter((i) => i.serials.includes(u.serial));
    assert.deepEqual(
      kinds.map((i) => [i.kind, i.outcome]),
      [['quarantine', 'suspect']],
    );
  });

  test('a second quarantine of a suspect unit changes nothing (409); clearing an active one neither', async () => {
    const u = amx[21] as StoredUnit;
    const body = { gtin: u.gtin, serial: u.serial, reason: 'label misprint' };
    assert.equal((await postAs(net, 'pharmacy', 'pharmacist', '/supply/quarantine', body)).status, 200);
    assert.equal((await postAs(net, 'pharmacy', 'pharmacist', '/supply/quarantine', body)).status, 409);
    assert.equal((await postAs(net, 'manufacturer', 'admin', '/supply/clear', body)).status, 200);
    assert.equal((await postAs(net, 'manufacturer', 'admin', '/supply/clear', body)).status, 409);
  });

  test('a whole lot: quarantined in one transaction, then cleared', async () => {
    const atv = DEMO_LOTS[2] as (typeof DEMO_LOTS)[number];
    const gtin = demoGtin(atv.itemReference);
    const held = storedUnitsOf(net, 'pharmacy', gtin, atv.lot);
    const lot = { gtin, lot: atv.lot };
    const q = await incident(
      'pharmacy',
      'admin',
      'quarantine',
      lot,
      'temperature excursion in the delivery van',
    );
    assert.equal(q.status, 200, JSON.stringify(q.body));
    assert.equal(q.body.serials.length, held.length);
    assert.deepEqual(q.body.skipped, []);
    assert.equal(await chainStatusOf(net, held[7] as StoredUnit), 4);
    const c = await incident('manufacturer', 'admin', 'clear', lot, 'data logger within range');
    assert.equal(c.status, 200, JSON.stringify(c.body));
    // The manufacturer holds records of every unit it commissioned; those never quarantined are skipped.
    assert.equal(c.body.serials.length, held.length);
    assert.equal(await chainStatusOf(net, held[7] as StoredUnit), 1);
  });

  test('bad input to quarantine: 400, nothing sent to the chain', async () => {
    const u = amx[22] as StoredUnit;
    const cases: unknown[] = [
      { gtin: u.gtin, serial: u.serial }, // no reason
      { gtin: u.gtin, serial: u.serial, lot: u.lot, reason: 'x' }, // both
      { gtin: u.gtin, reason: 'x' }, // neither
      { gtin: '09521234000113', serial: u.serial, reason: 'x' }, // check digit
      { gtin: u.gtin, serial: u.serial, reason: 'x'.repeat(501) },
      { gtin: u.gtin, serial: u.serial, reason: 'a\u0007b' },
      { gtin: u.gtin, serial: u.serial, reason: 'x', status: 'suspect' },
    ];
    for (const body of cases)
      assert.equal(
        (await postAs(net, 'pharmacy', 'pharmacist', '/supply/quarantine', body)).status,
        400,
        JSON.stringify(body),
      );
    assert.equal(await chainStatusOf(net, u), 1);
    assert.equal(incidentsAt('pharmacy', AMX).filter((i) => i.serials.includes(u.serial)).length, 0);
    assert.equal(
      (
        await postAs(net, 'pharmacy', 'clinician', '/supply/quarantine', {
          ...pack(u),
          lot: undefined,
          expiry: undefined,
          reason: 'x',
        })
      ).status,
      403,
      'only supply staff quarantine',
    );
  });

  test('illegitimate: every partner who handled the unit has an alert with a 24-hour deadline, overdue after 24 h, acked', async () => {
    const u = met[5] as StoredUnit;
    const q = await incident(
      'pharmacy',
      'pharmacist',
      'quarantine',
      u,
      'patient reported unusual tablet colour',
    );
    assert.equal(q.status, 200);
    const t0 = clock().getTime();
    const r = await incident('manufacturer', 'admin', 'illegitimate', u, 'laboratory analysis: counterfeit');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.status, 'illegitimate');
    assert.equal(await chainStatusOf(net, u), 5);
    const { distributor, pharmacy, hospital } = net.members;
    assert.deepEqual(
      r.body.notified.map((n: { member: string; delivered: boolean }) => [n.member, n.delivered]).sort(),
      [
        [distributor.identity.address, true],
        [pharmacy.identity.address, true],
      ].sort(),
      'the distributor and the pharmacy handled it; the hospital never did',
    );
    for (const m of ['manufacturer', 'distributor', 'pharmacy'] as const) {
      const a = await getAs(net, m, 'pharmacist', '/supply/alerts');
      assert.equal(a.status, 200);
      const mine = a.body.alerts.filter((x: { serials: string[] }) => x.serials.includes(u.serial));
      assert.equal(mine.length, 1, `${m} has the alert`);
      const deadline = Date.parse(mine[0].deadline);
      assert.ok(
        Math.abs(deadline - (t0 + 24 * HOUR)) < 60_000,
        `${m}: deadline 24 h after the determination`,
      );
      assert.equal(mine[0].overdue, false);
      assert.ok(mine[0].timeLeftMs > 23 * HOUR);
      assert.equal(mine[0].from, net.members.manufacturer.identity.address);
      assert.equal(mine[0].id, r.body.notice.id);
    }
    assert.equal((await getAs(net, 'hospital', 'pharmacist', '/supply/alerts')).body.alerts.length, 0);
    assert.equal(hospital.identity.address !== pharmacy.identity.address, true);
    const v = await verifyAt('pharmacy', u);
    assert.equal(v.body.data.additionalInfo, 'Illegitimate');
    // 24 hours and a minute later, unacknowledged: the alarm.
    offsetMs = 24 * HOUR + 60_000;
    for (const m of ['manufacturer', 'distributor', 'pharmacy'] as const) {
      const a = await getAs(net, m, 'admin', '/supply/alerts');
      const mine = a.body.alerts.find((x: { id: string }) => x.id === r.body.notice.id);
      assert.equal(mine.overdue, true, `${m} is alarmed`);
      assert.equal(mine.timeLeftMs, 0);
      assert.ok(a.body.overdue >= 1);
    }
    const ack = await postAs(net, 'pharmacy', 'pharmacist', `/supply/alerts/${r.body.notice.id}/ack`, {});
    assert.equal(ack.status, 200);
    assert.equal(ack.body.acknowledged, true);
    assert.equal(Date.parse(ack.body.acknowledgedAt) >= t0 + 24 * HOUR, true, 'on the injected clock');
    const after = await getAs(net, 'pharmacy', 'pharmacist', '/supply/alerts');
    assert.equal(
      after.body.alerts.some((x: { id: string }) => x.id === r.body.notice.id),
      false,
    );
    assert.equal(
      (await postAs(net, 'pharmacy', 'pharmacist', `/supply/alerts/${r.body.notice.id}/ack`, {})).status,
      409,
    );
    assert.equal(
      (await postAs(net, 'pharmacy', 'pharmacist', '/supply/alerts/not-a-uuid/ack', {})).status,
      400,
    );
    assert.equal(
      (await postAs(net, 'pharmacy', 'clinician', `/supply/alerts/${crypto.randomUUID()}/ack`, {})).status,
      403,
    );
    offsetMs = 0;
  });
});

describe('MedicationDispense: the patient sees the medicine was verified authentic', () => {
  test('a dispense naming a patient and a prescription stores a MedicationDispense the patient reads', async () => {
    const patient = privateKeyToAccount(generatePrivateKey());
    const p = await postAs(net, 'pharmacy', 'clinician', '/fhir/Patient', {
      resourceType: 'Patient',
      name: [{ family: 'Okafor', given: ['Ada'] }],
      identifier: [{ system: 'urn:medchain:patient', value: patient.address }],
    });
    assert.equal(p.status, 201, JSON.stringify(p.body));
    const mr = await postAs(net, 'pharmacy', 'clinician', '/fhir/MedicationRequest', {
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      medicationCodeableConcept: { text: 'Amoxicillin 500 mg' },
      subject: { reference: `Patient/${p.body.id}` },
    });
    assert.equal(mr.status, 201, JSON.stringify(mr.body));
    const u = amx[30] as StoredUnit;
    // Bad references first: refused before anything is sent, the unit stays saleable.
    for (const bad of [
      { patient: 'Patient/nobody' },
      { patient: 'Observation/1' },
      { medicationRequest: `MedicationRequest/${mr.body.id}` },
      { patient: `Patient/${p.body.id}`, medicationRequest: 'MedicationRequest/nothing' },
    ]) {
      const r = await postAs(net, 'pharmacy', 'pharmacist', '/supply/dispense', { ...pack(u), ...bad });
      assert.ok(r.status === 400 || r.status === 404, `${JSON.stringify(bad)}: ${r.status}`);
    }
    assert.equal(await chainStatusOf(net, u), 1, 'not dispensed by a refused request');
    const d = await postAs(net, 'pharmacy', 'pharmacist', '/supply/dispense', {
      ...pack(u),
      patient: `Patient/${p.body.id}`,
      medicationRequest: `MedicationRequest/${mr.body.id}`,
    });
    assert.equal(d.status, 200, JSON.stringify(d.body));
    assert.match(d.body.medicationDispense, /^MedicationDispense\//);
    assert.equal(await chainStatusOf(net, u), 2);
    // The patient signs in at the pharmacy and reads their records.
    const base = urlOf(net, 'pharmacy');
    const c = await fetch(`${base}/auth/patient/challenge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ address: patient.address }),
    });
    const { challenge } = (await c.json()) as { challenge: string };
    const login = await fetch(`${base}/auth/patient/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        address: patient.address,
        challenge,
        signature: await patient.signMessage({ message: challenge }),
      }),
    });
    assert.equal(login.status, 200);
    const { access_token } = (await login.json()) as { access_token: string };
    const rec = await fetch(`${base}/patients/${patient.address}/records`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    assert.equal(rec.status, 200);
    const bundle = (await rec.json()) as Bundle;
    const md = bundle.entry?.map((e) => e.resource).find((r) => r?.resourceType === 'MedicationDispense') as
      | MedicationDispense
      | undefined;
    assert.ok(md, 'the patient sees the MedicationDispense');
    assert.equal(md.subject?.reference, `Patient/${p.body.id}`);
    assert.equal(md.authorizingPrescription?.[0]?.reference, `MedicationRequest/${mr.body.id}`);
    const med = md.contained?.[0] as {
      code: { coding: { code: string }[] };
      batch: { lotNumber: string };
      identifier: { value: string }[];
    };
    assert.equal(med.code.coding[0]?.code, u.gtin);
    assert.equal(
      (med.code as { text?: string }).text,
      'Amoxicillin 500 mg',
      'named as the prescription names it',
    );
    assert.equal(med.batch.lotNumber, u.lot);
    assert.match(med.identifier[0]?.value ?? '', new RegExp(`/21/${u.serial}`));
    const ext = md.extension?.find((e) => e.url === DISPENSE_VERIFICATION_EXTENSION)?.extension ?? [];
    const val = (k: string) => ext.find((e) => e.url === k);
    assert.equal(val('verified')?.valueBoolean, true);
    assert.equal(val('responder')?.valueString, 'manufacturer');
    assert.equal(val('responderAddress')?.valueString, net.members.manufacturer.identity.address);
    assert.ok(val('verifiedAt')?.valueDateTime);
  });
});
