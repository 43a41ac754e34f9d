import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Bundle, Observation, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { startTestNode, type TestNode } from '../../test/support/testNode.js';

let t: TestNode;
before(async () => {
  t = await startTestNode();
});
after(() => t.close());

const ADDRESS = '0x4D1Ad100619f59d961c0CFD53D3cAcF34B1892cD';

async function call(
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  opts: { role?: Parameters<TestNode['token']>[0]; body?: unknown; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.role !== undefined) headers.authorization = `Bearer ${await t.token(opts.role)}`;
  const r = await t.app.inject({
    method,
    url,
    headers: opts.body !== undefined ? { 'content-type': 'application/fhir+json', ...headers } : headers,
    ...(opts.body !== undefined
      ? { payload: typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) }
      : {}),
  });
  return { status: r.statusCode, headers: r.headers, json: () => r.json(), body: r.body };
}

const asOutcome = (r: { json: () => unknown }) => {
  const o = r.json() as OperationOutcome;
  assert.equal(o.resourceType, 'OperationOutcome');
  return o.issue?.[0]?.details?.text ?? '';
};

const patient = (family: string, extra: Partial<Patient> = {}): Patient => ({
  resourceType: 'Patient',
  name: [{ family, given: ['Test'] }],
  birthDate: '1980-04-01',
  ...extra,
});

const observation = (patientId: string, code: string, when: string, value = 13.5): Observation => ({
  resourceType: 'Observation',
  status: 'final',
  category: [
    {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }],
    },
  ],
  code: { coding: [{ system: 'http://loinc.org', code, display: 'lab' }] },
  subject: { reference: `Patient/${patientId}` },
  effectiveDateTime: when,
  valueQuantity: { value, unit: 'g/dL', system: 'http://unitsofmeasure.org', code: 'g/dL' },
});

describe('authentication', () => {
  test('the CapabilityStatement is public and lists the supported types and parameters', async () => {
    const r = await call('GET', '/fhir/metadata');
    assert.equal(r.status, 200);
    const cs = r.json();
    assert.equal(cs.resourceType, 'CapabilityStatement');
    assert.equal(cs.fhirVersion, '4.0.1');
    const obs = cs.rest[0].resource.find((x: { type: string }) => x.type === 'Observation');
    assert.deepEqual(obs.searchParam.map((p: { name: string }) => p.name).sort(), [
      '_id',
      '_lastUpdated',
      'code',
      'date',
      'patient',
      'subject',
    ]);
    // The seventeen stored types (eleven clinical with MedicationDispense, six insurance and
    // claims), and AuditEvent (the log's entries, search by patient only).
    assert.equal(cs.rest[0].resource.length, 18);
    assert.equal(cs.rest[0].security.cors, true);
  });

  test('FHIR routes need a valid token', async () => {
    const none = await call('GET', '/fhir/Patient');
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    assert.match(asOutcome(none), /sign in first/);
    const bad = await call('GET', '/fhir/Patient', { headers: { authorization: 'Bearer nope' } });
    assert.equal(bad.status, 401);
    assert.match(asOutcome(bad), /unknown or expired/);
  });

  test('login answers an OAuth2-shaped token response; wrong passwords are refused then throttled', async () => {
    const ok = await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { username: 'nurse', password: 'password-of-nurse' },
    });
    assert.equal(ok.statusCode, 200);
    const body = ok.json();
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_in, 900);
    assert.match(body.access_token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(ok.headers['cache-control'], 'no-store');

    const attempt = (username: string) =>
      t.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { username, password: 'wrong password!' },
        remoteAddress: '10.9.9.9',
      });
    for (let i = 0; i < 5; i++) {
      const r = await attempt('somebody');
      assert.equal(r.statusCode, 401);
      assert.match(r.json().issue[0].details.text, /wrong username or password/);
    }
    const throttled = await attempt('somebody');
    // Parallel guesses cannot slip past the limit while passwords are being checked.
    const burst = await Promise.all(
      Array.from({ length: 20 }, () =>
        t.app.inject({
          method: 'POST',
          url: '/auth/login',
          payload: { username: 'someone-else', password: 'wrong password!' },
          remoteAddress: '10.8.8.8',
        }),
      ),
    );
    assert.ok(
      burst.filter((r) => r.statusCode === 401).length <= 5,
      'at most 5 guesses get a password check',
    );
    assert.equal(throttled.statusCode, 429);
    assert.ok(Number(throttled.headers['retry-after']) > 0);
    // Unknown users get the same answer as wrong passwords.
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { username: 'ghost', password: 'x' },
    });
    assert.equal(unknown.statusCode, 401);
    const malformed = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { username: 5 } });
    assert.equal(malformed.statusCode, 400);
  });
});

