/**
 * IPS $summary over real sockets against a real network (an anvil chain, two member nodes serving
 * HTTP): records at both members appear in one validated IPS document under the patient's consent;
 * a category the patient did not grant is absent and its refusal is in the section; every record
 * released is logged at the custodian and at the reader; the patient gets their own summary.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Bundle, Composition } from '@medplum/fhirtypes';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { signInToken, startServedMembers } from '../../test/support/memberSetup.js';
import { startTestChain, type TestChain } from '../../test/support/testChain.js';
import type { Actor } from '../access/gatekeeper.js';
import { walletFor } from '../chain/clients.js';
import { type GrantRequest, signGrant } from '../chain/consentSignatures.js';
import { consortiumContracts } from '../chain/contracts.js';
import { consentAbi } from '../chain/generated/index.js';
import type { DeploymentManifest } from '../chain/manifest.js';
import { categoriesToMask, purposesToMask } from '../chain/scopes.js';
import { writeAndWait } from '../chain/transact.js';
import { validateIpsDocument } from '../fhir/ips/validateIps.js';
import { decodeEntry, type LogEntry } from '../log/entry.js';
import type { MemberIdentity } from '../node/memberIdentity.js';
import type { MemberNode, RunningNode } from '../node/memberNode.js';

const PASS = 'summary test passphrase';
const OPERATOR: Actor = { id: 'operator:test', role: 'operator', purpose: 'operations' };
const PATIENT = privateKeyToAccount(generatePrivateKey());
type Name = 'clinic' | 'lab';
const NAMES: Name[] = ['clinic', 'lab'];
const ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

let t: TestChain;
let manifest: DeploymentManifest;
const ids = {} as Record<Name, MemberIdentity>;
const nodes = {} as Record<Name, { node: MemberNode; running: RunningNode }>;
const made = {} as Record<'clinicPatient' | 'allergy' | 'condition' | 'psy' | 'med', string>;

const token = (name: Name, user: string): Promise<string> =>
  signInToken(nodes[name].running.url, user, `${user} password 123`);

const since = (name: Name, from: number): LogEntry[] =>
  nodes[name].node.log.entries(from, nodes[name].node.log.size).map((e) => decodeEntry(e.leaf));

async function grant(categories: string[], purposes: string[]) {
  const c = consortiumContracts(t.conn, manifest);
  const now = BigInt(Math.floor(Date.now() / 1000));
  const g: GrantRequest = {
    patient: PATIENT.address,
    grantee: ids.clinic.address,
    granteeAdmission: await c.registry.read.admissionOf([ids.clinic.address]),
    categories: categoriesToMask(categories),
    purposes: purposesToMask(purposes),
    validFrom: now - 60n,
    expiry: now + 3600n,
    nonce: await c.consent.read.nonces([PATIENT.address]),
    deadline: now + 600n,
  };
  await writeAndWait(t.conn, walletFor(t.conn, ids.lab.chainKey), {
    address: manifest.contracts.Consent,
    abi: consentAbi,
    functionName: 'grantWithSig',
    args: [g, await signGrant(PATIENT, manifest, g)],
  });
}

const patientResource = {
  resourceType: 'Patient',
  identifier: [{ system: 'urn:medchain:patient', value: PATIENT.address }],
  name: [{ family: 'Okafor', given: ['Ada'] }],
  birthDate: '1975-09-14',
};

before(async () => {
  t = await startTestChain({ memberCount: 1 });
  const served = await startServedMembers(t, NAMES, {
    passphrase: PASS,
    usernames: ['clinician'],
    serve: { anchor: { intervalMs: 3_600_000 } },
    endpoint: 'http://127.0.0.1',
  });
  Object.assign(ids, served.ids);
  Object.assign(nodes, served.nodes);
  manifest = served.manifest;
  // The clinic holds the patient and an allergy; the lab a problem, a mental-health problem and a medication.
  const cp = await nodes.clinic.node.gate.create(OPERATOR, 'Patient', patientResource);
  made.clinicPatient = cp.id as string;
  made.allergy = (
    await nodes.clinic.node.gate.create(OPERATOR, 'AllergyIntolerance', {
      resourceType: 'AllergyIntolerance',
      clinicalStatus: {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' },
        ],
      },
      code: { coding: [{ system: 'http://snomed.info/sct', code: '91936005' }], text: 'Penicillin allergy' },
      patient: { reference: `Patient/${cp.id}` },
    })
  ).id as string;
  const g = nodes.lab.node.gate;
  const lp = await g.create(OPERATOR, 'Patient', patientResource);
  const subject = { reference: `Patient/${lp.id}` };
  made.condition = (
    await g.create(OPERATOR, 'Condition', {
      resourceType: 'Condition',
      code: { coding: [{ system: 'http://snomed.info/sct', code: '38341003' }], text: 'Hypertension' },
      subject,
    })
  ).id as string;
  made.psy = (
    await g.create(OPERATOR, 'Condition', {
      resourceType: 'Condition',
      meta: { security: [{ system: ACT, code: 'PSY' }] },
      code: { text: 'depressive disorder' },
      subject,
    })
  ).id as string;
  made.med = (
    await g.create(OPERATOR, 'MedicationRequest', {
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      medicationCodeableConcept: {
        coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '197361' }],
        text: 'amlodipine 5 mg',
      },
      subject,
    })
  ).id as string;
  await grant(['general', 'medications'], ['treatment']);
});

after(async () => {
  for (const n of NAMES) {
    await nodes[n]?.running.close();
    nodes[n]?.node.close();
  }
  await t?.close();
});

const sectionOf = (b: Bundle, code: string) =>
  (b.entry?.[0]?.resource as Composition | undefined)?.section?.find((s) =>
    s.code?.coding?.some((c) => c.code === code),
  );
const idsIn = (b: Bundle, type: string) =>
  (b.entry ?? []).filter((e) => e.resource?.resourceType === type).map((e) => e.resource?.id);

describe('Patient/$summary across members', () => {
  test('a clinician gets one IPS with both members’ records under consent; the refused category is absent and reported', async () => {
    const s0 = { clinic: nodes.clinic.node.log.size, lab: nodes.lab.node.log.size };
    const r = await fetch(`${nodes.clinic.running.url}/fhir/Patient/${made.clinicPatient}/$summary`, {
      headers: { authorization: `Bearer ${await token('clinic', 'clinician')}` },
    });
    const b = (await r.json()) as Bundle;
    assert.equal(r.status, 200, JSON.stringify(b).slice(0, 2000));
    assert.equal(b.type, 'document');
    assert.deepEqual(validateIpsDocument(b), [], 'the served document validates against the IPS profiles');
    assert.deepEqual(idsIn(b, 'AllergyIntolerance'), [made.allergy], 'the clinic’s own allergy');
    assert.deepEqual(idsIn(b, 'Condition'), [made.condition], 'the lab’s problem; not the mental-health one');
    assert.deepEqual(idsIn(b, 'MedicationRequest'), [made.med], 'the lab’s medication');
    assert.ok(!JSON.stringify(b).includes('depressive'), 'nothing of the refused record');
    const problems = sectionOf(b, '11450-4')?.text?.div ?? '';
    assert.match(problems, /lab did not share [^<]*mental health[^<]*Condition/, problems);
    // Log before serve: the lab logged what it released and what it withheld; the clinic what it received.
    const atLab = since('lab', s0.lab).map(
      (e) => `${e.outcome}:${e.target?.id || e.target?.resourceType || ''}`,
    );
    for (const id of [made.condition, made.med]) assert.ok(atLab.includes(`permit:${id}`), atLab.join());
    assert.ok(!atLab.includes(`permit:${made.psy}`));
    assert.ok(
      atLab.some((x) => x === 'deny:Condition'),
      atLab.join(),
    );
    const atClinic = since('clinic', s0.clinic);
    for (const id of [made.condition, made.med])
      assert.ok(
        atClinic.some((e) => e.outcome === 'permit' && e.reason === 'received' && e.target?.id === id),
      );
    assert.ok(atClinic.some((e) => e.outcome === 'permit' && e.target?.id === made.allergy));
  });

  test('without a session: 401, nothing served', async () => {
    const r = await fetch(`${nodes.clinic.running.url}/fhir/Patient/${made.clinicPatient}/$summary`);
    assert.equal(r.status, 401);
  });

  test('the patient gets their own summary of what this member holds, mental health included, logged', async () => {
    const base = nodes.lab.running.url;
    const post = (p: string, body: unknown) =>
      fetch(`${base}${p}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then((r) => r.json() as Promise<Record<string, string>>);
    const { challenge } = await post('/auth/patient/challenge', { address: PATIENT.address });
    const signature = await PATIENT.signMessage({ message: challenge as string });
    const { access_token } = await post('/auth/patient/login', {
      address: PATIENT.address,
      challenge,
      signature,
    });
    const s0 = nodes.lab.node.log.size;
    const r = await fetch(`${base}/patients/${PATIENT.address}/summary`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    const b = (await r.json()) as Bundle;
    assert.equal(r.status, 200, JSON.stringify(b).slice(0, 2000));
    assert.deepEqual(validateIpsDocument(b), []);
    assert.deepEqual(idsIn(b, 'Condition').sort(), [made.condition, made.psy].sort());
    assert.equal((b.entry?.[0]?.resource as Composition | undefined)?.confidentiality, 'R');
    assert.equal(sectionOf(b, '48765-2')?.emptyReason?.coding?.[0]?.code, 'unavailable');
    const exported = since('lab', s0).filter((e) => e.action === 'export' && e.outcome === 'permit');
    for (const id of [made.condition, made.psy, made.med])
      assert.ok(exported.some((e) => e.target?.id === id));
    const other = await fetch(`${base}/patients/${ids.clinic.address}/summary`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    assert.equal(other.status, 403, 'only their own');
  });
});
