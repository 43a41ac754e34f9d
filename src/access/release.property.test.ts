/**
 * The guarantee, as a property: for random grants (categories, purposes, windows, admissions,
 * none), member roles, user roles, purposes and records with random security labels, what a
 * custodian releases to another member equals an independent model of the consent rule, and
 * everything the requester can observe — the records released, the refusals, the truncation flag,
 * the log entries the custodian writes about it — is identical for two stores that differ only in
 * records the requester may not see.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { Address } from 'viem';
import type { GrantTerms } from '../chain/consentModel.js';
import { CATEGORIES, MEMBER_ROLES, rolesToMask } from '../chain/scopes.js';
import { generateX25519 } from '../crypto/x25519.js';
import { answerMember } from '../federation/custodian.js';
import { loadFhirDefinitions } from '../fhir/definitions.js';
import { decodeEntry } from '../log/entry.js';
import { TransparencyLog } from '../log/transparencyLog.js';
import { RecordService } from '../records/recordService.js';
import { openDatabase } from '../store/database.js';
import { NODE_MIGRATIONS } from '../store/nodeSchema.js';
import { RecordStore } from '../store/recordStore.js';
import { Gatekeeper } from './gatekeeper.js';
import { MEMBER_PURPOSES, ROLE_PURPOSES } from './purposeOfUse.js';
import { USER_ROLES, type UserRole } from './roles.js';

const CUSTODIAN = '0x1000000000000000000000000000000000000001' as Address;
const REQUESTER = '0x2000000000000000000000000000000000000002' as Address;
const PATIENT = '0x3000000000000000000000000000000000000003' as Address;
const NOW_MS = 2_000_000_000_000;
const NOW = BigInt(NOW_MS / 1000);
const LABELS = ['PSY', 'HIV', 'ETH', 'GDIS'] as const;
const TYPES = ['Patient', 'Observation', 'Condition', 'MedicationRequest'] as const;
const requesterKeys = generateX25519();

interface Spec {
  type: 'Observation' | 'Condition' | 'MedicationRequest';
  kind: 'laboratory' | 'vital-signs' | 'imaging';
  labels: (typeof LABELS)[number][];
}

function resourceOf(s: Spec, patientId: string): Record<string, unknown> {
  const subject = { reference: `Patient/${patientId}` };
  const meta = s.labels.length
    ? {
        security: s.labels.map((code) => ({
          system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
          code,
        })),
      }
    : undefined;
  const base = { ...(meta ? { meta } : {}), subject };
  if (s.type === 'Observation')
    return {
      resourceType: 'Observation',
      status: 'final',
      category: [
        {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: s.kind }],
        },
      ],
      code: { text: 'x' },
      ...base,
    };
  if (s.type === 'Condition') return { resourceType: 'Condition', code: { text: 'x' }, ...base };
  return {
    resourceType: 'MedicationRequest',
    status: 'active',
    intent: 'order',
    medicationCodeableConcept: { text: 'x' },
    ...base,
  };
}

interface Asker {
  roles: (typeof MEMBER_ROLES)[number][];
  active: boolean;
  admission: number;
  userRole: UserRole;
  purpose: 'treatment' | 'payment' | 'operations' | 'research' | 'emergency';
  grant: GrantTerms | undefined;
}

/** The categories of a spec, written out independently of src/records/recordCategory.ts. */
function modelMask(s: Spec): number {
  const bit = (c: (typeof CATEGORIES)[number]) => 1 << CATEGORIES.indexOf(c);
  let m =
    s.type === 'MedicationRequest'
      ? bit('medications')
      : s.type === 'Observation' && s.kind === 'laboratory'
        ? bit('labs')
        : s.type === 'Observation' && s.kind === 'imaging'
          ? bit('imaging')
          : bit('general');
  const labelled = {
    PSY: 'mental-health',
    HIV: 'sexual-reproductive-health',
    ETH: 'substance-use',
    GDIS: 'genetics',
  } as const;
  for (const l of s.labels) m |= bit(labelled[l]);
  return m;
}

/** The consent rule written out independently of src/access/policy.ts: may a record of `mask` go to this asker? */
function model(a: Asker, mask: number): boolean {
  if (!a.active) return false;
  if (!(ROLE_PURPOSES[a.userRole] as readonly string[]).includes(a.purpose)) return false;
  if (!a.roles.some((r) => (MEMBER_PURPOSES[r] as readonly string[]).includes(a.purpose))) return false;
  if (a.purpose === 'emergency')
    return a.userRole === 'emergency-clinician' && a.roles.some((r) => r === 'HOSPITAL' || r === 'CLINIC');
  const g = a.grant;
  if (!g || g.granteeAdmission !== a.admission || NOW < g.validFrom || NOW >= g.expiry) return false;
  const purposeBit = 1 << ['treatment', 'payment', 'operations', 'research'].indexOf(a.purpose);
  return (g.purposes & purposeBit) !== 0 && (mask & ~g.categories) === 0;
}