describe('FHIR REST', () => {
  test('a read answers the resource as the create returned it, with its ETag, Last-Modified and type', async () => {
    const c = await call('POST', '/fhir/Patient', { role: 'clinician', body: patient('Adeyemi') });
    assert.equal(c.status, 201, c.body);
    const created = c.json() as Patient;
    const u = await call('PUT', `/fhir/Patient/${created.id}`, {
      role: 'clinician',
      body: { ...created, gender: 'female' },
    });
    assert.equal(u.status, 200, u.body);
    const r = await call('GET', `/fhir/Patient/${created.id}`, { role: 'clinician' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), u.json(), 'the current version, exactly as stored');
    assert.equal(r.body, JSON.stringify(u.json()), 'compact JSON');
    assert.equal(r.headers.etag, 'W/"2"');
    assert.equal(r.headers.etag, u.headers.etag);
    assert.equal(r.headers['last-modified'], u.headers['last-modified']);
    assert.equal(
      r.headers['last-modified'],
      new Date((u.json() as Patient).meta?.lastUpdated ?? 0).toUTCString(),
    );
    assert.equal(r.headers['content-type'], 'application/fhir+json; charset=utf-8');
    assert.equal(r.headers.location, undefined);
  });

  test('create, read, update with If-Match, vread, history, delete (410 afterwards)', async () => {
    const c = await call('POST', '/fhir/Patient', { role: 'clinician', body: patient('Okafor') });
    assert.equal(c.status, 201, c.body);
    const p = c.json() as Patient;
    assert.match(p.id ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(p.meta?.versionId, '1');
    assert.equal(c.headers.etag, 'W/"1"');
    assert.equal(c.headers.location, `/fhir/Patient/${p.id}/_history/1`);

    const r = await call('GET', `/fhir/Patient/${p.id}`, { role: 'clinician' });
    assert.equal(r.status, 200);
    assert.equal(r.json().name[0].family, 'Okafor');

    const u = await call('PUT', `/fhir/Patient/${p.id}`, {
      role: 'clinician',
      body: { ...p, name: [{ family: 'Okafor-Lee' }] },
      headers: { 'if-match': 'W/"1"' },
    });
    assert.equal(u.status, 200, u.body);
    assert.equal(u.json().meta.versionId, '2');
    const stale = await call('PUT', `/fhir/Patient/${p.id}`, {
      role: 'clinician',
      body: p,
      headers: { 'if-match': 'W/"1"' },
    });
    assert.equal(stale.status, 412);
    assert.match(asOutcome(stale), /at version 2, not 1/);

    const v1 = await call('GET', `/fhir/Patient/${p.id}/_history/1`, { role: 'clinician' });
    assert.equal(v1.json().name[0].family, 'Okafor');
    const h = await call('GET', `/fhir/Patient/${p.id}/_history`, { role: 'clinician' });
    assert.deepEqual(
      h.json().entry.map((e: { resource: Patient }) => e.resource.meta?.versionId),
      ['2', '1'],
    );

    const mismatch = await call('PUT', `/fhir/Patient/${p.id}`, {
      role: 'clinician',
      body: { ...p, id: 'other' },
    });
    assert.equal(mismatch.status, 400);

    const d = await call('DELETE', `/fhir/Patient/${p.id}`, { role: 'admin' });
    assert.equal(d.status, 200);
    assert.match(asOutcome(d), /crypto-shredding/);
    assert.equal((await call('GET', `/fhir/Patient/${p.id}`, { role: 'clinician' })).status, 410);
    assert.equal((await call('GET', `/fhir/Patient/${p.id}/_history/1`, { role: 'clinician' })).status, 410);
    assert.equal((await call('DELETE', `/fhir/Patient/${p.id}`, { role: 'admin' })).status, 410);
    assert.equal((await call('GET', '/fhir/Patient/does-not-exist', { role: 'clinician' })).status, 404);
    const after = await call('GET', `/fhir/Patient/${p.id}/_history`, { role: 'clinician' });
    assert.equal(after.json().entry[0].request.method, 'DELETE');
    assert.equal(
      after.json().entry.some((e: { resource?: unknown }) => e.resource),
      false,
      'no content survives erasure',
    );
  });

  test('PUT to a new id creates it (201)', async () => {
    const r = await call('PUT', '/fhir/Patient/chosen-id-1', {
      role: 'clinician',
      body: patient('Chosen', { id: 'chosen-id-1' }),
    });
    assert.equal(r.status, 201);
    assert.equal(r.json().id, 'chosen-id-1');
  });

  test('every route checks the role', async () => {
    const p = (
      await call('POST', '/fhir/Patient', { role: 'clinician', body: patient('Roles') })
    ).json() as Patient;
    const o = (
      await call('POST', '/fhir/Observation', {
        role: 'nurse',
        body: observation(p.id as string, '718-7', '2024-01-02'),
      })
    ).json();
    const cases: [Parameters<typeof call>[0], string, Parameters<TestNode['token']>[0], unknown?][] = [
      ['GET', `/fhir/Observation/${o.id}`, 'billing'],
      ['GET', '/fhir/Observation?patient=x', 'billing'],
      ['GET', `/fhir/Patient/${p.id}`, 'admin'],
      [
        'POST',
        '/fhir/Condition',
        'nurse',
        { resourceType: 'Condition', subject: { reference: `Patient/${p.id}` } },
      ],
      ['POST', '/fhir/Patient', 'billing', patient('X')],
      ['DELETE', `/fhir/Patient/${p.id}`, 'clinician'],
      ['GET', `/fhir/Observation/${o.id}/_history`, 'billing'],
      [
        'POST',
        '/fhir',
        'billing',
        {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [{ request: { method: 'POST', url: 'Patient' }, resource: patient('Y') }],
        },
      ],
    ];
    for (const [method, url, role, body] of cases) {
      const r = await call(method, url, { role, ...(body ? { body } : {}) });
      assert.equal(r.status, 403, `${role} ${method} ${url}`);
      assert.match(asOutcome(r), new RegExp(`the ${role} role may not`));
    }
    assert.equal((await call('GET', `/fhir/Encounter?patient=${p.id}`, { role: 'billing' })).status, 200);
  });
});

describe('search', () => {
  let pid: string;
  let other: string;
  before(async () => {
    pid = (
      await call('POST', '/fhir/Patient', {
        role: 'clinician',
        body: patient('Search', { identifier: [{ system: 'urn:medchain:patient', value: ADDRESS }] }),
      })
    ).json().id;
    other = (await call('POST', '/fhir/Patient', { role: 'clinician', body: patient('Other') })).json().id;
    const obs = [
      observation(pid, '718-7', '2023-05-01T09:00:00Z'),
      observation(pid, '718-7', '2024-02-10T09:00:00Z'),
      observation(pid, '2345-7', '2024-03-01T09:00:00Z'),
      observation(other, '718-7', '2024-02-11T09:00:00Z'),
    ];
    for (const o of obs)
      assert.equal((await call('POST', '/fhir/Observation', { role: 'clinician', body: o })).status, 201);
  });

  const ids = async (url: string) => {
    const r = await call('GET', url, { role: 'clinician' });
    assert.equal(r.status, 200, `${url}: ${r.body}`);
    const b = r.json() as Bundle;
    return { total: b.total, n: b.entry?.filter((e) => e.search?.mode === 'match').length, bundle: b };
  };

  test('by patient: reference, bare id, chain address and subject', async () => {
    assert.equal((await ids(`/fhir/Observation?patient=Patient/${pid}`)).total, 3);
    assert.equal((await ids(`/fhir/Observation?patient=${pid}`)).total, 3);
    assert.equal((await ids(`/fhir/Observation?patient=${ADDRESS.toLowerCase()}`)).total, 3);
    assert.equal((await ids(`/fhir/Observation?subject=Patient/${other}`)).total, 1);
    assert.equal((await ids(`/fhir/Observation?patient=${pid},${other}`)).total, 4);
    assert.equal(
      (await ids('/fhir/Observation?patient=0x0000000000000000000000000000000000000001')).total,
      0,
    );
    assert.equal((await ids(`/fhir/Patient?identifier=urn:medchain:patient|${ADDRESS}`)).total, 1);
    // A token without a system matches the value in any system (FHIR R4 search.html#token).
    assert.equal((await ids(`/fhir/Patient?identifier=${ADDRESS}`)).total, 1);
    assert.equal((await ids(`/fhir/Patient?identifier=${ADDRESS.toLowerCase()}`)).total, 1);
    assert.equal((await ids(`/fhir/Patient?identifier=|${ADDRESS}`)).total, 0);
    assert.equal((await ids(`/fhir/Patient?identifier=urn:other|${ADDRESS}`)).total, 0);
  });

  test('by code (system|code, code alone) and date prefixes', async () => {
    assert.equal((await ids(`/fhir/Observation?patient=${pid}&code=http://loinc.org|718-7`)).total, 2);
    assert.equal((await ids(`/fhir/Observation?patient=${pid}&code=718-7`)).total, 2);
    assert.equal((await ids(`/fhir/Observation?patient=${pid}&code=http://snomed.info/sct|718-7`)).total, 0);
    assert.equal((await ids(`/fhir/Observation?patient=${pid}&date=ge2024-01-01`)).total, 2);
    assert.equal((await ids(`/fhir/Observation?patient=${pid}&date=lt2024-01-01`)).total, 1);
    assert.equal(
      (await ids(`/fhir/Observation?patient=${pid}&date=ge2024-01-01&date=le2024-02-28`)).total,
      1,
    );
    assert.equal((await ids(`/fhir/Observation?patient=${pid}&date=2024-02`)).total, 1);
    assert.equal((await ids(`/fhir/Observation?patient=${pid}&date=gt2024-02-10`)).total, 1);
  });

  test('_id, _lastUpdated, _count paging with links, and _count capped', async () => {
    assert.equal((await ids(`/fhir/Patient?_id=${pid}`)).total, 1);
    const both = `patient=${pid},${other}`;
    assert.equal((await ids(`/fhir/Observation?${both}&_lastUpdated=ge2000-01-01`)).total, 4);
    assert.equal((await ids(`/fhir/Observation?${both}&_lastUpdated=lt2000-01-01`)).total, 0);
    const page1 = await ids(`/fhir/Observation?${both}&_count=3`);
    assert.equal(page1.n, 3);
    const next = page1.bundle.link?.find((l) => l.relation === 'next')?.url ?? '';
    assert.match(next, /_offset=3/);
    const page2 = await ids(next.replace(/^https?:\/\/[^/]+/, ''));
    assert.equal(page2.n, 1);
    assert.ok(page2.bundle.link?.some((l) => l.relation === 'previous'));
    const all = new Set(
      [...(page1.bundle.entry ?? []), ...(page2.bundle.entry ?? [])].map((e) => e.resource?.id),
    );
    assert.equal(all.size, 4, 'pages do not overlap');
    const capped = await ids(`/fhir/Observation?${both}&_count=1000000`);
    assert.equal(capped.total, 4);
    assert.ok(
      capped.bundle.entry?.some((e) => e.search?.mode === 'outcome'),
      'says the count was lowered',
    );
    for (const e of capped.bundle.entry ?? []) {
      if (e.search?.mode === 'match')
        assert.match(e.fullUrl ?? '', new RegExp(`^http://[^/]+/fhir/Observation/${e.resource?.id}$`));
      else assert.match(e.fullUrl ?? '', /^urn:uuid:[0-9a-f-]{36}$/, 'an outcome entry has a fullUrl too');
    }
  });

  test('unsupported features are refused with an OperationOutcome, never ignored', async () => {
    const cases: [string, RegExp][] = [
      ['/fhir/Observation?_include=Observation:patient', /_include is not supported/],
      ['/fhir/Observation?_revinclude=Provenance:target', /_revinclude is not supported/],
      ['/fhir/Patient?_has:Observation:patient:code=718-7', /_has.* is not supported/],
      ['/fhir/Observation?subject.name=Smith', /chained search/],
      ['/fhir/Observation?subject:Patient.name=Smith', /chained search/],
      [
        '/fhir/Observation?foo=bar',
        /unknown or unsupported search parameter "foo" for Observation; supported: patient, subject, code, date/,
      ],
      ['/fhir/Observation?code:text=hemoglobin', /modifiers are not supported/],
      ['/fhir/Observation?_sort=date', /unsupported search parameter "_sort"/],
      ['/fhir/Observation?date=2024-13-01', /Invalid format for date search parameter: 2024-13-01/],
      ['/fhir/Observation?date=ne2024', /"ne" prefix is not supported/],
      ['/fhir/Observation?_count=abc', /_count must be a whole number/],
      ['/fhir/Observation?_count=-1', /_count must be a whole number/],
      ['/fhir/Observation?_offset=99999999', /_offset must be at most/],
      ['/fhir/Immunization?code=x', /unsupported search parameter "code" for Immunization/],
      ['/fhir/Observation?_format=xml', /only JSON/],
    ];
    for (const [url, msg] of cases) {
      const r = await call('GET', url, { role: 'clinician' });
      assert.equal(r.status, 400, url);
      assert.match(asOutcome(r), msg, url);
    }
  });

  test('injection strings in every search parameter are inert', async () => {
    const evil = [
      "' OR 1=1 --",
      '"; DROP TABLE resource_versions; --',
      '{"$ne":null}',
      '%00',
      '\\u0000',
      '*',
      '%',
      '_',
      "Patient/x' OR '1'='1",
      '1) UNION SELECT * FROM users --',
    ];
    for (const v of evil) {
      const q = encodeURIComponent(v);
      for (const url of [
        `/fhir/Observation?patient=${q}`,
        `/fhir/Observation?code=${q}`,
        `/fhir/Observation?subject=${q}`,
        `/fhir/Observation?_id=${q}`,
        `/fhir/Patient?identifier=${q}`,
      ]) {
        const r = await call('GET', url, { role: 'clinician' });
        assert.ok(r.status === 200 || r.status === 400, `${url} -> ${r.status}`);
        if (r.status === 200) assert.equal(r.json().total, 0, url);
      }
      for (const url of [
        `/fhir/Observation?date=${q}`,
        `/fhir/Observation?_lastUpdated=${q}`,
        `/fhir/Observation?_count=${q}`,
      ]) {
        assert.equal((await call('GET', url, { role: 'clinician' })).status, 400, url);
      }
    }
    assert.equal((await ids(`/fhir/Observation?patient=${pid}`)).total, 3, 'data intact');
  });
});

describe('Patient search by name, birth date, gender and identifier (blind tokens)', () => {
  const ids: Record<string, string> = {};
  before(async () => {
    const people: [string, Patient][] = [
      [
        'jose',
        {
          resourceType: 'Patient',
          name: [{ family: "O'Brien-Núñez", given: ['José', 'María'] }],
          birthDate: '1971-04-01',
          gender: 'male',
          identifier: [{ system: 'http://hospital.example/mrn', value: 'MRN-71' }],
        },
      ],
      [
        'anna',
        {
          resourceType: 'Patient',
          name: [{ text: 'Anna Okafor-Smith', family: 'Okafor-Smith', given: ['Anna'] }],
          birthDate: '1971',
          gender: 'female',
        },
      ],
      [
        'maria',
        {
          resourceType: 'Patient',
          name: [
            { family: 'Brien', given: ['Maria'] },
            { family: 'Jones', use: 'old' },
          ],
          birthDate: '1971-04-15',
          gender: 'female',
        },
      ],
    ];
    for (const [key, body] of people) {
      const r = await call('POST', '/fhir/Patient', { role: 'clinician', body });
      assert.equal(r.status, 201, r.body);
      ids[key] = r.json().id;
    }
  });

  /** The ids among this describe's patients that `query` finds (the file's other patients are ignored). */
  const found = async (query: string): Promise<string[]> => {
    const r = await call('GET', `/fhir/Patient?${query}&_count=100`, { role: 'clinician' });
    assert.equal(r.status, 200, `${query}: ${r.body}`);
    const mine = new Set(Object.values(ids));
    const names = Object.fromEntries(Object.entries(ids).map(([k, v]) => [v, k]));
    return ((r.json() as Bundle).entry ?? [])
      .map((e) => e.resource?.id as string)
      .filter((id) => mine.has(id))
      .map((id) => names[id] as string)
      .sort();
  };

  test('name: any whole part of given, family or text, case- and accent-insensitive', async () => {
    const cases: [string, string[]][] = [
      ['name=nunez', ['jose']],
      ['name=N%C3%9A%C3%91EZ', ['jose']],
      ['name=Jos%C3%A9', ['jose']],
      ['name=maria', ['jose', 'maria']],
      ['name=brien', ['jose', 'maria']],
      ["name=O'Brien", ['jose']],
      ['name=obrien', ['jose']],
      ['name=jones', ['maria']], // every name of the patient, not only the official one
      ['name=okafor', ['anna']],
      ['name=Okafor-Smith', ['anna']],
      ['name=Maria%20Brien', ['jose', 'maria']], // several parts in one value: all of them
      ['name=Maria%20Okafor', []],
      ['name=okafor,nunez', ['anna', 'jose']], // commas: any of them
      ['name=okafor&name=anna', ['anna']], // repeated: all of them
      ['name=okaf', []], // whole parts only: no prefix match (documented departure from FHIR)
      ['family=brien', ['jose', 'maria']],
      ['family=maria', []],
      ['given=maria', ['jose', 'maria']],
      ['given=okafor', []],
    ];
    for (const [q, expected] of cases) assert.deepEqual(await found(q), expected, q);
  });

  test('birthdate: equality at year, month or day precision (FHIR eq: the stored date lies within it)', async () => {
    const cases: [string, string[]][] = [
      ['birthdate=1971', ['anna', 'jose', 'maria']],
      ['birthdate=eq1971', ['anna', 'jose', 'maria']],
      ['birthdate=1971-04', ['jose', 'maria']], // a year-only birth date is not within April
      ['birthdate=1971-04-01', ['jose']],
      ['birthdate=1972', []],
      ['name=maria&birthdate=1971-04-15', ['maria']],
    ];
    for (const [q, expected] of cases) assert.deepEqual(await found(q), expected, q);
  });

  test('gender and identifier: tokens, with or without their system', async () => {
    const cases: [string, string[]][] = [
      ['gender=female', ['anna', 'maria']],
      ['gender=http://hl7.org/fhir/administrative-gender|male', ['jose']],
      ['gender=http://example.org/other|male', []],
      ['identifier=http://hospital.example/mrn|MRN-71', ['jose']],
      ['identifier=MRN-71', ['jose']],
      ['identifier=http://hospital.example/mrn|MRN-72', []],
      ['name=brien&gender=female&birthdate=1971', ['maria']],
    ];
    for (const [q, expected] of cases) assert.deepEqual(await found(q), expected, q);
  });

  test('what blind tokens cannot answer is refused with a 400 saying why', async () => {
    const cases: [string, RegExp][] = [
      ['birthdate=ge1971', /"ge" prefix is not supported: the date is kept as blind equality tokens/],
      ['birthdate=lt1971-04-01', /"lt" prefix is not supported/],
      ['birthdate=1971-04-01T10:00:00Z', /not a date at year, month or day precision/],
      ['name=---', /has no letters or digits/],
      ['name=Maria%20Brien,Okafor', /each must be one name part/],
      ['name:exact=Okafor', /modifiers are not supported/],
      ['name:contains=kaf', /modifiers are not supported/],
      ['birthdate=1971-13', /Invalid format for date search parameter|not a date/],
    ];
    for (const [q, msg] of cases) {
      const r = await call('GET', `/fhir/Patient?${q}`, { role: 'clinician' });
      assert.equal(r.status, 400, q);
      assert.match(asOutcome(r), msg, q);
    }
  });

  test('the CapabilityStatement lists the Patient parameters and documents the departures', async () => {
    const cs = (await call('GET', '/fhir/metadata')).json();
    const p = cs.rest[0].resource.find((x: { type: string }) => x.type === 'Patient');
    const params = new Map(
      p.searchParam.map((x: { name: string; type: string; documentation?: string }) => [x.name, x]),
    );
    for (const [name, type] of [
      ['name', 'string'],
      ['family', 'string'],
      ['given', 'string'],
      ['birthdate', 'date'],
      ['gender', 'token'],
      ['identifier', 'token'],
    ])
      assert.equal((params.get(name) as { type: string } | undefined)?.type, type, name);
    assert.match((params.get('name') as { documentation: string }).documentation, /not prefixes/);
    assert.match(
      (params.get('birthdate') as { documentation: string }).documentation,
      /ge, le, gt, lt are refused/,
    );
  });
});

describe('bad input never crashes the node nor half-stores anything', () => {
  test('each gets the right OperationOutcome', async () => {
    const before = (await call('GET', '/fhir/Patient?_count=0', { role: 'clinician' })).json().total;
    const big = JSON.stringify({
      resourceType: 'Patient',
      text: { status: 'generated', div: `<div>${'x'.repeat(10 * 1024 * 1024)}</div>` },
    });
    const cases: [string, string, unknown, number, RegExp][] = [
      ['POST', '/fhir/Patient', '{"resourceType": "Patient",', 400, /not valid JSON/],
      [
        'POST',
        '/fhir/Patient',
        { resourceType: 'Observation', status: 'final', code: { text: 'x' } },
        400,
        /does not match the URL/,
      ],
      ['POST', '/fhir/Patient', { resourceType: 'Spaceship' }, 400, /not stored here/],
      ['POST', '/fhir/Patient', { name: [{ family: 'NoType' }] }, 400, /resourceType is missing/],
      ['POST', '/fhir/Patient', [1, 2], 400, /must be a FHIR resource/],
      [
        'POST',
        '/fhir/Patient',
        { resourceType: 'Patient', birthDate: '2020-02-31' },
        422,
        /not valid FHIR R4/,
      ],
      [
        'POST',
        '/fhir/Patient',
        { resourceType: 'Patient', favouriteColour: 'blue' },
        422,
        /not valid FHIR R4/,
      ],
      [
        'POST',
        '/fhir/Observation',
        { resourceType: 'Observation', code: { text: 'x' } },
        422,
        /not valid FHIR R4/,
      ],
      [
        'POST',
        '/fhir/Patient',
        {
          resourceType: 'Patient',
          identifier: [{ system: 'urn:medchain:patient', value: 'not-an-address' }],
        },
        422,
        /chain address/,
      ],
      [
        'POST',
        '/fhir/Patient',
        { resourceType: 'Patient', id: 'bad id with spaces' },
        400,
        /not a valid FHIR id/,
      ],
      ['POST', '/fhir/Patient', big, 413, /larger than/],
      [
        'POST',
        '/fhir/Patient',
        '{"resourceType":"Patient","__proto__":{"admin":true}}',
        400,
        /not valid JSON/,
      ],
      ['POST', '/fhir/Spaceship', { resourceType: 'Patient' }, 404, /not supported here/],
      ['GET', '/fhir/Patient/bad%20id', undefined, 400, /not a valid FHIR id/],
      ['GET', '/fhir/Patient/x/_history/abc', undefined, 400, /version id must be a number/],
      ['PUT', '/fhir/Patient/x', undefined, 400, /body is empty/],
      ['GET', '/nowhere', undefined, 404, /no route/],
    ];
    for (const [method, url, body, status, msg] of cases) {
      const r = await call(method as 'POST', url, {
        role: 'clinician',
        ...(body !== undefined ? { body } : {}),
      });
      assert.equal(
        r.status,
        status,
        `${method} ${url} ${typeof body === 'string' ? body.slice(0, 40) : JSON.stringify(body)?.slice(0, 60)}: ${r.body.slice(0, 200)}`,
      );
      assert.match(asOutcome(r), msg);
      assert.doesNotMatch(r.body, /at .*\.ts:\d+/, 'no stack trace');
    }
    const invalid = await call('POST', '/fhir/Patient', {
      role: 'clinician',
      body: { resourceType: 'Patient', birthDate: 'yesterday' },
    });
    assert.equal(invalid.json().issue[1].expression[0], 'Patient.birthDate', 'points at the element');
    const wrongType = await t.app.inject({
      method: 'POST',
      url: '/fhir/Patient',
      headers: { authorization: `Bearer ${await t.token('clinician')}`, 'content-type': 'text/plain' },
      payload: 'hello',
    });
    assert.equal(wrongType.statusCode, 415);
    const after = (await call('GET', '/fhir/Patient?_count=0', { role: 'clinician' })).json().total;
    assert.equal(after, before, 'nothing was stored');
  });
});

describe('transaction and batch bundles', () => {
  test('a transaction resolves urn:uuid references and stores everything', async () => {
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a',
          request: { method: 'POST', url: 'Patient' },
          resource: patient('Bundled'),
        },
        {
          request: { method: 'POST', url: 'Observation' },
          resource: {
            ...observation('x', '718-7', '2024-05-01'),
            subject: { reference: 'urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a' },
          } as Observation,
        },
      ],
    };
    const r = await call('POST', '/fhir', { role: 'clinician', body: bundle });
    assert.equal(r.status, 200, r.body);
    const res = r.json() as Bundle;
    assert.equal(res.type, 'transaction-response');
    assert.deepEqual(
      res.entry?.map((e) => e.response?.status),
      ['201 Created', '201 Created'],
    );
    const pid = res.entry?.[0]?.resource?.id;
    assert.equal((res.entry?.[1]?.resource as Observation | undefined)?.subject?.reference, `Patient/${pid}`);
    const found = await call('GET', `/fhir/Observation?patient=${pid}`, { role: 'clinician' });
    assert.equal(found.json().total, 1);
  });

  test('transaction and batch are accepted at [base] and [base]/; GET [base]/ is a clear 404', async () => {
    for (const url of ['/fhir', '/fhir/'])
      for (const type of ['transaction', 'batch'] as const) {
        const r = await call('POST', url, {
          role: 'clinician',
          body: {
            resourceType: 'Bundle',
            type,
            entry: [{ request: { method: 'POST', url: 'Patient' }, resource: patient('AtBase') }],
          },
        });
        assert.equal(r.status, 200, `${type} at ${url}: ${r.body}`);
        assert.equal((r.json() as Bundle).type, `${type}-response`);
      }
    const get = await call('GET', '/fhir/', { role: 'clinician' });
    assert.equal(get.status, 404);
    assert.match(asOutcome(get), /no resource type in the path/);
  });

  test('create and search answer at [base]/Type/ as at [base]/Type', async () => {
    const made = await call('POST', '/fhir/Patient/', { role: 'clinician', body: patient('TrailingSlash') });
    assert.equal(made.status, 201, made.body);
    const id = made.json().id;
    const found = await call('GET', `/fhir/Patient/?_id=${id}`, { role: 'clinician' });
    assert.equal(found.status, 200, found.body);
    assert.equal((found.json() as Bundle).total, 1);
  });

  test('a transaction with one bad entry stores nothing', async () => {
    const count = async () =>
      (await call('GET', '/fhir/Patient?_count=0', { role: 'clinician' })).json().total;
    const before = await count();
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'POST', url: 'Patient' }, resource: patient('First') },
        {
          request: { method: 'POST', url: 'Patient' },
          resource: { resourceType: 'Patient', birthDate: 'not a date' } as Patient,
        },
      ],
    };
    const r = await call('POST', '/fhir', { role: 'clinician', body: bundle });
    assert.equal(r.status, 422);
    assert.match(asOutcome(r), /^entry\[1\] \(POST Patient\): .*nothing was stored$/);
    assert.equal(await count(), before);
  });

  test('a batch processes each entry on its own', async () => {
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'POST', url: 'Patient' }, resource: patient('Good') },
        {
          request: { method: 'POST', url: 'Patient' },
          resource: { resourceType: 'Patient', birthDate: 'bad' } as Patient,
        },
        { request: { method: 'GET', url: 'Patient/does-not-exist' } },
      ],
    };
    const r = await call('POST', '/fhir', { role: 'clinician', body: bundle });
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.json().entry.map((e: { response: { status: string } }) => e.response.status),
      ['201 Created', '422', '404'],
    );
  });

  test('malformed bundles are refused', async () => {
    const cases: [unknown, RegExp][] = [
      [{ resourceType: 'Patient' }, /takes a Bundle/],
      [{ resourceType: 'Bundle', type: 'collection' }, /transaction or batch/],
      [
        { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: patient('x') }] },
        /request.method and request.url are required/,
      ],
      [
        {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [{ request: { method: 'POST', url: 'Spaceship' }, resource: {} }],
        },
        /not Type or Type\/id/,
      ],
      [
        {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            {
              request: { method: 'POST', url: 'Observation' },
              resource: { ...observation('x', '1', '2024'), subject: { reference: 'urn:uuid:nowhere' } },
            },
          ],
        },
        /does not match any entry/,
      ],
      [
        {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [{ request: { method: 'PATCH', url: 'Patient/1' } }],
        },
        /PATCH is not supported/,
      ],
    ];
    for (const [body, msg] of cases) {
      const r = await call('POST', '/fhir', { role: 'clinician', body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(asOutcome(r), msg);
    }
  });
});
