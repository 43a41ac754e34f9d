/**
 * Attack family: finding patients by demographics (issue 15). The rules: a Patient search by name,
 * birth date or gender goes through the same authorization and logging as any search; what the
 * asker may not see never changes the answer (a role that may not read Patients gets the same
 * refusal, and the same log entry, whether or not a name matches); a member's search finds only
 * the patients it holds; and the store keeps no plaintext name or birth date (blind tokens only).
 *
 * Two member nodes served over real sockets on 127.0.0.1 (serveMemberNode, no chain: a Patient
 * search asks no other member).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { UserRole } from '../../src/access/roles.js';
import { hashPassword } from '../../src/crypto/password.js';
import { decodeEntry, type LogEntry } from '../../src/log/entry.js';
import { createIdentity } from '../../src/node/memberIdentity.js';
import { keyFileOf, type MemberNode, openMemberNode, serveMemberNode } from '../../src/node/memberNode.js';
import { type Answer, normalize, request } from '../support/attackNetwork.js';

const PASSPHRASE = 'patient search attack passphrase';
const ROLES: readonly UserRole[] = ['clinician', 'admin', 'billing'];
const passwordOf = (role: UserRole) => `${role} password 123`;

interface Served {
  dir: string;
  node: MemberNode;
  url: string;
  close(): Promise<void>;
  tokens: Map<UserRole, string>;
}

async function serve(): Promise<Served> {
  const dir = mkdtempSync(path.join(tmpdir(), 'medchain-psearch-'));
  createIdentity(keyFileOf(dir), PASSPHRASE);
  const node = openMemberNode(dir, PASSPHRASE);
  for (const role of ROLES) node.users.add(role, role, await hashPassword(passwordOf(role)));
  const running = await serveMemberNode(node, { port: 0 });
  return {
    dir,
    node,
    url: running.url,
    tokens: new Map(),
    close: async () => {
      await running.close();
      node.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function token(m: Served, role: UserRole): Promise<string> {
  const known = m.tokens.get(role);
  if (known) return known;
  const r = await request(`${m.url}/auth/login`, {
    method: 'POST',
    body: JSON.stringify({ username: role, password: passwordOf(role) }),
  });
  assert.equal(r.status, 200, `sign-in of ${role}`);
  const t = (r.body as { access_token: string }).access_token;
  m.tokens.set(role, t);
  return t;
}

const search = async (m: Served, role: UserRole, query: string): Promise<Answer> =>
  request(`${m.url}/fhir/Patient?${query}`, { headers: { authorization: `Bearer ${await token(m, role)}` } });

async function create(m: Served, p: Patient): Promise<string> {
  const r = await request(`${m.url}/fhir/Patient`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await token(m, 'clinician')}`,
      'content-type': 'application/fhir+json',
    },
    body: JSON.stringify(p),
  });
  assert.equal(r.status, 201, JSON.stringify(r.body).slice(0, 200));
  return (r.body as Patient).id as string;
}

/** The log entries `m` appended while `run` ran, without their index and time. */
async function entriesDuring(
  m: Served,
  run: () => Promise<unknown>,
): Promise<Omit<LogEntry, 'index' | 'time'>[]> {
  const start = m.node.log.size;
  await run();
  return m.node.log.entries(start, m.node.log.size).map((e) => {
    const { index: _i, time: _t, ...rest } = decodeEntry(e.leaf);
    return rest;
  });
}

const ids = (a: Answer) => ((a.body as Bundle).entry ?? []).map((e) => e.resource?.id).sort();

/** Every file of a member's folder (the database, its WAL and shared memory, the key file). */
const files = (dir: string) => readdirSync(dir).map((f) => path.join(dir, f));

let a: Served;
let b: Served;
/** A unique family name, so nothing else in either store can contain it. */
const family = `Wąsowicz${randomBytes(4).toString('hex')}`;
const given = `Zébulon${randomBytes(3).toString('hex')}`;
const birthDate = '1937-11-23';
const address = privateKeyToAccount(generatePrivateKey()).address;
/** The patients A holds by that family name; `first` is the one with that given name, birth date and address. */
let held: string[];
let first: string;

before(async () => {
  [a, b] = [await serve(), await serve()];
  first = await create(a, {
    resourceType: 'Patient',
    name: [{ family, given: [given] }],
    birthDate,
    gender: 'female',
    identifier: [{ system: 'urn:medchain:patient', value: address }],
  });
  held = [
    first,
    await create(a, {
      resourceType: 'Patient',
      name: [{ family, given: ['Other'] }],
      birthDate: '1990-01-02',
    }),
  ].sort();
});
after(async () => {
  await a?.close();
  await b?.close();
});

