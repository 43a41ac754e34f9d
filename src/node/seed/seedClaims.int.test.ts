/**
 * The demo claims seed over real sockets (issue 13), on the claims network
 * (test/support/claimsNetwork.ts): eight patients held at the hospital and the clinic with their
 * Encounters and a Coverage with the insurer, enrolled at the insurer, as `medchain up` seeds them.
 * The seed submits through the providers' `Claim/$submit`; each claim ends as it should on chain
 * and in the ClaimResponse; a second seed submits nothing; a provider that never anchors is named
 * after the deadline. What it waits for: the seed waits until the providers' logs are anchored (a
 * loop here ticks their anchorers, as a node's own schedule would); `$submit` answers once the
 * batch and the decision are mined.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Resource } from '@medplum/fhirtypes';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { passwordOf } from '../../../test/support/attackNetwork.js';
import { ClaimsNetwork } from '../../../test/support/claimsNetwork.js';
import type { Actor } from '../../access/gatekeeper.js';
import { PATIENT_ADDRESS_SYSTEM, type ResourceType } from '../../fhir/resourceTypes.js';
import {
  ClaimSeedError,
  type SeedClaimsOptions,
  type SeededClaim,
  seedClaims,
  unexpected,
} from './seedClaims.js';
import { seedCoverage } from './seedCoverage.js';

const OPERATOR: Actor = { id: 'operator:seed', role: 'operator', purpose: 'operations' };
const PATIENTS = 8;
let cn: ClaimsNetwork;
let root: string;
let patients: { address: string }[];
let opts: SeedClaimsOptions;

const encounter = (klass: string, start: string): Resource =>
  ({
    resourceType: 'Encounter',
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: klass },
    subject: { reference: 'Patient/{{patient}}' },
    period: { start, end: start },
  }) as Resource;

before(async () => {
  cn = await ClaimsNetwork.start();
  root = mkdtempSync(path.join(tmpdir(), 'medchain-seed-claims-'));
  const insurer = { address: cn.address('insurer'), name: 'Insurer' };
  patients = [];
  for (let i = 0; i < PATIENTS; i++) {
    const address = privateKeyToAccount(generatePrivateKey()).address;
    const patient = {
      resourceType: 'Patient',
      identifier: [{ system: PATIENT_ADDRESS_SYSTEM, value: address }],
    };
    const at = {
      hospital: [encounter('IMP', `2026-06-0${(i % 8) + 1}`)],
      clinic: [
        encounter('AMB', `2026-10-1${i % 9}`),
        encounter('AMB', `2026-07-1${i % 9}`),
        encounter('AMB', `2026-04-1${i % 9}`),
      ],
    };
    for (const m of ['hospital', 'clinic'] as const) {
      const gate = cn.nodeOf(m).gate;
      const stored = await gate.create(OPERATOR, 'Patient', structuredClone(patient));
      for (const r of at[m]) {
        const body = JSON.parse(JSON.stringify(r).replaceAll('{{patient}}', stored.id)) as Resource;
        await gate.create(OPERATOR, body.resourceType as ResourceType, body);
      }
      await gate.create(OPERATOR, 'Coverage', seedCoverage(stored.id, `ACME-${i}`, insurer));
    }
    const enrolled = await cn.nodeOf('insurer').gate.create(OPERATOR, 'Patient', structuredClone(patient));
    await cn
      .nodeOf('insurer')
      .gate.create(OPERATOR, 'Coverage', seedCoverage(enrolled.id, `ACME-${i}`, insurer));
    patients.push({ address });
  }
  const provider = (m: 'hospital' | 'clinic') => ({
    name: m,
    url: cn.net.url(m),
    address: cn.address(m),
    billingPassword: passwordOf('billing'),
    clinicianPassword: passwordOf('clinician'),
  });
  opts = {
    root,
    hospital: provider('hospital'),
    clinic: provider('clinic'),
    insurer: cn.address('insurer'),
    patients,
    progress: () => {},
    chainTime: async () => Number((await cn.net.t.conn.publicClient.getBlock()).timestamp) * 1000,
  };
});
after(async () => {
  await cn?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Run `f` while the providers' anchorers tick (as their nodes' own schedule would). */
async function whileAnchoring<T>(f: () => Promise<T>): Promise<T> {
  let on = true;
  const loop = (async () => {
    while (on) {
      // Forced (the test network's anchorers have no timer of their own); a slow receipt is
      // retried on the next round, as the node's own timer would.
      for (const m of ['hospital', 'clinic'] as const)
        await cn.net.members[m].running?.anchorer?.tick(true).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  try {
    return await f();
  } finally {
    on = false;
    await loop;
  }
}

describe('the demo claims seed', { timeout: 900_000 }, () => {
  let seeded: SeededClaim[];
  test('submits clean and fraudulent claims through Claim/$submit, each ending as expected on chain', async () => {
    const t0 = Date.now();
    seeded = await whileAnchoring(() => seedClaims(opts));
    const took = Date.now() - t0;
    assert.equal(seeded.length, PATIENTS * 2 + 4);
    for (const c of seeded) assert.equal(unexpected(c), undefined, `${c.key}: ${JSON.stringify(c)}`);
    const state = async (key: string) => {
      const c = seeded.find((x) => x.key === key);
      assert.ok(c, key);
      return (await cn.claimOf(c.claimId))?.state;
    };
    assert.equal(await state('p01-hospital-clean'), 'approved');
    assert.equal(await state('p01-clinic-clean'), 'approved');
    assert.equal(await state('p02-clinic-duplicate'), 'denied');
    assert.equal(await state('p04-clinic-unbundled'), 'approved', 'the column-one line is paid');
    assert.equal(await state('p06-clinic-units'), 'denied');
    assert.equal(await state('p08-clinic-no-evidence'), 'pended');
    const byKey = new Map(seeded.map((c) => [c.key, c]));
    assert.deepEqual(byKey.get('p04-clinic-unbundled')?.carcs, { 1: [], 2: ['236'] });
    assert.deepEqual(byKey.get('p02-clinic-duplicate')?.carcs, { 1: ['18'] });
    assert.deepEqual(byKey.get('p06-clinic-units')?.carcs, { 1: ['151'] });
    assert.deepEqual(byKey.get('p08-clinic-no-evidence')?.carcs, { 1: ['252'] });
    assert.ok(existsSync(path.join(root, 'patients', 'claims-seeded.json')));
    process.stdout.write(`# seeded ${seeded.length} claims in ${took} ms\n`);
  });

  test('seeding again submits nothing', async () => {
    const batches = (await cn.batchesBy('hospital')) + (await cn.batchesBy('clinic'));
    const again = await seedClaims({ ...opts, anchorDeadlineMs: 1 });
    assert.deepEqual(again, seeded);
    assert.equal(
      (await cn.batchesBy('hospital')) + (await cn.batchesBy('clinic')),
      batches,
      'no batch on chain',
    );
  });

  test('a provider that never anchors is named after the deadline, and nothing is submitted', async () => {
    const fresh = mkdtempSync(path.join(tmpdir(), 'medchain-seed-claims-'));
    try {
      const batches = await cn.batchesBy('clinic');
      await assert.rejects(seedClaims({ ...opts, root: fresh, anchorDeadlineMs: 1_500 }), (err: Error) => {
        assert.ok(err instanceof ClaimSeedError);
        assert.match(err.message, /did not anchor its log on chain within 2 s/);
        return true;
      });
      assert.equal(await cn.batchesBy('clinic'), batches);
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });
});