/** A custodian's store holding the patient and `specs` (with fixed ids), and its gatekeeper. */
async function custodianWith(records: { id: string; spec: Spec }[], patientId: string, asker: Asker) {
  const db = openDatabase(':memory:', NODE_MIGRATIONS);
  const keys = generateX25519();
  const svc = new RecordService(new RecordStore(db), {
    encryptionPrivateKey: keys.privateKey,
    encryptionPublicKey: keys.publicKey,
    indexKey: new Uint8Array(32).fill(7),
    keks: [{ id: '0000000a', key: new Uint8Array(32).fill(9) }],
  });
  const log = new TransparencyLog(db, CUSTODIAN);
  const gate = new Gatekeeper(svc, log, new Uint8Array(32), () => NOW_MS);
  gate.attachChain({
    member: async () => ({
      active: asker.active,
      roles: rolesToMask(asker.roles),
      admission: asker.admission,
      name: 'requester',
    }),
    grantOf: async () => asker.grant,
  });
  await svc.update('Patient', patientId, {
    resourceType: 'Patient',
    identifier: [{ system: 'urn:medchain:patient', value: PATIENT }],
  });
  for (const r of records) await svc.update(r.spec.type, r.id, resourceOf(r.spec, patientId));
  return { db, svc, log, gate };
}

async function observe(c: Awaited<ReturnType<typeof custodianWith>>, asker: Asker) {
  const before = c.log.size;
  const answer = await answerMember(
    {
      gate: c.gate,
      records: c.svc,
      self: CUSTODIAN,
      member: async () => ({
        address: REQUESTER,
        name: 'requester',
        endpoint: '',
        encryptionKey: requesterKeys.publicKey,
        active: asker.active,
        roles: rolesToMask(asker.roles),
        admission: asker.admission,
      }),
    },
    REQUESTER,
    {
      patient: PATIENT,
      resourceTypes: TYPES,
      purpose: asker.purpose,
      userRole: asker.userRole,
      breakGlass: asker.purpose === 'emergency' ? `0x${'ab'.repeat(32)}` : null,
    },
  );
  const entries = c.log.entries(before, c.log.size).map((e) => {
    const d = decodeEntry(e.leaf);
    return `${d.actor} ${d.action} ${d.outcome} ${d.reason} ${d.target?.resourceType}/${d.target?.id}/${d.target?.version} ${d.patient} ${d.purpose}`;
  });
  return {
    released: answer.records.map((r) => `${r.resourceType}/${r.id}/${r.version}/${r.categories}`).sort(),
    refusals: answer.refusals,
    truncated: answer.truncated,
    hasKey: answer.responseKey !== null,
    entries: entries.sort(),
  };
}

const specArb: fc.Arbitrary<Spec> = fc.record({
  type: fc.constantFrom('Observation', 'Condition', 'MedicationRequest'),
  kind: fc.constantFrom('laboratory', 'vital-signs', 'imaging'),
  labels: fc.subarray([...LABELS]),
});

const askerArb: fc.Arbitrary<Asker> = fc.record({
  roles: fc.subarray([...MEMBER_ROLES], { minLength: 1 }),
  active: fc.boolean(),
  admission: fc.integer({ min: 1, max: 2 }),
  userRole: fc.constantFrom(...USER_ROLES),
  purpose: fc.constantFrom('treatment', 'payment', 'operations', 'research', 'emergency'),
  grant: fc.option(
    fc.record({
      categories: fc.integer({ min: 1, max: (1 << CATEGORIES.length) - 1 }),
      purposes: fc.integer({ min: 1, max: 15 }),
      validFrom: fc.constantFrom(NOW - 100n, NOW, NOW + 1n),
      expiry: fc.constantFrom(NOW, NOW + 1n, NOW + 3600n),
      granteeAdmission: fc.integer({ min: 1, max: 2 }),
    }),
    { freq: 4 },
  ),
});

before(() => loadFhirDefinitions());

describe('what a custodian releases to another member', () => {
  test('equals the model, and nothing observable changes with records the asker may not see', async () => {
    await fc.assert(
      fc.asyncProperty(
        askerArb,
        fc.array(specArb, { maxLength: 6 }),
        fc.array(specArb, { minLength: 1, maxLength: 4 }),
        async (asker, pool, extra) => {
          const patientId = randomUUID();
          const all = [...pool, ...extra].map((spec) => ({ id: randomUUID(), spec }));
          const maskOf = modelMask;
          const visible = all.filter((r) => model(asker, maskOf(r.spec)));
          const hidden = all.filter((r) => !model(asker, maskOf(r.spec)));
          const a = await custodianWith(visible, patientId, asker);
          const b = await custodianWith([...visible, ...hidden], patientId, asker);
          const oa = await observe(a, asker);
          const ob = await observe(b, asker);
          a.db.close();
          b.db.close();
          const patientReleased = model(
            asker,
            maskOf({ type: 'Condition', kind: 'vital-signs', labels: [] }),
          );
          const expected = [
            ...visible.map((r) => `${r.spec.type}/${r.id}/1/${maskOf(r.spec)}`),
            ...(patientReleased ? [`Patient/${patientId}/1/1`] : []),
          ].sort();
          assert.deepEqual(oa.released, expected, 'released = the model');
          assert.deepEqual(ob, oa, 'identical with and without the hidden records');
        },
      ),
      { numRuns: 60 },
    );
  });
});
