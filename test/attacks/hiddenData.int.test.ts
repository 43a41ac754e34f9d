/**
 * Attack family: learning what is hidden from the shape of a refusal (issue 11). The rule (DESIGN.md,
 * "Read a record"): what the asker may not see never changes the answer; same status, shape and
 * totals whether or not hidden records match, and no count of what was withheld.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import {
  type Answer,
  AttackNetwork,
  CODES,
  federationRecordIds,
  keysMatching,
  matches,
  normalize,
} from '../support/attackNetwork.js';

let net: AttackNetwork;
before(async () => {
  net = await AttackNetwork.start();
});
after(async () => {
  await net?.close();
});

/** Why two answers differ once normalized (status, shape, totals, outcome entries), or undefined when they do not. */
/** `patients`: when two different patients are compared, the addresses an answer names for them. */
function difference(probe: string, hit: Answer, miss: Answer, patients: string[] = []): string | undefined {
  const [h, m] = [normalize(hit, patients), normalize(miss, patients)];
  if (isDeepStrictEqual(h, m)) return undefined;
  const show = (x: unknown) => JSON.stringify(x).slice(0, 240);
  return `${probe}: the answer changes when a hidden record matches\n    matching: ${show(h)}\n    no match: ${show(m)}`;
}

/** Keys of an answer that count withheld records (there must be none: a count tells what is hidden). */
const deniedCounts = (probe: string, a: Answer): string[] =>
  keysMatching(a.body, /denied|withheld|hidden/i).map(
    (k) => `${probe}: the answer counts denied records at ${k}`,
  );

const clinicianSearch = (params: Record<string, string>) =>
  net.fhirSearch('clinic', 'clinician', 'Condition', params);
const rawCondition = (patient: `0x${string}`, params?: Record<string, string[]>) =>
  net.federationSearch('clinic', 'lab', {
    patient,
    resourceType: 'Condition',
    purpose: 'treatment',
    userRole: 'clinician',
    ...(params ? { params } : {}),
  });

describe('attack: a refusal tells what is hidden', { timeout: 600_000 }, () => {
  test('1. no consent at all: matching and non-matching hidden codes get the same answer (clinician and raw member)', async () => {
    const a = net.patientA;
    await net.revokeAll(a);
    const nobody = privateKeyToAccount(generatePrivateKey()).address; // a patient no member holds anything for
    const leaks: string[] = [];
    const same = (probe: string, hit: Answer, miss: Answer) => {
      // Comparing two patients: the answers may name the patient asked about, nothing else.
      const d = difference(
        probe,
        hit,
        miss,
        probe.includes('a patient with none') ? [a.address, nobody] : [],
      );
      if (d) leaks.push(d);
    };

    // As the clinic's clinician, through the clinic's node.
    same(
      'clinician code=<PSY code> vs code=<unused>',
      await clinicianSearch({ patient: a.address, code: CODES.psy }),
      await clinicianSearch({ patient: a.address, code: CODES.unused }),
    );
    same(
      'clinician _count=0 code=<PSY code> vs code=<unused>',
      await clinicianSearch({ patient: a.address, code: CODES.psy, _count: '0' }),
      await clinicianSearch({ patient: a.address, code: CODES.unused, _count: '0' }),
    );
    same(
      'clinician no code: a patient with hidden Conditions vs a patient with none',
      await clinicianSearch({ patient: a.address }),
      await clinicianSearch({ patient: nobody }),
    );
    same(
      'clinician _count=0 no code: a patient with hidden Conditions vs a patient with none',
      await clinicianSearch({ patient: a.address, _count: '0' }),
      await clinicianSearch({ patient: nobody, _count: '0' }),
    );

    // As the clinic's node itself, signing requests to the lab with its own key.
    const raw = {
      'code=<PSY code>': await rawCondition(a.address, { code: [CODES.psy] }),
      'code=<unused>': await rawCondition(a.address, { code: [CODES.unused] }),
      'no code': await rawCondition(a.address),
      'no code, patient with nothing': await rawCondition(nobody),
    };
    same('raw member code=<PSY code> vs code=<unused>', raw['code=<PSY code>'], raw['code=<unused>']);
    same(
      'raw member no code: a patient with hidden Conditions vs a patient with none',
      raw['no code'],
      raw['no code, patient with nothing'],
    );
    for (const [probe, ans] of Object.entries(raw)) {
      leaks.push(...deniedCounts(`raw member ${probe}`, ans));
      if (federationRecordIds(ans).length > 0)
        leaks.push(`raw member ${probe}: records were served without consent`);
    }
    await net.wireControl(); // the raw probes above were understood by the lab
    assert.equal(leaks.length, 0, `the hidden records leak:\n${leaks.join('\n')}`);
  });

  test('2. partial consent (labs only): hidden codes still get the same answer, and the lab result is served', async () => {
    const a = net.patientA;
    await net.revokeAll(a);
    await net.grant(a, 'clinic', ['labs'], ['treatment']);
    const leaks: string[] = [];
    const same = (probe: string, hit: Answer, miss: Answer) => {
      const d = difference(probe, hit, miss);
      if (d) leaks.push(d);
    };
    same(
      'clinician code=<PSY code> vs code=<unused>',
      await clinicianSearch({ patient: a.address, code: CODES.psy }),
      await clinicianSearch({ patient: a.address, code: CODES.unused }),
    );
    same(
      'clinician code=<PSY+HIV code> vs code=<unused>',
      await clinicianSearch({ patient: a.address, code: CODES.psyHiv }),
      await clinicianSearch({ patient: a.address, code: CODES.unused }),
    );
    same(
      'clinician _count=0 code=<PSY code> vs code=<unused>',
      await clinicianSearch({ patient: a.address, code: CODES.psy, _count: '0' }),
      await clinicianSearch({ patient: a.address, code: CODES.unused, _count: '0' }),
    );
    const rawHit = await rawCondition(a.address, { code: [CODES.psy] });
    const rawMiss = await rawCondition(a.address, { code: [CODES.unused] });
    same('raw member code=<PSY code> vs code=<unused>', rawHit, rawMiss);
    leaks.push(
      ...deniedCounts('raw member code=<PSY code>', rawHit),
      ...deniedCounts('raw member code=<unused>', rawMiss),
    );

    // What the patient did share is served, to the clinician and to the clinic's node.
    const labs = await net.fhirSearch('clinic', 'clinician', 'Observation', { patient: a.address });
    assert.equal(labs.status, 200, JSON.stringify(labs.body).slice(0, 300));
    const obs = matches(labs).filter((r) => r.meta?.source === net.source('lab'));
    assert.deepEqual(
      obs.map((r) => r.id),
      [a.labObservation],
      'the granted lab result is served to the clinician',
    );
    const rawLabs = await net.federationSearch('clinic', 'lab', {
      patient: a.address,
      resourceType: 'Observation',
      purpose: 'treatment',
      userRole: 'clinician',
    });
    assert.deepEqual(federationRecordIds(rawLabs), [a.labObservation], 'and to the clinic node');
    leaks.push(...deniedCounts('raw member Observation (labs granted)', rawLabs));
    assert.equal(leaks.length, 0, `the hidden records leak:\n${leaks.join('\n')}`);
  });
});
