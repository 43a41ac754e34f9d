/**
 * The seeded insurance: every seeded patient has a valid R4 Coverage with the insurer (payor by
 * member account) at every provider, which billing staff may read, and the insurer holds the
 * patient's enrollment (Patient + Coverage), which the patient reads through their own export.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { validateResource } from '@medplum/core';
import type { Coverage } from '@medplum/fhirtypes';
import type { Address } from 'viem';
import { mayAccess } from '../../access/roles.js';
import { loadFhirDefinitions } from '../../fhir/definitions.js';
import { createIdentity } from '../memberIdentity.js';
import { keyFileOf, openMemberNode } from '../memberNode.js';
import { MEMBER_SYSTEM, seedCoverage } from './seedCoverage.js';
import { SEED_PATIENTS, seedNetwork } from './seedNetwork.js';

const PASS = 'seed coverage test passphrase';
const root = mkdtempSync(path.join(tmpdir(), 'medchain-seed-coverage-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('a seeded Coverage is valid FHIR R4 and names the payer by its member account', () => {
  loadFhirDefinitions();
  const payer = { address: `0x${'ab'.repeat(20)}` as Address, name: 'Acme Health Insurance' };
  const c = seedCoverage('p-1', 'ACME-000001', payer);
  validateResource(c);
  assert.deepEqual(c.payor, [
    { identifier: { system: MEMBER_SYSTEM, value: payer.address }, display: payer.name },
  ]);
  assert.equal(c.beneficiary.reference, 'Patient/p-1');
  assert.ok(mayAccess('billing', 'read', 'Coverage'), 'billing staff read Coverage');
  assert.ok(!mayAccess('clinician', 'read', 'Coverage'), 'clinicians do not');
});

test('seedNetwork covers every patient at every provider and enrolls them at the insurer', {
  timeout: 300_000,
}, async () => {
  const dirs = Object.fromEntries(
    ['hospital', 'clinic', 'lab', 'insurer'].map((n) => {
      const dir = path.join(root, n);
      createIdentity(keyFileOf(dir), PASS);
      return [n, dir];
    }),
  ) as Record<'hospital' | 'clinic' | 'lab' | 'insurer', string>;
  const insurerAddress = openMemberNode(dirs.insurer, PASS);
  const payer = {
    address: insurerAddress.identity.address,
    name: 'Acme Health Insurance',
    dir: dirs.insurer,
  };
  insurerAddress.close();
  const seeded = await seedNetwork(
    root,
    { hospital: dirs.hospital, clinic: dirs.clinic, lab: dirs.lab },
    PASS,
    () => {},
    payer,
  );
  assert.equal(seeded.length, SEED_PATIENTS);
  for (const n of ['hospital', 'clinic', 'lab', 'insurer'] as const) {
    const node = openMemberNode(dirs[n], PASS);
    try {
      for (const p of seeded.slice(0, 3)) {
        const { resources } = await node.gate.patientRecords(p.address as Address);
        const covers = resources.filter((r) => r.resourceType === 'Coverage') as Coverage[];
        assert.equal(covers.length, 1, `${n}: one Coverage for ${p.name}`);
        assert.equal(covers[0]?.payor[0]?.identifier?.value, payer.address, `${n}: payer is the insurer`);
        if (n === 'insurer') {
          assert.deepEqual(
            resources.map((r) => r.resourceType).sort(),
            ['Coverage', 'Patient'],
            'the insurer holds the enrollment only',
          );
        }
      }
    } finally {
      node.close();
    }
  }
});
