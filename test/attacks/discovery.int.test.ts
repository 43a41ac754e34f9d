/**
 * Attack family: patient discovery across members (issue 15). The rules: a clinician finds a
 * patient held at another member by name and birth date, and learns only the chain address and
 * which members may hold records (records then follow the patient's consent); demographics that
 * match no one reveal nothing; an asker that may not discover (an insurer, a researcher, billing,
 * a role that does not act for treatment) gets the same refusal whether or not anyone matches, and
 * nothing about a patient is filed under them; no name or birth date travels on the wire or sits in
 * a store; every request is logged at each member before it is answered; discovery is throttled.
 */
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { memberAuthHeader } from '../../src/access/memberAuth.js';
import { decodeEntry } from '../../src/log/entry.js';
import {
  AttackNetwork,
  DEMOGRAPHICS,
  type DiscoveryProbe,
  type MemberName,
  matches,
  normalize,
  request,
} from '../support/attackNetwork.js';

let net: AttackNetwork;
before(async () => {
  net = await AttackNetwork.start();
});
after(async () => {
  await net?.close();
});

/** A person nobody holds. */
const STRANGER = { family: 'Nobody', given: 'Nemo', birthDate: '1955-01-01', gender: 'male' } as const;

const matchBody = (who: { family: string; given: string; birthDate: string; gender?: string }) =>
  JSON.stringify({
    resourceType: 'Parameters',
    parameter: [
      {
        name: 'resource',
        resource: {
          resourceType: 'Patient',
          name: [{ family: who.family, given: [who.given] }],
          birthDate: who.birthDate,
          ...(who.gender ? { gender: who.gender } : {}),
        },
      },
    ],
  });

const match = (
  member: MemberName,
  role: Parameters<AttackNetwork['asUser']>[1],
  who: Parameters<typeof matchBody>[0],
) =>
  net.asUser(member, role, '/fhir/Patient/$match', {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: matchBody(who),
  });

/** The log entries of `member` from index `from` on, decoded. */
function entriesSince(member: MemberName, from: number) {
  const log = net.members[member].node.log;
  return log.entries(from, log.size).map((e) => decodeEntry(e.leaf));
}

const addressesOf = (b: unknown) =>
  matches({ status: 200, headers: {}, body: b }).map(
    (r) => (r as Patient).identifier?.find((i) => i.system === 'urn:medchain:patient')?.value,
  );

