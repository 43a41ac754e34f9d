import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { startTestNode, type TestNode } from '../../test/support/testNode.js';
import { patientAuthHeader } from '../access/patientAuth.js';
import { decodeEntry, type LogEntry } from '../log/entry.js';
import { leafHash, verifyConsistency, verifyInclusion } from '../log/merkle.js';
import { verifyTreeHead } from '../log/treeHead.js';
import { MAX_ENTRIES_PER_CALL } from './logRoutes.js';

let t: TestNode;
before(async () => {
  t = await startTestNode();
  // Sign everyone in first, so that sign-in entries do not interleave with the ones under test.
  for (const role of ['clinician', 'nurse', 'billing', 'admin', 'emergency-clinician'] as const)
    await t.token(role);
});
after(() => t.close());

const PATIENT = privateKeyToAccount(generatePrivateKey());
const unhex = (h: string) => new Uint8Array(Buffer.from(h.slice(2), 'hex'));

async function call(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  role?: Parameters<TestNode['token']>[0],
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const h: Record<string, string> = { ...headers };
  if (role) h.authorization = `Bearer ${await t.token(role)}`;
  if (body !== undefined) h['content-type'] = 'application/fhir+json';
  const r = await t.app.inject({
    method,
    url,
    headers: h,
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
  return { status: r.statusCode, json: () => r.json(), body: r.body, headers: r.headers };
}

/** Entries appended since `from`, decoded. */
function entriesSince(from: number): LogEntry[] {
  return t.node.log.entries(from, t.node.log.size).map((e) => decodeEntry(e.leaf));
}

describe('log before serve', () => {
  let patientId: string;
  let obsId: string;
  const marker = `Qz${randomBytes(5).toString('hex')}`;
  before(async () => {
    patientId = (
      await call('POST', '/fhir/Patient', 'clinician', {
        resourceType: 'Patient',
        name: [{ family: marker }],
        identifier: [{ system: 'urn:medchain:patient', value: PATIENT.address }],
      } satisfies Patient)
    ).json().id;
    obsId = (
      await call('POST', '/fhir/Observation', 'clinician', {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'hb' },
        subject: { reference: `Patient/${patientId}` },
      })
    ).json().id;
  });

  test('writes and reads are logged with the actor pseudonym, patient address and ciphertext hash', async () => {
    const from = t.node.log.size;
    const r = await call('GET', `/fhir/Observation/${obsId}`, 'nurse');
    assert.equal(r.status, 200);
    const [e] = entriesSince(from);
    assert.equal(e?.action, 'read');
    assert.equal(e?.outcome, 'permit');
    assert.equal(e?.patient, PATIENT.address);
    assert.equal(e?.purpose, 'treatment');
    assert.match(e?.actor ?? '', /^[0-9a-f-]{36}$/);
    const row = t.node.db
      .prepare('SELECT ciphertext_hash FROM resource_versions WHERE id = ?')
      .get(obsId) as { ciphertext_hash: string };
    assert.equal(e?.target?.ciphertextHash, `0x${row.ciphertext_hash}`);
    const creates = t.node.log
      .entries(0, t.node.log.size)
      .map((x) => decodeEntry(x.leaf))
      .filter((x) => x.action === 'create');
    assert.ok(creates.some((c) => c.target?.id === obsId && c.patient === PATIENT.address));
  });

  test('a search logs one entry per returned record, with only a hash of the query', async () => {
    const from = t.node.log.size;
    const r = await call('GET', `/fhir/Observation?patient=${PATIENT.address}`, 'clinician');
    assert.equal(r.json().total, 1);
    const es = entriesSince(from);
    assert.equal(es.length, 1);
    assert.equal(es[0]?.action, 'search');
    assert.match(es[0]?.queryHash ?? '', /^0x[0-9a-f]{64}$/);
  });

  test('denied and failed attempts are logged too: role, not found, bad input, failed sign-in', async () => {
    const from = t.node.log.size;
    assert.equal((await call('GET', `/fhir/Observation/${obsId}`, 'billing')).status, 403);
    assert.equal((await call('GET', '/fhir/Observation/nope', 'clinician')).status, 404);
    assert.equal((await call('GET', `/fhir/Observation/${obsId}`)).status, 401);
    assert.equal((await call('GET', '/fhir/Observation?foo=1', 'clinician')).status, 400);
    assert.equal(
      (await call('POST', '/auth/login', undefined, { username: 'dr.nobody', password: 'wrong password' }))
        .status,
      401,
    );
    const es = entriesSince(from);
    const summary = es.map((e) => `${e.action}:${e.outcome}:${e.reason}`);
    // The unauthenticated read is counted per client, not logged one by one (unauthenticatedCounter.ts).
    assert.deepEqual(summary, [
      'read:deny:role',
      'read:deny:not-found',
      'search:deny:bad-request',
      'login-failed:deny:bad-credentials',
    ]);
    assert.equal(es[0]?.patient, PATIENT.address, 'a refused read still counts against the patient');
    assert.match(
      es[3]?.actor ?? '',
      /^anon:[0-9a-f]{24}$/,
      'an unknown sign-in name is logged as a pseudonym',
    );
  });

  test('refused entries of a batch are logged too', async () => {
    const from = t.node.log.size;
    const r = await call('POST', '/fhir', 'billing', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'GET', url: `Observation/${obsId}` } },
        { request: { method: 'DELETE', url: `Patient/${patientId}` } },
      ],
    });
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.json().entry.map((e: { response: { status: string } }) => e.response.status),
      ['403', '403'],
    );
    const es = entriesSince(from);
    assert.deepEqual(
      es.map((e) => `${e.action}:${e.outcome}:${e.reason}:${e.target?.id}`),
      [`read:deny:role:${obsId}`, `delete:deny:role:${patientId}`],
    );
    assert.equal(es[0]?.patient, PATIENT.address);
  });

  test('entries hold no names: the patient name and user names appear in no entry', () => {
    const all = Buffer.concat(t.node.log.entries(0, t.node.log.size).map((e) => Buffer.from(e.leaf)));
    for (const needle of [marker, 'dr.nobody', 'clinician', 'nurse'])
      assert.equal(all.includes(needle), false, needle);
  });

  test('if the log cannot be written, reads answer 503 and serve nothing; writes store nothing', async () => {
    const count = (t.node.db.prepare('SELECT count(*) AS n FROM resource_versions').get() as { n: number }).n;
    t.node.db.pragma('query_only = ON');
    try {
      const r = await call('GET', `/fhir/Patient/${patientId}`, 'clinician');
      assert.equal(r.status, 503);
      assert.equal(r.json().resourceType, 'OperationOutcome');
      assert.match(r.json().issue[0].details.text, /access log cannot be written/);
      assert.equal(r.body.includes(marker), false, 'no content left the node');
      const s = await call('GET', `/fhir/Patient?_id=${patientId}`, 'clinician');
      assert.equal(s.status, 503);
      assert.equal(s.body.includes(marker), false);
      const w = await call('POST', '/fhir/Patient', 'clinician', {
        resourceType: 'Patient',
        name: [{ family: 'NotStored' }],
      });
      assert.equal(w.status, 503);
      const d = await call('GET', `/fhir/Observation/${obsId}`, 'billing');
      assert.equal(d.status, 503, 'even a denial that cannot be logged is a 503');
    } finally {
      t.node.db.pragma('query_only = OFF');
    }
    assert.equal(
      (t.node.db.prepare('SELECT count(*) AS n FROM resource_versions').get() as { n: number }).n,
      count,
    );
    assert.equal((await call('GET', `/fhir/Patient/${patientId}`, 'clinician')).status, 200);
  });
});