describe('attack: finding patients by demographics', { timeout: 300_000 }, () => {
  test('a role that may not read Patients gets the same refusal, and the same log entry, whether or not a name matches', async () => {
    const leaks: string[] = [];
    await token(a, 'admin'); // signed in before anything is compared (the sign-in is logged too)
    const probes: [string, string, string][] = [
      ['name', `name=${encodeURIComponent(family)}`, `name=nobody${randomBytes(4).toString('hex')}`],
      ['given', `given=${encodeURIComponent(given)}`, 'given=nobodyatall'],
      ['birthdate', `birthdate=${birthDate}`, 'birthdate=1899-01-01'],
      ['gender', 'gender=female', 'gender=unknown'],
      [
        'identifier',
        `identifier=urn:medchain:patient|${address}`,
        `identifier=urn:medchain:patient|0x${'0'.repeat(40)}`,
      ],
      [
        'name and birthdate',
        `name=${encodeURIComponent(family)}&birthdate=1937`,
        'name=nobodyatall&birthdate=1937',
      ],
    ];
    for (const [what, hit, miss] of probes) {
      let hitAnswer: Answer | undefined;
      let missAnswer: Answer | undefined;
      const hitLog = await entriesDuring(a, async () => {
        hitAnswer = await search(a, 'admin', hit);
      });
      const missLog = await entriesDuring(a, async () => {
        missAnswer = await search(a, 'admin', miss);
      });
      const [h, m] = [hitAnswer as Answer, missAnswer as Answer];
      if (h.status !== 403) leaks.push(`${what}: the admin's search was answered ${h.status}, not refused`);
      if (!isDeepStrictEqual(normalize(h), normalize(m)))
        leaks.push(`${what}: the refusal differs (${JSON.stringify(h.body)} vs ${JSON.stringify(m.body)})`);
      if (!isDeepStrictEqual(hitLog, missLog))
        leaks.push(
          `${what}: the log entries differ (${JSON.stringify(hitLog)} vs ${JSON.stringify(missLog)})`,
        );
      if (hitLog.length !== 1 || hitLog[0]?.outcome !== 'deny' || hitLog[0]?.patient !== null)
        leaks.push(
          `${what}: the refusal is not one deny entry naming no patient (${JSON.stringify(hitLog)})`,
        );
    }
    // The control: the same probe is answered to a role that may read Patients.
    const control = await search(a, 'billing', `name=${encodeURIComponent(family)}`);
    assert.equal(control.status, 200, 'billing may search Patients');
    assert.deepEqual(ids(control), held, 'billing finds both patients by name');
    assert.deepEqual(leaks, [], leaks.join('\n'));
  });

  test('a clinician at a member finds only the patients that member holds, and another member’s patients change nothing', async () => {
    const query = `name=${encodeURIComponent(family)}&_count=50`;
    const before = await search(a, 'clinician', query);
    assert.equal(before.status, 200);
    assert.deepEqual(ids(before), held, 'the member finds both of its patients');
    assert.equal((before.body as Bundle).total, 2);
    const atB = await search(b, 'clinician', query);
    assert.equal((atB.body as Bundle).total, 0, 'the other member holds no such patient');
    // The other member now holds patients of the same name and birth date.
    for (let i = 0; i < 3; i++)
      await create(b, {
        resourceType: 'Patient',
        name: [{ family, given: [given] }],
        birthDate,
        gender: 'female',
      });
    const after = await search(a, 'clinician', query);
    assert.deepEqual(normalize(after), normalize(before), 'the answer at A is the same');
    const other = await search(b, 'clinician', query);
    assert.equal((other.body as Bundle).total, 3);
    assert.ok(
      ids(other).every((id) => !held.includes(id as string)),
      'B finds only its own patients',
    );
    // A token from one member means nothing at another.
    const crossed = await request(`${b.url}/fhir/Patient?${query}`, {
      headers: { authorization: `Bearer ${await token(a, 'clinician')}` },
    });
    assert.equal(crossed.status, 401);
  });

  test('every search is logged before it is served: one permit entry per patient found, naming them', async () => {
    let answer: Answer | undefined;
    const log = await entriesDuring(a, async () => {
      answer = await search(a, 'clinician', `given=${encodeURIComponent(given)}&birthdate=${birthDate}`);
    });
    assert.equal((answer as Answer).status, 200);
    assert.deepEqual(ids(answer as Answer), [first]);
    assert.equal(log.length, 1);
    assert.equal(log[0]?.action, 'search');
    assert.equal(log[0]?.outcome, 'permit');
    assert.equal(log[0]?.patient, address, 'the entry names the patient found');
    assert.match(log[0]?.queryHash ?? '', /^0x[0-9a-f]{64}$/);
    const none = await entriesDuring(a, () => search(a, 'clinician', 'given=nobodyatall'));
    assert.equal(none.length, 1, 'an empty result is logged too');
    assert.equal(none[0]?.patient, null);
  });

  test('the store keeps no plaintext name or birth date: no file holds them in any form, and the index is tokens only', async () => {
    // Searches have run (the probes above): their values must not be kept either.
    const needles = [
      family,
      given,
      family.toLowerCase(),
      family.toUpperCase(),
      family.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase(), // the indexed part, before blinding
      given.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase(),
      birthDate,
      birthDate.replaceAll('-', ''),
    ];
    const encodings = (s: string) => [
      Buffer.from(s, 'utf8'),
      Buffer.from(s, 'utf16le'),
      Buffer.from(Buffer.from(s).toString('hex')),
      Buffer.from(Buffer.from(s).toString('base64')),
    ];
    const found: string[] = [];
    for (const m of [a, b]) {
      const all = files(m.dir);
      assert.ok(
        all.some((f) => f.endsWith('node.db')),
        'the scan sees the database',
      );
      for (const f of all) {
        const bytes = readFileSync(f);
        for (const n of needles)
          for (const e of encodings(n)) if (bytes.includes(e)) found.push(`${path.basename(f)} holds "${n}"`);
      }
      const tokens = m.node.db
        .prepare("SELECT DISTINCT param, token FROM search_tokens WHERE resource_type = 'Patient'")
        .all() as { param: string; token: string }[];
      assert.ok(
        tokens.some((t) => t.param === 'name'),
        'names are indexed',
      );
      for (const t of tokens)
        if (!/^[0-9a-f]{64}$/.test(t.token)) found.push(`a ${t.param} token is not an HMAC: ${t.token}`);
      const dates = m.node.db
        .prepare("SELECT count(*) AS n FROM search_dates WHERE resource_type = 'Patient'")
        .get() as {
        n: number;
      };
      if (dates.n > 0) found.push(`${dates.n} Patient date range(s) stored in plaintext`);
    }
    assert.deepEqual(found, [], found.join('\n'));
  });
});