describe('attack: patient discovery', { timeout: 600_000 }, () => {
  test('15a. a clinician finds a patient held at another member by name and birth date, learns only the address and the holder, and reads what consent shares', async () => {
    const leaks: string[] = [];
    const labFrom = net.members.lab.node.log.size;
    const clinicFrom = net.members.clinic.node.log.size;
    // Spelled as a clinician would type it: no diacritics, other case, no hyphen, no gender.
    const r = await match('clinic', 'clinician', {
      family: 'LINDQVIST ABERG',
      given: 'signe',
      birthDate: DEMOGRAPHICS.A.birthDate,
    });
    assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
    const a = net.patientA.address.toLowerCase();
    assert.deepEqual(addressesOf(r.body), [a], 'patient A is found, and only A');
    const entry = (r.body as Bundle).entry?.find((e) => e.search?.mode === 'match');
    const holders = (((entry?.resource ?? {}) as Patient).extension ?? []).map(
      (x) => x.valueReference?.identifier?.value,
    );
    assert.deepEqual(holders, [net.address('lab')], 'the lab, and only the lab, may hold records of A');
    const text = JSON.stringify(r.body);
    for (const s of [
      'Lindqvist',
      'lindqvist',
      'Signe',
      'signe',
      DEMOGRAPHICS.A.birthDate,
      'female',
      net.patientA.patientId,
    ])
      if (text.includes(s)) leaks.push(`the $match answer holds "${s}"`);
    // Logged at both ends before anyone saw it: the lab filed the clinic's request under A.
    const atLab = entriesSince('lab', labFrom).filter((e) => e.action === 'discover');
    if (
      !atLab.some(
        (e) =>
          e.actor === `member:${net.address('clinic')}` &&
          e.patient?.toLowerCase() === a &&
          e.reason === 'may-hold',
      )
    )
      leaks.push(`the lab did not log the clinic's discovery under A: ${JSON.stringify(atLab)}`);
    const atClinic = entriesSince('clinic', clinicFrom).filter((e) => e.action === 'discover');
    if (!atClinic.some((e) => e.patient?.toLowerCase() === a && e.reason === 'discovered'))
      leaks.push('the clinic did not log what its clinician found');
    // The hospital and the insurer were asked too, and logged it (with no patient: they hold none).
    for (const m of ['hospital', 'insurer'] as const) {
      const es = net.members[m].node.log.entriesWithAction('discover', 10).map((e) => decodeEntry(e.leaf));
      if (
        !es.some(
          (e) =>
            e.actor === `member:${net.address('clinic')}` && e.patient === null && e.reason === 'no-match',
        )
      )
        leaks.push(`${m} did not log the request it answered`);
    }
    // Then the records, by chain address: the control patient's granted lab result is served.
    const c = await match('clinic', 'clinician', DEMOGRAPHICS.control);
    assert.deepEqual(addressesOf(c.body), [net.control.address.toLowerCase()]);
    const obs = await net.fhirSearch('clinic', 'clinician', 'Observation', { patient: net.control.address });
    assert.equal(obs.status, 200);
    assert.equal(matches(obs).length, 1, 'the granted lab result of the control patient is served');
    assert.deepEqual(leaks, []);
  });

  test('15b. demographics that match no one reveal nothing, and read the same', async () => {
    const wrongDay = { ...DEMOGRAPHICS.A, birthDate: '1961-07-15' };
    const probes: DiscoveryProbe[] = [
      { who: STRANGER, purpose: 'treatment', userRole: 'clinician' },
      { who: wrongDay, purpose: 'treatment', userRole: 'clinician' },
      // One name right with the birth date, nothing else: below the threshold (3 of 4).
      {
        who: { family: 'Okonkwo', given: 'Someone', birthDate: DEMOGRAPHICS.B.birthDate },
        purpose: 'treatment',
        userRole: 'clinician',
      },
    ];
    const answers = [];
    for (const p of probes) {
      const r = await net.discover('clinic', 'lab', p);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(
        Object.keys(r.body as object).sort(),
        ['kid', 'matches', 'member'],
        'nothing but these',
      );
      assert.deepEqual((r.body as { matches: unknown[] }).matches, [], JSON.stringify(p.who));
      answers.push(normalize(r));
    }
    for (const x of answers.slice(1)) assert.deepEqual(x, answers[0]);
    // The control of this test: the same wire finds A when A's demographics are sent.
    const hit = await net.discover('clinic', 'lab', {
      who: DEMOGRAPHICS.A,
      purpose: 'treatment',
      userRole: 'clinician',
    });
    assert.deepEqual((hit.body as { matches: string[] }).matches, [net.patientA.address]);
    // Through the portal's API: an empty searchset, no outcome (every member answered).
    const r = await match('clinic', 'clinician', STRANGER);
    assert.equal(r.status, 200);
    assert.equal((r.body as Bundle).total, 0);
    assert.deepEqual((r.body as Bundle).entry, []);
    // Tokens under another consortium key are refused, not silently unmatched.
    const other = await net.discover('clinic', 'lab', {
      who: DEMOGRAPHICS.A,
      purpose: 'treatment',
      userRole: 'clinician',
      kid: '0123456789abcdef',
    });
    assert.equal(other.status, 409);
  });

  test('15c. an asker that may not discover gets the same refusal whether or not anyone matches, and nothing is filed under the patient', async () => {
    const leaks: string[] = [];
    const aAtLab = () => net.members.lab.node.log.entriesForPatient(net.patientA.address).length;
    const before = aAtLab();
    const askers: {
      attacker: MemberName;
      purpose: DiscoveryProbe['purpose'];
      userRole: DiscoveryProbe['userRole'];
    }[] = [
      { attacker: 'insurer', purpose: 'treatment', userRole: 'clinician' }, // an insurer does not treat
      { attacker: 'insurer', purpose: 'payment', userRole: 'billing' },
      { attacker: 'hospital', purpose: 'research', userRole: 'researcher' },
      { attacker: 'hospital', purpose: 'treatment', userRole: 'billing' }, // billing does not act for treatment
      { attacker: 'hospital', purpose: 'emergency', userRole: 'emergency-clinician' }, // not a discovery purpose
    ];
    for (const k of askers) {
      const hit = await net.discover(k.attacker, 'lab', {
        who: DEMOGRAPHICS.A,
        purpose: k.purpose,
        userRole: k.userRole,
      });
      const miss = await net.discover(k.attacker, 'lab', {
        who: STRANGER,
        purpose: k.purpose,
        userRole: k.userRole,
      });
      const label = `${k.attacker} as ${k.userRole} for ${k.purpose}`;
      if (hit.status !== 403) leaks.push(`${label}: status ${hit.status} for a matching patient`);
      if (JSON.stringify(normalize(hit)) !== JSON.stringify(normalize(miss)))
        leaks.push(`${label}: the refusal differs with and without a match`);
      if (JSON.stringify(hit.body).includes(net.patientA.address.slice(2, 12)))
        leaks.push(`${label}: the refusal names A`);
    }
    // Staff through their own node: billing and research users, and the insurer's own clinician.
    for (const [m, role] of [
      ['clinic', 'billing'],
      ['clinic', 'researcher'],
      ['insurer', 'clinician'],
    ] as const) {
      const labSize = net.members.lab.node.log.size;
      const hit = await match(m, role, DEMOGRAPHICS.A);
      const miss = await match(m, role, STRANGER);
      if (hit.status !== 403) leaks.push(`${role} at ${m}: status ${hit.status}`);
      if (JSON.stringify(normalize(hit)) !== JSON.stringify(normalize(miss)))
        leaks.push(`${role} at ${m}: the refusal differs with and without a match`);
      if (net.members.lab.node.log.size !== labSize) leaks.push(`${role} at ${m}: the lab was asked at all`);
      const own = entriesSince(m, 0).filter((e) => e.action === 'discover' && e.outcome === 'deny');
      if (own.length === 0) leaks.push(`${role} at ${m}: the refused search was not logged at ${m}`);
    }
    if (aAtLab() !== before)
      leaks.push(`${aAtLab() - before} entries about A were logged for refused askers`);
    // A key that is no member's: no credential at all.
    const stranger = privateKeyToAccount(generatePrivateKey());
    const body = JSON.stringify({
      kid: '0123456789abcdef',
      tokens: ['0'.repeat(64)],
      purpose: 'treatment',
      userRole: 'clinician',
    });
    const r = await request(`${net.url('lab')}/federation/discover`, {
      method: 'POST',
      headers: {
        authorization: await memberAuthHeader(
          stranger,
          net.address('lab'),
          'POST',
          '/federation/discover',
          body,
        ),
      },
      body,
    });
    if (r.status !== 401) leaks.push(`a non-member's signed discovery: status ${r.status}`);
    // Demographics in the request are refused outright (the wire carries tokens only).
    const plain = await net.memberRequest(
      'clinic',
      'lab',
      'POST',
      '/federation/discover',
      JSON.stringify({
        kid: '0123456789abcdef',
        tokens: ['0'.repeat(64)],
        purpose: 'treatment',
        userRole: 'clinician',
        family: 'Okonkwo',
      }),
    );
    if (plain.status !== 400) leaks.push(`a request with a family name: status ${plain.status}`);
    assert.deepEqual(leaks, []);
  });

  test('15d. no name or birth date on the wire or in any member’s store', async () => {
    const leaks: string[] = [];
    const sent: string[] = [];
    // The member nodes run in this process, and every request one sends another goes through
    // undici (src/federation/memberClient.ts), which publishes each body it sends on this channel.
    const bodies = new Map<object, Buffer[]>();
    const onChunk = (m: unknown) => {
      const { request, chunk } = m as { request: { path: string }; chunk: Buffer | string };
      if (!request.path.endsWith('/federation/discover')) return;
      const parts = bodies.get(request) ?? [];
      parts.push(Buffer.from(chunk));
      bodies.set(request, parts);
    };
    diagnosticsChannel.subscribe('undici:request:bodyChunkSent', onChunk);
    try {
      const r = await match('clinic', 'clinician', { ...DEMOGRAPHICS.B, gender: 'male' });
      assert.deepEqual(addressesOf(r.body), [net.patientB.address.toLowerCase()]);
    } finally {
      diagnosticsChannel.unsubscribe('undici:request:bodyChunkSent', onChunk);
    }
    for (const parts of bodies.values()) sent.push(Buffer.concat(parts).toString('utf8'));
    assert.equal(sent.length, 3, 'the clinic asked the three other members');
    const plaintext = ['okonkwo', 'Okonkwo', 'chidi', 'Chidi', '1979-11-02', '19791102', '1979', 'male'];
    for (const b of sent) {
      assert.deepEqual(Object.keys(JSON.parse(b)).sort(), ['kid', 'purpose', 'tokens', 'userRole']);
      for (const s of plaintext)
        if (b.replace(/"userRole":"[a-z-]+"/, '').includes(s)) leaks.push(`the wire holds "${s}"`);
    }
    // Every member's store files: the lab holds B's Patient (encrypted) and its discovery tokens.
    const tokens = net.members.lab.node.db
      .prepare('SELECT token FROM discovery_tokens WHERE patient_ref = ?')
      .all(`Patient/${net.patientB.patientId}`) as { token: string }[];
    assert.ok(tokens.length >= 3, 'the lab keeps discovery tokens for B');
    for (const t of tokens)
      if (!/^[0-9a-f]{64}$/.test(t.token)) leaks.push(`a stored token is not an HMAC: ${t.token}`);
    for (const m of ['hospital', 'clinic', 'lab', 'insurer'] as const) {
      net.members[m].node.db.pragma('wal_checkpoint(PASSIVE)');
      const dir = net.members[m].dir;
      for (const f of readdirSync(dir).filter((x) => x.startsWith('node.db'))) {
        const bytes = readFileSync(path.join(dir, f));
        // ("signe" is left out: the schema text in the file says "signed".)
        for (const s of [
          'Okonkwo',
          'okonkwo',
          'Chidi',
          'chidi',
          '1979-11-02',
          'Lindqvist',
          'lindqvist',
          'Signe',
          '1961-07-14',
        ])
          if (bytes.includes(Buffer.from(s, 'utf8'))) leaks.push(`${m}/${f} holds "${s}"`);
      }
    }
    assert.deepEqual(leaks, []);
  });

  test('15e. discovery is throttled per asking member and per user', async () => {
    // The hospital node asks the insurer's node (no other test of this file asks it directly).
    const p: DiscoveryProbe = { who: STRANGER, purpose: 'treatment', userRole: 'clinician' };
    const statuses: number[] = [];
    for (let i = 0; i < 61; i++) statuses.push((await net.discover('hospital', 'insurer', p)).status);
    assert.deepEqual(statuses.slice(0, 60), Array(60).fill(200), 'sixty a minute are answered');
    assert.equal(statuses[60], 429, 'the sixty-first is throttled');
    const denied = entriesSince('insurer', 0).filter(
      (e) => e.action === 'discover' && e.reason === 'rate-limited',
    );
    assert.equal(denied.length, 1, 'and logged');
    // The hospital's nurse: twenty searches a minute.
    const nurse: number[] = [];
    for (let i = 0; i < 21; i++) nurse.push((await match('hospital', 'nurse', STRANGER)).status);
    assert.ok(
      nurse.slice(0, 20).every((s) => s === 200 || s === 429),
      JSON.stringify(nurse),
    );
    assert.equal(nurse[20], 429, `the nurse's 21st search in a minute is throttled (${nurse.join(',')})`);
  });

  test('15f. guesses stuffed into one request count one by one: a member gets ten 24-token requests a minute, not sixty', async () => {
    // Eight people a request, three tokens each (family+given, family, given with birth date and
    // gender): 24 independent guesses in one signed request, as a member holding the key can make.
    const guesses = (round: number) =>
      Array.from({ length: 8 }, (_, k) => ({
        family: `Guess${round}x${k}`,
        given: `Probe${k}`,
        birthDate: `1961-07-${String(k + 1).padStart(2, '0')}`,
        gender: 'female' as const,
      }));
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const [who, ...alsoWho] = guesses(i);
      const p: DiscoveryProbe = {
        who: who as DiscoveryProbe['who'],
        alsoWho,
        purpose: 'treatment',
        userRole: 'clinician',
      };
      statuses.push((await net.discover('lab', 'insurer', p)).status);
    }
    assert.deepEqual(
      statuses.slice(0, 10),
      Array(10).fill(200),
      `240 tokens a minute are answered (${statuses})`,
    );
    assert.deepEqual(statuses.slice(10), [429, 429], 'then the member is throttled however few its requests');
  });
});
