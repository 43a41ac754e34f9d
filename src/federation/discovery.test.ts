import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getAddress } from 'viem';
import { startTestNode, TEST_PASSPHRASE } from '../../test/support/testNode.js';
import type { Actor } from '../access/gatekeeper.js';
import { type DiscoveryRequest, decideDiscovery } from '../access/policy.js';
import { rolesToMask } from '../chain/scopes.js';
import { newConsortiumKey, sealConsortiumKey } from '../crypto/consortiumKey.js';
import { parseMatchInput } from '../fhir/patientMatch.js';
import { installConsortiumKey } from '../node/memberIdentity.js';
import { keyFileOf, openMemberNode } from '../node/memberNode.js';
import { discoveryTokensOf } from '../store/discoveryStore.js';
import { parseDiscoveryAnswer, parseDiscoveryRequest } from './wire.js';

const OPERATOR: Actor = { id: 'operator:test', role: 'operator', purpose: 'operations' };
const TOKEN = 'ab'.repeat(32);
const good = { kid: '0123456789abcdef', tokens: [TOKEN], purpose: 'treatment', userRole: 'clinician' };

test('a discovery request carries tokens only: bad inputs are refused, naming the field', () => {
  const cases: [string, unknown, RegExp][] = [
    ['not an object', 'x', /send/],
    ['an array', [], /send/],
    ['a family name', { ...good, family: 'Doe' }, /"family" is not part/],
    ['a birth date', { ...good, birthDate: '1980-01-01' }, /"birthDate" is not part/],
    ['no kid', { ...good, kid: undefined }, /kid/],
    ['a short kid', { ...good, kid: 'abc' }, /kid/],
    ['no tokens', { ...good, tokens: [] }, /tokens/],
    ['a plaintext token', { ...good, tokens: ['doe'] }, /tokens/],
    ['an upper-case token', { ...good, tokens: [TOKEN.toUpperCase()] }, /tokens/],
    ['duplicate tokens', { ...good, tokens: [TOKEN, TOKEN] }, /tokens/],
    [
      'too many tokens',
      { ...good, tokens: Array.from({ length: 25 }, (_, i) => i.toString(16).padStart(64, '0')) },
      /tokens/,
    ],
    ['an unknown purpose', { ...good, purpose: 'marketing' }, /purpose/],
    ['an unknown role', { ...good, userRole: 'root' }, /userRole/],
  ];
  for (const [what, body, re] of cases) assert.throws(() => parseDiscoveryRequest(body), re, what);
  assert.deepEqual(parseDiscoveryRequest(good).tokens, [TOKEN]);
});

test('a discovery answer is checked: nothing but member, kid and at most 10 addresses', () => {
  const member = getAddress(`0x${'12'.repeat(20)}`);
  const ok = { member, kid: good.kid, matches: [member] };
  assert.deepEqual(parseDiscoveryAnswer(ok).matches, [member]);
  const bad: [string, unknown][] = [
    ['a name', { ...ok, name: 'Doe' }],
    ['a count', { ...ok, count: 3 }],
    ['a non-address', { ...ok, matches: ['Patient/1'] }],
    ['too many', { ...ok, matches: Array(11).fill(member) }],
    ['no member', { ...ok, member: 'x' }],
  ];
  for (const [what, a] of bad) assert.throws(() => parseDiscoveryAnswer(a), /malformed/, what);
});

test('the $match input: a Patient with family, given and a full birth date', () => {
  const params = (patient: unknown, more: unknown[] = []) => ({
    resourceType: 'Parameters',
    parameter: [{ name: 'resource', resource: patient }, ...more],
  });
  const p = { resourceType: 'Patient', name: [{ family: 'Doe', given: ['Jo'] }], birthDate: '1980-01-02' };
  const m = parseMatchInput(params(p, [{ name: 'count', valueInteger: 50 }]));
  assert.deepEqual(m.demographics, {
    family: ['doe'],
    given: ['jo'],
    birthDate: '1980-01-02',
    gender: undefined,
  });
  assert.equal(m.count, 10, 'count is capped');
  const cases: [string, unknown][] = [
    ['not Parameters', p],
    ['no resource', { resourceType: 'Parameters', parameter: [] }],
    ['not a Patient', params({ resourceType: 'Observation' })],
    ['no family', params({ ...p, name: [{ given: ['Jo'] }] })],
    ['no given', params({ ...p, name: [{ family: 'Doe' }] })],
    ['a partial birth date', params({ ...p, birthDate: '1980' })],
    ['no birth date', params({ ...p, birthDate: undefined })],
    ['a bad gender', params({ ...p, gender: 'robot' })],
    ['a bad count', params(p, [{ name: 'count', valueInteger: 0 }])],
    ['an unknown parameter', params(p, [{ name: 'mpi', valueString: 'x' }])],
    ['two resources', params(p, [{ name: 'resource', resource: p }])],
  ];
  for (const [what, body] of cases)
    assert.throws(() => parseMatchInput(body), /Parameters|Patient|birthDate|gender|count|parameter/, what);
});

