/**
 * Attack family: reading through a replica while the custodian is down (issue 11). The rules: a
 * replica decides on the consent in force now (not the wraps an older grant left it), and a reader
 * accepts from a replica only records the custodian logged for the patient asked about.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AttackNetwork,
  federationRecordIds,
  type MemberName,
  matches,
  waitFor,
} from '../support/attackNetwork.js';

let net: AttackNetwork;
before(async () => {
  net = await AttackNetwork.start();
});
after(async () => {
  await net?.close();
});

/** The lab's replicas that answer the clinic (a reader never asks itself). */
async function labReplicas(): Promise<MemberName[]> {
  return (await net.replicasOf('lab')).filter((m) => m !== 'clinic');
}

/** Rows a member holds as replica of the lab's records of one patient, with the wraps for the clinic. */
function heldFor(replica: MemberName, patient: `0x${string}`): { id: string; clinicWrap: number }[] {
  const clinicKey = net.members.clinic.identity.encryptionPublicKey.slice(2).toLowerCase();
  return net.members[replica].node.db
    .prepare(
      `SELECT r.id AS id, (SELECT count(*) FROM replica_wraps w WHERE w.custodian = r.custodian AND w.resource_type = r.resource_type AND w.id = r.id AND w.recipient = ?) AS clinicWrap
       FROM replica_records r WHERE r.custodian = ? AND r.patient = ?`,
    )
    .all(clinicKey, net.address('lab').toLowerCase(), patient.toLowerCase()) as {
    id: string;
    clinicWrap: number;
  }[];
}

const labIds = (a: Parameters<typeof matches>[0]) =>
  matches(a)
    .filter((r) => r.meta?.source === net.source('lab'))
    .map((r) => r.id as string);

