/**
 * Attack family: a write as an existence oracle (issue 15). Writes check that local references
 * resolve (src/records/referenceCheck.ts). The rules: the check runs only for a user who may write
 * the record (and so may read what it refers to); it looks at this member's own records only,
 * never at the replicas it holds of other members' records; and it resolves no conditional
 * reference (that would be a patient lookup the log does not show).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { UserRole } from '../../src/access/roles.js';
import { PATIENT_ADDRESS_SYSTEM } from '../../src/fhir/resourceTypes.js';
import { type Answer, AttackNetwork, type MemberName, waitFor } from '../support/attackNetwork.js';

let net: AttackNetwork;
before(async () => {
  net = await AttackNetwork.start();
});
after(async () => {
  await net?.close();
});

const observation = (subject: string, member?: string) => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] },
  subject: { reference: subject },
  ...(member ? { hasMember: [{ reference: member }] } : {}),
});
const condition = (subject: string) => ({
  resourceType: 'Condition',
  code: { text: 'probe' },
  subject: { reference: subject },
});

async function post(member: MemberName, role: UserRole | null, type: string, body: unknown): Promise<Answer> {
  return net.asUser(member, (role ?? 'clinician') as UserRole, `/fhir/${type}`, {
    method: 'POST',
    body: JSON.stringify(body),
    ...(role === null ? { headers: { authorization: 'Bearer not-a-token' } } : {}),
  });
}

/** The answer as text with the probed ids taken out (they are echoed in a refusal's message). */
const shape = (a: Answer, ids: readonly string[]) => {
  let text = JSON.stringify(a.body);
  for (const id of ids) text = text.replaceAll(id, '<id>');
  return `${a.status} ${text}`;
};

describe('attack: a write as an existence oracle', { timeout: 600_000 }, () => {
  test('14a. a user who may not write gets the same refusal whether the referenced record exists or not', async () => {
    const real = net.patientA.patientId;
    const fake = randomUUID();
    const leaks: string[] = [];
    const probes: [string, UserRole | null, string, (s: string) => unknown][] = [
      ['billing writes an Observation', 'billing', 'Observation', (s) => observation(`Patient/${s}`)],
      ['a nurse writes a Condition', 'nurse', 'Condition', (s) => condition(`Patient/${s}`)],
      ['a researcher writes an Observation', 'researcher', 'Observation', (s) => observation(`Patient/${s}`)],
      ['no valid token', null, 'Observation', (s) => observation(`Patient/${s}`)],
    ];
    for (const [who, role, type, body] of probes) {
      const a = await post('lab', role, type, body(real));
      const b = await post('lab', role, type, body(fake));
      if (a.status < 400) leaks.push(`${who}: the write was accepted (${a.status})`);
      if (shape(a, [real]) !== shape(b, [fake]))
        leaks.push(`${who}: ${shape(a, [real]).slice(0, 160)} vs ${shape(b, [fake]).slice(0, 160)}`);
    }
    // Control: a clinician (who may write, and read the patient) is told the truth.
    const ok = await post('lab', 'clinician', 'Observation', observation(`Patient/${real}`));
    const missing = await post('lab', 'clinician', 'Observation', observation(`Patient/${fake}`));
    assert.equal(ok.status, 201, `the control write is accepted (${JSON.stringify(ok.body).slice(0, 200)})`);
    assert.equal(missing.status, 422, 'the control write to a missing patient is refused');
    assert.deepEqual(leaks, []);
  });

  test('14b. records another member holds as replicas do not resolve: the same answer as ids that exist nowhere', async () => {
    await net.anchorAndReplicate('lab');
    const replicas = (await net.replicasOf('lab')).filter((m) => m !== 'lab');
    assert.ok(replicas.length > 0, 'the lab has replicas');
    const { patientId, labObservation } = net.patientA;
    const held = (m: MemberName) =>
      (
        net.members[m].node.db
          .prepare('SELECT count(*) AS n FROM replica_records WHERE id IN (?, ?)')
          .get(patientId, labObservation) as { n: number }
      ).n === 2;
    await waitFor('the lab’s replicas to hold patient A’s Patient and lab Observation', () =>
      replicas.every(held),
    );
    const leaks: string[] = [];
    for (const m of replicas) {
      const fakes = [randomUUID(), randomUUID()];
      const a = await post(
        m,
        'clinician',
        'Observation',
        observation(`Patient/${patientId}`, `Observation/${labObservation}`),
      );
      const b = await post(
        m,
        'clinician',
        'Observation',
        observation(`Patient/${fakes[0]}`, `Observation/${fakes[1]}`),
      );
      if (a.status !== 422)
        leaks.push(`${m}: a write referring to the lab’s records was answered ${a.status}`);
      if (shape(a, [patientId, labObservation]) !== shape(b, fakes))
        leaks.push(
          `${m}: ${shape(a, [patientId, labObservation]).slice(0, 200)} vs ${shape(b, fakes).slice(0, 200)}`,
        );
    }
    assert.deepEqual(leaks, []);
  });

  test('14c. a conditional reference is no unlogged patient lookup: the same answer for a patient held here and for nobody', async () => {
    const held = `Patient?identifier=${PATIENT_ADDRESS_SYSTEM}|${net.patientA.address}`;
    const nobody = `Patient?identifier=${PATIENT_ADDRESS_SYSTEM}|0x${'ab'.repeat(20)}`;
    const a = await post('lab', 'clinician', 'Observation', observation(held));
    const b = await post('lab', 'clinician', 'Observation', observation(nobody));
    assert.equal(a.status, 422, `refused (${JSON.stringify(a.body).slice(0, 200)})`);
    assert.equal(shape(a, [net.patientA.address]), shape(b, [`0x${'ab'.repeat(20)}`]));
  });
});