test('discovery is for treatment, by treating roles of care members only', () => {
  const member = (
    roles: Parameters<typeof rolesToMask>[0],
    active = true,
  ): DiscoveryRequest['requester'] => ({
    kind: 'member',
    address: getAddress(`0x${'34'.repeat(20)}`),
    roles: rolesToMask(roles),
    active,
    admission: 1,
    self: false,
  });
  const table: [string, DiscoveryRequest, string | null][] = [
    [
      'hospital clinician',
      { requester: member(['HOSPITAL']), userRole: 'clinician', purpose: 'treatment' },
      null,
    ],
    ['lab nurse', { requester: member(['LAB']), userRole: 'nurse', purpose: 'treatment' }, null],
    [
      'pharmacy emergency clinician',
      { requester: member(['PHARMACY']), userRole: 'emergency-clinician', purpose: 'treatment' },
      null,
    ],
    [
      'insurer clinician',
      { requester: member(['INSURER']), userRole: 'clinician', purpose: 'treatment' },
      'purpose-member',
    ],
    [
      'insurer billing',
      { requester: member(['INSURER']), userRole: 'billing', purpose: 'payment' },
      'discovery-purpose',
    ],
    [
      'regulator admin',
      { requester: member(['REGULATOR']), userRole: 'admin', purpose: 'operations' },
      'discovery-purpose',
    ],
    [
      'hospital researcher',
      { requester: member(['HOSPITAL']), userRole: 'researcher', purpose: 'research' },
      'discovery-purpose',
    ],
    [
      'hospital billing claiming treatment',
      { requester: member(['HOSPITAL']), userRole: 'billing', purpose: 'treatment' },
      'purpose-role',
    ],
    [
      'break-glass',
      { requester: member(['HOSPITAL']), userRole: 'emergency-clinician', purpose: 'emergency' },
      'discovery-purpose',
    ],
    [
      'a removed hospital',
      { requester: member(['HOSPITAL'], false), userRole: 'clinician', purpose: 'treatment' },
      'not-a-member',
    ],
    [
      'a manufacturer',
      { requester: member(['MANUFACTURER']), userRole: 'clinician', purpose: 'treatment' },
      'purpose-member',
    ],
  ];
  for (const [what, req, reason] of table) {
    const d = decideDiscovery(req);
    assert.deepEqual(d, reason === null ? { permit: true } : { permit: false, reason }, what);
  }
});

test('a member tokenizes its Patients: at write, at startup for those stored before it had the key, and drops them on erasure', async () => {
  const t = await startTestNode({ roles: [] });
  try {
    const address = getAddress(`0x${'56'.repeat(20)}`);
    const patient = await t.node.gate.create(OPERATOR, 'Patient', {
      resourceType: 'Patient',
      name: [{ family: 'Zubiri', given: ['Ane'] }],
      birthDate: '1972-09-09',
      gender: 'female',
      identifier: [{ system: 'urn:medchain:patient', value: address }],
    });
    // No consortium key yet: no tokens.
    assert.deepEqual(discoveryTokensOf(t.node.db, `Patient/${patient.id}`), []);
    t.node.close();
    const ck = newConsortiumKey();
    await installConsortiumKey(
      keyFileOf(t.dir),
      TEST_PASSPHRASE,
      await sealConsortiumKey(
        new Uint8Array(Buffer.from(t.node.identity.encryptionPublicKey.slice(2), 'hex')),
        t.node.identity.address,
        ck,
      ),
    );
    const node = openMemberNode(t.dir, TEST_PASSPHRASE);
    try {
      assert.equal(await node.records.indexDiscoveryStored(), 1);
      assert.equal(await node.records.indexDiscoveryStored(), 0, 'indexed once');
      const stored = discoveryTokensOf(node.db, `Patient/${patient.id}`);
      assert.equal(stored.length, 3, 'fgd, fds, gds');
      assert.ok(stored.every((s) => s.kid === ck.id && /^[0-9a-f]{64}$/.test(s.token)));
      const q = node.records.discoveryTokensFor({
        family: ['zubiri'],
        given: ['ane'],
        birthDate: '1972-09-09',
        gender: undefined,
      });
      assert.deepEqual(node.records.discoveryMatches(ck.id, q, 10), [address]);
      assert.deepEqual(
        node.records.discoveryMatches('0123456789abcdef', q, 10),
        [],
        'another key id matches nothing',
      );
      // Answering another member: a care member says it may hold the patient; an insurer, which
      // holds its enrollees' Patients, answers nothing (it would tell who insures whom).
      const clinic = getAddress(`0x${'9a'.repeat(20)}`);
      const asAnswerer = async (ownRoles: string[]) => {
        node.gate.attachChain({
          member: async (a) => ({
            active: true,
            roles: rolesToMask(a === clinic ? ['CLINIC'] : ownRoles),
            admission: 1,
            name: 'm',
          }),
          grantOf: async () => undefined,
        });
        return node.gate.discoverForMember(
          clinic,
          { kid: ck.id, tokens: q, purpose: 'treatment', userRole: 'clinician' },
          ck.id,
          () => node.records.discoveryMatches(ck.id, q, 10),
        );
      };
      assert.deepEqual(await asAnswerer(['HOSPITAL']), [address]);
      assert.deepEqual(await asAnswerer(['INSURER']), [], 'an insurer says nothing of its enrollees');
      // A new Patient written now is tokenized in its own write.
      const other = getAddress(`0x${'78'.repeat(20)}`);
      await node.gate.create(OPERATOR, 'Patient', {
        resourceType: 'Patient',
        name: [{ family: 'Zubiri', given: ['Ane'] }],
        birthDate: '1972-09-09',
        identifier: [{ system: 'urn:medchain:patient', value: other }],
      });
      assert.deepEqual(node.records.discoveryMatches(ck.id, q, 10), [address, other].sort());
      await node.gate.delete(OPERATOR, 'Patient', patient.id);
      assert.deepEqual(discoveryTokensOf(node.db, `Patient/${patient.id}`), [], 'erasure drops the tokens');
      assert.deepEqual(node.records.discoveryMatches(ck.id, q, 10), [other]);
    } finally {
      node.close();
    }
  } finally {
    await t.app.close();
    const { rmSync } = await import('node:fs');
    rmSync(t.dir, { recursive: true, force: true });
  }
});
