import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestNode, type TestNode } from '../test/support/testNode.js';
import { buildUnsecuredBaseline, type UnsecuredBaseline } from './unsecuredBaseline.js';

const observation = (patientId: string, code: string) => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code }] },
  subject: { reference: `Patient/${patientId}` },
  valueQuantity: { value: 13.5, unit: 'g/dL', system: 'http://unitsofmeasure.org', code: 'g/dL' },
});

/** Keys of an object, recursively, with array items merged: the shape of an answer. */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.length > 0 ? [shape(v[0])] : [];
  if (typeof v !== 'object' || v === null) return typeof v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, shape((v as Record<string, unknown>)[k])]),
  );
}

describe('the unsecured baseline of the HTTP benchmark', () => {
  let dir: string;
  let baseline: UnsecuredBaseline;
  let member: TestNode;
  let token: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'medchain-baseline-'));
    baseline = buildUnsecuredBaseline(path.join(dir, 'baseline.db'));
    member = await startTestNode({ roles: ['clinician'] });
    token = await member.token('clinician');
  });
  after(async () => {
    await baseline.close();
    await member.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const onBaseline = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
    baseline.app.inject({
      method,
      url,
      ...(payload
        ? { payload: payload as object, headers: { 'content-type': 'application/fhir+json' } }
        : {}),
    });
  const onMember = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
    member.app.inject({
      method,
      url,
      headers: {
        authorization: `Bearer ${token}`,
        ...(payload ? { 'content-type': 'application/fhir+json' } : {}),
      },
      ...(payload ? { payload: payload as object } : {}),
    });

  test('is as durable as a member store: WAL and synchronous=FULL', () => {
    assert.equal(baseline.db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(baseline.db.pragma('synchronous', { simple: true }), 2);
  });

  test('creates, reads and searches with the member answer shapes, statuses and headers', async () => {
    for (const [name, api] of [
      ['baseline', onBaseline],
      ['member', onMember],
    ] as const) {
      const patient = (await api('POST', '/fhir/Patient', { resourceType: 'Patient' })).json().id as string;
      for (const code of ['718-7', '718-7', '2345-7']) {
        assert.equal((await api('POST', '/fhir/Observation', observation(patient, code))).statusCode, 201);
      }
      const created = await api('POST', '/fhir/Observation', observation(patient, '718-7'));
      const r = created.json();
      assert.equal(created.statusCode, 201, name);
      assert.match(r.id, /^[0-9a-f-]{36}$/, `${name}: a random UUID`);
      assert.equal(r.meta.versionId, '1');
      assert.equal(created.headers.etag, 'W/"1"');
      assert.equal(created.headers.location, `/fhir/Observation/${r.id}/_history/1`);
      assert.ok(created.headers['last-modified'], `${name}: Last-Modified`);
      assert.match(String(created.headers['content-type']), /^application\/fhir\+json/);

      const read = await api('GET', `/fhir/Observation/${r.id}`);
      assert.equal(read.statusCode, 200, name);
      assert.deepEqual(read.json(), r, `${name}: reads back what it created`);
      assert.equal(read.headers.etag, 'W/"1"');

      for (const code of ['718-7', 'http://loinc.org|718-7']) {
        const found = await api(
          'GET',
          `/fhir/Observation?patient=Patient/${patient}&code=${encodeURIComponent(code)}`,
        );
        assert.equal(found.statusCode, 200, name);
        const b = found.json();
        assert.equal(b.total, 3, `${name}: ${code} matches the three 718-7 results of this patient`);
        assert.equal(b.entry.length, 3);
        assert.equal(b.entry[0].resource.id, r.id, `${name}: newest first`);
      }
      const missing = await api('GET', '/fhir/Observation/no-such-id');
      assert.equal(missing.statusCode, 404, name);
    }
    // Same answer shapes on both sides (values differ: ids, times, URLs).
    const b = onBaseline;
    const m = onMember;
    const pb = (await b('POST', '/fhir/Patient', { resourceType: 'Patient' })).json().id;
    const pm = (await m('POST', '/fhir/Patient', { resourceType: 'Patient' })).json().id;
    const cb = (await b('POST', '/fhir/Observation', observation(pb, '1742-6'))).json();
    const cm = (await m('POST', '/fhir/Observation', observation(pm, '1742-6'))).json();
    assert.deepEqual(shape(cb), shape(cm));
    const sb = (await b('GET', `/fhir/Observation?patient=Patient/${pb}&code=1742-6`)).json();
    const sm = (await m('GET', `/fhir/Observation?patient=Patient/${pm}&code=1742-6`)).json();
    assert.deepEqual(shape(sb), shape(sm));
  });

  test('validates what it stores as a member does', async () => {
    const cases: [string, unknown, number][] = [
      ['no status (required in R4)', { resourceType: 'Observation', code: { text: 'x' } }, 422],
      ['an impossible date', { ...observation('p', '718-7'), effectiveDateTime: '2024-02-31' }, 422],
      ['a type that does not match the URL', { resourceType: 'Condition' }, 400],
      ['not an object', [1, 2], 400],
    ];
    for (const [what, body, status] of cases) {
      const b = await onBaseline('POST', '/fhir/Observation', body);
      const m = await onMember('POST', '/fhir/Observation', body);
      assert.equal(b.statusCode, status, `baseline: ${what}`);
      assert.equal(m.statusCode, status, `member: ${what}`);
      assert.equal(b.json().resourceType, 'OperationOutcome');
    }
    assert.equal((await onBaseline('GET', '/fhir/Nothing/1')).statusCode, 404);
    assert.equal((await onBaseline('GET', '/fhir/Observation?date=2024')).statusCode, 400);
  });
});