describe('attack: reading through a replica', { timeout: 600_000 }, () => {
  test('5. a grant narrowed while the custodian is down: the replica serves no record the new grant does not cover', async () => {
    const a = net.patientA;
    await net.startMember('lab');
    await net.revokeAll(a);
    // Wide enough for both sensitive Conditions (general + mental health, + sexual and reproductive
    // health for the one labelled HIV too): a grant must cover every category of a record.
    await net.grant(
      a,
      'clinic',
      ['general', 'labs', 'mental-health', 'sexual-reproductive-health'],
      ['treatment'],
    );
    await net.anchorAndReplicate('lab');
    const replicas = await labReplicas();
    await waitFor('the lab’s replicas to hold the clinic’s wraps for the mental-health Conditions', () =>
      replicas.every((r) =>
        [a.psyCondition, a.psyHivCondition].every((id) =>
          heldFor(r, a.address).some((h) => h.id === id && h.clinicWrap > 0),
        ),
      ),
    );

    // The lab can push nothing more: its replicator stops, the patient narrows the grant, the lab goes down.
    await net.members.lab.running?.replicator?.stop();
    await net.grant(a, 'clinic', ['general', 'labs'], ['treatment']);
    await net.stopMember('lab');
    const probe = {
      custodian: net.address('lab'),
      patient: a.address,
      purpose: 'treatment' as const,
      userRole: 'clinician' as const,
    };
    const sensitive = [a.psyCondition, a.psyHivCondition];
    const leaks: string[] = [];
    /** What the clinician (and the clinic node itself, asking each replica raw) gets of the mental-health Conditions. */
    const probeConditions = async (when: string) => {
      const cond = await net.fhirSearch('clinic', 'clinician', 'Condition', { patient: a.address });
      const served = labIds(cond).filter((id) => sensitive.includes(id));
      if (served.length > 0)
        leaks.push(
          `${when}: the clinician received mental-health Conditions ${net.labels(served)} from a replica`,
        );
      for (const replica of replicas) {
        const raw = await net.replicaSearch('clinic', replica, { ...probe, resourceType: 'Condition' });
        const rawIds = federationRecordIds(raw).filter((id) => sensitive.includes(id));
        if (rawIds.length > 0)
          leaks.push(
            `${when}: ${replica} sent the clinic node mental-health Conditions ${net.labels(rawIds)}`,
          );
      }
    };
    try {
      // Every wrap the replicas hold was made under the superseded grant: none is used, not even
      // for what the new grant still covers, and the reader is told records may be missing.
      const obs = await net.fhirSearch('clinic', 'clinician', 'Observation', { patient: a.address });
      assert.deepEqual(labIds(obs), [], 'a wrap made under a superseded grant is not used');
      assert.match(JSON.stringify(obs.body), /served by its replica at .*may be missing/);
      await probeConditions('under the superseded wraps');
    } finally {
      await net.startMember('lab');
    }
    // The lab comes back, re-sends the patient's records with the wraps the new grant allows, and goes down again.
    await net.anchorAndReplicate('lab');
    await waitFor('the lab’s replicas to drop the clinic’s wraps for the mental-health Conditions', () =>
      replicas.every((r) =>
        sensitive.every((id) => !heldFor(r, a.address).some((h) => h.id === id && h.clinicWrap > 0)),
      ),
    );
    await net.members.lab.running?.replicator?.stop();
    await net.stopMember('lab');
    try {
      const obs = await net.fhirSearch('clinic', 'clinician', 'Observation', { patient: a.address });
      assert.deepEqual(
        labIds(obs),
        [a.labObservation],
        `the replica serves what the new grant covers (${obs.status}: ${JSON.stringify(obs.body).slice(0, 300)})`,
      );
      for (const replica of replicas) {
        const control = await net.replicaSearch('clinic', replica, { ...probe, resourceType: 'Observation' });
        assert.deepEqual(
          federationRecordIds(control),
          [a.labObservation],
          `harness: ${replica} answers a raw replica search (${control.status})`,
        );
      }
      await probeConditions('under the new wraps');
      assert.equal(leaks.length, 0, `a replica served beyond the current grant:\n${leaks.join('\n')}`);
    } finally {
      await net.startMember('lab');
    }
  });

  test("8. a replica that files patient B's records under patient A: a read for A returns none of B's", async () => {
    const [a, b] = [net.patientA, net.patientB];
    await net.startMember('lab');
    await net.revokeAll(a);
    await net.revokeAll(b);
    await net.grant(a, 'clinic', ['labs'], ['treatment']);
    await net.grant(b, 'clinic', ['labs', 'medications', 'general'], ['treatment']);
    await net.anchorAndReplicate('lab');
    const replicas = await labReplicas();
    await waitFor('the lab’s replicas to hold the clinic’s wrap for B’s lab result', () =>
      replicas.every((r) => heldFor(r, b.address).some((h) => h.id === b.labObservation && h.clinicWrap > 0)),
    );
    await net.members.lab.running?.replicator?.stop();
    await net.stopMember('lab');
    const lie = (replica: MemberName, from: string, to: string) =>
      net.members[replica].node.db
        .prepare('UPDATE replica_records SET patient = ? WHERE custodian = ? AND patient = ?')
        .run(to.toLowerCase(), net.address('lab').toLowerCase(), from.toLowerCase()).changes;
    const moved = new Map<MemberName, number>();
    try {
      for (const r of replicas) moved.set(r, lie(r, b.address, a.address));
      assert.ok(
        [...moved.values()].every((n) => n > 0),
        'each replica now files B’s records under A',
      );
      const r = await net.fhirSearch('clinic', 'clinician', 'Observation', { patient: a.address });
      const got = labIds(r);
      assert.ok(
        got.includes(a.labObservation),
        `the replica serves A's own lab result (${r.status}: ${JSON.stringify(r.body).slice(0, 300)})`,
      );
      const values = matches(r).map(
        (x) => (x as { valueQuantity?: { value?: number } }).valueQuantity?.value,
      );
      assert.ok(
        !got.includes(b.labObservation) && !values.includes(b.labValue),
        `a read for A returned B's lab result (value ${b.labValue}) as A's`,
      );
    } finally {
      // Put B's rows back under B (A's own rows were never touched), then bring the lab back.
      const bIds = [b.labObservation, b.psyCondition, b.psyHivCondition, b.medicationRequest, b.patientId];
      for (const replica of replicas) {
        const upd = net.members[replica].node.db.prepare(
          'UPDATE replica_records SET patient = ? WHERE custodian = ? AND id = ?',
        );
        for (const id of bIds) upd.run(b.address.toLowerCase(), net.address('lab').toLowerCase(), id);
      }
      await net.startMember('lab');
    }
  });
});