describe('log API', () => {
  test('all log routes need sign-in', async () => {
    for (const url of [
      '/log/head',
      '/log/entries?start=0&end=1',
      '/log/proof/inclusion?index=0&treeSize=1',
      '/log/proof/consistency?first=1&second=1',
    ]) {
      assert.equal((await call('GET', url)).status, 401, url);
    }
  });

  test('head is signed by the member; entries (read by an admin), inclusion and consistency proofs verify', async () => {
    const head = (await call('GET', '/log/head', 'nurse')).json();
    assert.equal(head.treeSize, t.node.log.size);
    assert.equal(head.anchored, null);
    assert.ok(await verifyTreeHead(t.node.identity.address, {}, head), 'signature by the member key');
    assert.equal(await verifyTreeHead(PATIENT.address, {}, head), false);
    const n = head.treeSize;
    const entries = (await call('GET', `/log/entries?start=0&end=${n - 1}`, 'admin')).json().entries as {
      index: number;
      leaf: string;
    }[];
    assert.equal(entries.length, n);
    assert.deepEqual(
      entries.map((e) => e.leaf),
      t.node.log.entries(0, n).map((e) => Buffer.from(e.leaf).toString('base64')),
      'the stored entries, in order',
    );
    const i = Math.floor(n / 2);
    const leaf = leafHash(Buffer.from(entries[i]?.leaf as string, 'base64'));
    const inc = (await call('GET', `/log/proof/inclusion?index=${i}&treeSize=${n}`, 'nurse')).json();
    assert.ok(verifyInclusion(leaf, i, n, inc.path.map(unhex), unhex(head.rootHash)));
    const first = Math.max(1, n - 3);
    const older = t.node.log.root(first);
    const con = (await call('GET', `/log/proof/consistency?first=${first}&second=${n}`, 'nurse')).json();
    assert.ok(verifyConsistency(first, n, older, unhex(head.rootHash), con.path.map(unhex)));
  });

  test('only admins read entries; every read and refused attempt is logged; proofs stay open to all roles', async () => {
    const url = '/log/entries?start=0&end=0';
    for (const role of ['clinician', 'nurse', 'billing', 'emergency-clinician'] as const) {
      const from = t.node.log.size;
      const r = await call('GET', url, role);
      assert.equal(r.status, 403, role);
      assert.equal(r.json().resourceType, 'OperationOutcome');
      assert.equal(r.json().issue[0].code, 'forbidden');
      assert.match(r.json().issue[0].details.text, /admins may/);
      assert.equal(r.body.includes('"entries"'), false, 'no entry left the node');
      assert.deepEqual(
        entriesSince(from).map((e) => `${e.action}:${e.outcome}:${e.reason}`),
        ['audit-read:deny:role'],
        role,
      );
    }
    const from = t.node.log.size;
    const ok = await call('GET', url, 'admin');
    assert.equal(ok.status, 200);
    assert.equal(ok.json().entries.length, 1);
    assert.deepEqual(
      entriesSince(from).map((e) => `${e.action}:${e.outcome}:${e.reason}`),
      ['audit-read:permit:ok'],
    );
    const n = t.node.log.size;
    for (const proof of [
      '/log/head',
      `/log/proof/inclusion?index=0&treeSize=${n}`,
      `/log/proof/consistency?first=1&second=${n}`,
    ])
      assert.equal((await call('GET', proof, 'billing')).status, 200, proof);
  });

  test('entries: end is inclusive (RFC 6962 §4.6); past the log or the per-call limit the page is short', async () => {
    const n = t.node.log.size;
    assert.ok(n >= 3, 'the earlier tests wrote entries');
    const get = async (url: string) => {
      const r = await call('GET', url, 'admin');
      assert.equal(r.status, 200, `${url}: ${r.body}`);
      return (r.json().entries as { index: number }[]).map((e) => e.index);
    };
    assert.deepEqual(await get('/log/entries?start=1&end=1'), [1]);
    assert.deepEqual(await get('/log/entries?start=0&end=2'), [0, 1, 2]);
    const size = t.node.log.size;
    const tail = await get(`/log/entries?start=${size - 2}&end=${size + 5}`);
    assert.deepEqual(tail, [size - 2, size - 1], 'short page at the end of the log');
    const all = await get('/log/entries?start=0&end=5000');
    assert.equal(all.length, Math.min(t.node.log.size - 1, MAX_ENTRIES_PER_CALL));
    assert.equal(all[0], 0);
  });

  test('bad ranges are refused', async () => {
    const n = t.node.log.size;
    const cases = [
      `/log/entries?start=5&end=4`,
      `/log/entries?start=${n}&end=${n}`,
      '/log/entries?start=-1&end=2',
      '/log/entries?start=0',
      `/log/proof/inclusion?index=${n}&treeSize=${n}`,
      `/log/proof/inclusion?index=0&treeSize=${n + 1}`,
      '/log/proof/consistency?first=0&second=2',
      '/log/proof/consistency?first=3&second=2',
      '/log/proof/inclusion?index=abc&treeSize=2',
    ];
    for (const url of cases) assert.equal((await call('GET', url, 'admin')).status, 400, url);
  });

  test('AuditEvent renders a patient’s entries (IHE BALP shape) for admins and clinicians only', async () => {
    const r = await call('GET', `/fhir/AuditEvent?patient=${PATIENT.address}`, 'admin');
    assert.equal(r.status, 200, r.body);
    const b = r.json() as Bundle;
    assert.ok((b.total ?? 0) >= 3);
    const ev = b.entry?.find((e) => (e.resource as { outcome?: string })?.outcome === '4')
      ?.resource as unknown as Record<string, unknown>;
    assert.ok(ev, 'denied attempts are listed');
    assert.deepEqual((ev.type as { code: string }).code, 'rest');
    assert.equal(((ev.agent as { requestor: boolean }[])[0] as { requestor: boolean }).requestor, true);
    const urls = r.json().entry.map((e: { fullUrl?: string }) => e.fullUrl);
    assert.ok(urls.length > 0);
    for (const u of urls)
      assert.match(u, /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(new Set(urls).size, urls.length, 'one fullUrl per entry');
    const again = (await call('GET', `/fhir/AuditEvent?patient=${PATIENT.address}`, 'admin')).json();
    assert.deepEqual(
      again.entry
        .slice(-urls.length)
        .map((e: { fullUrl?: string }) => e.fullUrl)
        .slice(-1),
      urls.slice(-1),
      'the same entry has the same fullUrl in every answer',
    );
    assert.equal((await call('GET', `/fhir/AuditEvent?patient=${PATIENT.address}`, 'billing')).status, 403);
    assert.equal((await call('GET', '/fhir/AuditEvent', 'admin')).status, 400);
  });

  test('disclosures: the patient (by signature) or an admin, nobody else', async () => {
    const url = `/patients/${PATIENT.address}/disclosures`;
    const asPatient = await call('GET', url, undefined, undefined, {
      authorization: await patientAuthHeader(PATIENT, t.node.identity.address, 'GET', url),
    });
    assert.equal(asPatient.status, 200, asPatient.body);
    const d = asPatient.json();
    assert.equal(d.patient, PATIENT.address);
    assert.equal(d.anchored, null, 'no chain here, so nothing is anchored yet');
    assert.ok(d.unanchored.length >= 3);
    const other = privateKeyToAccount(generatePrivateKey());
    const wrong = await call('GET', url, undefined, undefined, {
      authorization: await patientAuthHeader(other, t.node.identity.address, 'GET', url),
    });
    assert.equal(wrong.status, 403);
    const stale = await call('GET', url, undefined, undefined, {
      authorization: await patientAuthHeader(
        PATIENT,
        t.node.identity.address,
        'GET',
        url,
        '',
        Date.now() - 3_600_000,
      ),
    });
    assert.equal(stale.status, 401);
    const elsewhere = await call('GET', url, undefined, undefined, {
      authorization: await patientAuthHeader(PATIENT, other.address, 'GET', url),
    });
    assert.equal(elsewhere.status, 401, 'a signature for another member does not work here');
    assert.equal((await call('GET', url, 'admin')).status, 200);
    assert.equal((await call('GET', url, 'clinician')).status, 403);
  });

  test('GET /verify is for admins and reports a clean store', async () => {
    const r = await call('GET', '/verify', 'admin');
    assert.equal(r.status, 200);
    assert.equal(r.json().ok, true, r.body);
    assert.equal((await call('GET', '/verify', 'clinician')).status, 403);
  });
});
