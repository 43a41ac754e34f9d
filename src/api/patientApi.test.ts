import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Bundle, Observation, Patient } from '@medplum/fhirtypes';
import type { LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { startTestNode, type TestNode } from '../../test/support/testNode.js';
import { waitFor } from '../../test/support/waitFor.js';
import { PatientSessionStore } from '../access/sessions.js';
import { bindingBytes, openRecord } from '../crypto/envelope.js';
import { unwrapKey } from '../crypto/keyWrap.js';
import { unwrapSymmetric } from '../crypto/symmetricWrap.js';
import { generateX25519 } from '../crypto/x25519.js';
import { PATIENT_KEY_EXTENSION } from '../fhir/resourceTypes.js';
import { decodeEntry } from '../log/entry.js';
import { bindingOf, patientKeyBinding } from '../records/recordService.js';

const ALICE = privateKeyToAccount(generatePrivateKey());
const BOB = privateKeyToAccount(generatePrivateKey());
const PORTAL_CONFIG = {
  member: { address: ALICE.address, name: 'Test Member' },
  chain: null,
};

let t: TestNode;
let portalDir: string;
before(async () => {
  portalDir = mkdtempSync(path.join(tmpdir(), 'medchain-portal-'));
  mkdirSync(path.join(portalDir, 'assets'));
  writeFileSync(path.join(portalDir, 'index.html'), '<!doctype html><title>medchain portal</title>');
  writeFileSync(path.join(portalDir, 'assets', 'app-abc123.js'), 'console.log(1)');
  t = await startTestNode({ portal: { config: PORTAL_CONFIG, staticDir: portalDir } });
  for (const [who, family] of [
    [ALICE, 'Alice'],
    [BOB, 'Bob'],
  ] as const) {
    const p = await t.app.inject({
      method: 'POST',
      url: '/fhir/Patient',
      headers: { authorization: `Bearer ${await t.token('clinician')}` },
      payload: {
        resourceType: 'Patient',
        name: [{ family }],
        identifier: [{ system: 'urn:medchain:patient', value: who.address }],
      } satisfies Patient,
    });
    await t.app.inject({
      method: 'POST',
      url: '/fhir/Observation',
      headers: { authorization: `Bearer ${await t.token('clinician')}` },
      payload: {
        resourceType: 'Observation',
        status: 'final',
        code: { text: `glucose of ${family}` },
        subject: { reference: `Patient/${p.json().id}` },
        valueQuantity: { value: 5.4, unit: 'mmol/L' },
      } satisfies Observation,
    });
  }
  await t.token('admin');
});
after(async () => {
  await t.close();
  rmSync(portalDir, { recursive: true, force: true });
});

async function signIn(who: LocalAccount): Promise<string> {
  const c = await t.app.inject({
    method: 'POST',
    url: '/auth/patient/challenge',
    payload: { address: who.address },
  });
  assert.equal(c.statusCode, 200);
  const { challenge } = c.json() as { challenge: string };
  const signature = await who.signMessage({ message: challenge });
  const r = await t.app.inject({
    method: 'POST',
    url: '/auth/patient/login',
    payload: { address: who.address, challenge, signature },
  });
  assert.equal(r.statusCode, 200, r.body);
  return r.json().access_token;
}

const get = (url: string, token?: string, headers: Record<string, string> = {}) =>
  t.app.inject({
    method: 'GET',
    url,
    headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });

describe('patient sign-in by signed challenge', () => {
  test('a signed challenge gives a token for the patient’s own records, logged before they are served', async () => {
    const token = await signIn(ALICE);
    const before = t.node.log.size;
    const r = await get(`/patients/${ALICE.address}/records`, token);
    assert.equal(r.statusCode, 200, r.body);
    const bundle = r.json() as Bundle;
    const texts = bundle.entry?.map((e) => JSON.stringify(e.resource)) ?? [];
    assert.equal(bundle.total, 2);
    assert.ok(texts.some((x) => x.includes('glucose of Alice')));
    assert.ok(!texts.some((x) => x.includes('Bob')), 'another patient’s records leaked');
    const logged = t.node.log.entries(before, t.node.log.size).map((e) => decodeEntry(e.leaf));
    assert.equal(logged.length, 2);
    for (const e of logged) {
      assert.equal(e.actor, `patient:${ALICE.address}`);
      assert.equal(e.patient, ALICE.address);
      assert.equal(e.action, 'export');
      assert.equal(e.outcome, 'permit');
    }
    assert.equal(r.headers['cache-control'], 'no-store');
  });

  test('the same token reads the patient’s disclosures but nobody else’s', async () => {
    const token = await signIn(ALICE);
    assert.equal((await get(`/patients/${ALICE.address}/disclosures`, token)).statusCode, 200);
    assert.equal((await get(`/patients/${BOB.address}/disclosures`, token)).statusCode, 403);
    const denied = await get(`/patients/${BOB.address}/records`, token);
    assert.equal(denied.statusCode, 403);
    assert.equal(denied.json().resourceType, 'OperationOutcome');
  });

  test('a patient fetches their record keys, sealed to them, and opens their own copy of a record with it', async () => {
    const carol = privateKeyToAccount(generatePrivateKey());
    const keys = generateX25519();
    const staff = { authorization: `Bearer ${await t.token('clinician')}` };
    const p = await t.app.inject({
      method: 'POST',
      url: '/fhir/Patient',
      headers: staff,
      payload: {
        resourceType: 'Patient',
        identifier: [{ system: 'urn:medchain:patient', value: carol.address }],
        extension: [
          { url: PATIENT_KEY_EXTENSION, valueBase64Binary: Buffer.from(keys.publicKey).toString('base64') },
        ],
      },
    });
    const o = await t.app.inject({
      method: 'POST',
      url: '/fhir/Observation',
      headers: staff,
      payload: {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'sodium' },
        subject: { reference: `Patient/${p.json().id}` },
      },
    });
    const token = await signIn(carol);
    const before = t.node.log.size;
    const r = await get(`/patients/${carol.address}/keys`, token);
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json() as { keys: { patientRef: string; kid: string; enc: string; sealed: string }[] };
    assert.equal(body.keys.length, 1);
    const k = body.keys[0] as (typeof body.keys)[number];
    const recordKey = await unwrapKey(
      keys.privateKey,
      { enc: Buffer.from(k.enc, 'base64'), wrapped: Buffer.from(k.sealed, 'base64') },
      patientKeyBinding(k.patientRef, k.kid),
    );
    const row = t.node.records.currentRow('Observation', o.json().id);
    const pw = t.node.db
      .prepare('SELECT wrapped FROM key_wraps WHERE id = ? AND recipient = ?')
      .get(row.id, `pk:${k.kid}`) as { wrapped: Buffer };
    const dataKey = unwrapSymmetric(recordKey, pw.wrapped, bindingBytes(bindingOf(row)));
    const plain = JSON.parse(
      Buffer.from(
        openRecord(dataKey, row.nonce as Uint8Array, row.ciphertext as Uint8Array, bindingOf(row)),
      ).toString(),
    );
    assert.equal(plain.code.text, 'sodium');
    assert.deepEqual(
      t.node.log
        .entries(before, t.node.log.size)
        .map((e) => `${decodeEntry(e.leaf).action}:${decodeEntry(e.leaf).reason}`),
      ['export:record-keys'],
      'the fetch is logged',
    );
    assert.equal((await get(`/patients/${carol.address}/keys`, await signIn(BOB))).statusCode, 403);
    assert.equal((await get(`/patients/${carol.address}/keys`, await t.token('clinician'))).statusCode, 401);
  });

  test('a patient token is not a staff token, and a staff token is not a patient token', async () => {
    const token = await signIn(ALICE);
    assert.equal((await get('/fhir/Observation', token)).statusCode, 401);
    const staff = await get(`/patients/${ALICE.address}/records`, await t.token('clinician'));
    assert.equal(staff.statusCode, 401);
  });

  test('a challenge works once; a wrong signer, no challenge and bad input are refused and logged', async () => {
    const c = await t.app.inject({
      method: 'POST',
      url: '/auth/patient/challenge',
      payload: { address: ALICE.address },
    });
    const { challenge } = c.json() as { challenge: string };
    assert.match(challenge, /^medchain patient sign-in\n/);
    assert.ok(challenge.includes(ALICE.address));
    const forged = await BOB.signMessage({ message: challenge });
    const before = t.node.log.size;
    const bad = await t.app.inject({
      method: 'POST',
      url: '/auth/patient/login',
      payload: { address: ALICE.address, challenge, signature: forged },
    });
    assert.equal(bad.statusCode, 401);
    assert.equal(bad.json().resourceType, 'OperationOutcome');
    // The failed attempt used the challenge up: the right signature no longer works either.
    const again = await t.app.inject({
      method: 'POST',
      url: '/auth/patient/login',
      payload: {
        address: ALICE.address,
        challenge,
        signature: await ALICE.signMessage({ message: challenge }),
      },
    });
    assert.equal(again.statusCode, 401);
    const logged = t.node.log.entries(before, t.node.log.size).map((e) => decodeEntry(e.leaf));
    assert.ok(logged.some((e) => e.action === 'login-failed' && e.actor === `patient:${ALICE.address}`));
    for (const payload of [
      {},
      { address: 'alice' },
      { address: ALICE.address, signature: '0x00' },
      { address: ALICE.address, challenge, signature: 'nope' },
    ]) {
      const r = await t.app.inject({ method: 'POST', url: '/auth/patient/login', payload });
      assert.equal(r.statusCode, 400, JSON.stringify(payload));
    }
    const noAddress = await t.app.inject({ method: 'POST', url: '/auth/patient/challenge', payload: {} });
    assert.equal(noAddress.statusCode, 400);
  });

  test('challenges do not cancel each other; altered, foreign or expired ones are refused', async () => {
    const ask = async (address: string) =>
      (
        await t.app.inject({ method: 'POST', url: '/auth/patient/challenge', payload: { address } })
      ).json() as { challenge: string };
    const login = async (address: string, challenge: string, signer = ALICE) =>
      (
        await t.app.inject({
          method: 'POST',
          url: '/auth/patient/login',
          payload: { address, challenge, signature: await signer.signMessage({ message: challenge }) },
        })
      ).statusCode;
    const first = (await ask(ALICE.address)).challenge;
    const second = (await ask(ALICE.address)).challenge; // e.g. asked by someone else
    assert.equal(await login(ALICE.address, first), 200);
    assert.equal(await login(ALICE.address, second), 200);
    // A later expiry written into a challenge breaks its tag.
    const altered = (await ask(ALICE.address)).challenge.replace(
      /expires: .*$/,
      'expires: 2099-01-01T00:00:00.000Z',
    );
    assert.equal(await login(ALICE.address, altered), 401);
    // Bob's challenge signed by Alice, and Alice's challenge presented for Bob.
    assert.equal(await login(BOB.address, (await ask(BOB.address)).challenge), 401);
    assert.equal(await login(BOB.address, (await ask(ALICE.address)).challenge, BOB), 401);
    // Expired: a store whose clock has moved on.
    let now = 1_000_000;
    const store = new PatientSessionStore(900, () => now);
    const c = store.challenge(BOB.address, ALICE.address).challenge;
    now += 121_000;
    assert.equal(store.takeChallenge(BOB.address, ALICE.address, c), false);
    const d = store.challenge(BOB.address, ALICE.address).challenge;
    assert.equal(store.takeChallenge(BOB.address, ALICE.address, d), true);
    assert.equal(store.takeChallenge(BOB.address, ALICE.address, d), false);
  });

  test('no token, or an unknown one, is 401 with a FHIR OperationOutcome', async () => {
    for (const token of [undefined, 'not-a-token']) {
      const r = await get(`/patients/${ALICE.address}/records`, token);
      assert.equal(r.statusCode, 401);
      assert.equal(r.json().resourceType, 'OperationOutcome');
    }
  });
});

describe('attempts and limits', () => {
  test('a refused read of a patient’s records: staff logged against that patient, no credential never', async () => {
    const clinician = await t.token('clinician');
    const before = t.node.log.size;
    const r = await get(`/patients/${BOB.address}/records`, 'not-a-token');
    assert.equal(r.statusCode, 401);
    assert.equal(t.node.log.size, before, 'an attempt without a valid credential is only counted');
    const staff = await get(`/patients/${BOB.address}/records`, clinician);
    assert.equal(staff.statusCode, 401, staff.body);
    const logged = t.node.log.entries(before, t.node.log.size).map((e) => decodeEntry(e.leaf));
    assert.deepEqual(
      logged.map((e) => [e.action, e.outcome, e.patient]),
      [['export', 'deny', BOB.address]],
    );
  });

  test('an erased Patient is skipped, not a 410 for the patient’s other records', async () => {
    const carol = privateKeyToAccount(generatePrivateKey());
    const auth = { authorization: `Bearer ${await t.token('clinician')}` };
    const ids: string[] = [];
    for (const family of ['Carol', 'Carol-2']) {
      const p = await t.app.inject({
        method: 'POST',
        url: '/fhir/Patient',
        headers: auth,
        payload: {
          resourceType: 'Patient',
          name: [{ family }],
          identifier: [{ system: 'urn:medchain:patient', value: carol.address }],
        },
      });
      ids.push(p.json().id);
    }
    const del = await t.app.inject({
      method: 'DELETE',
      url: `/fhir/Patient/${ids[0]}`,
      headers: { authorization: `Bearer ${await t.token('admin')}` },
    });
    assert.equal(del.statusCode, 200);
    const r = await get(`/patients/${carol.address}/records`, await signIn(carol));
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(
      (r.json() as Bundle).entry?.map((e) => e.resource?.id),
      [ids[1]],
    );
  });

  test('failed patient sign-ins are throttled like staff ones', async () => {
    const dave = privateKeyToAccount(generatePrivateKey());
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const c = await t.app.inject({
        method: 'POST',
        url: '/auth/patient/challenge',
        payload: { address: dave.address },
      });
      const challenge = (c.json() as { challenge: string }).challenge;
      const r = await t.app.inject({
        method: 'POST',
        url: '/auth/patient/login',
        payload: {
          address: dave.address,
          challenge,
          signature: await BOB.signMessage({ message: challenge }),
        },
        remoteAddress: '10.9.9.9',
      });
      statuses.push(r.statusCode);
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
  });
});

describe('cross-origin use by other members’ portals', () => {
  test('preflight is answered without credentials, and errors carry the CORS header', async () => {
    const pre = await t.app.inject({
      method: 'OPTIONS',
      url: `/patients/${ALICE.address}/records`,
      headers: {
        origin: 'http://127.0.0.1:5555',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    assert.equal(pre.statusCode, 204);
    assert.equal(pre.headers['access-control-allow-origin'], 'http://127.0.0.1:5555');
    assert.match(String(pre.headers['access-control-allow-headers']), /authorization/);
    const denied = await get(`/patients/${ALICE.address}/records`, undefined, {
      origin: 'http://127.0.0.1:5555',
    });
    assert.equal(denied.statusCode, 401);
    assert.equal(denied.headers['access-control-allow-origin'], 'http://127.0.0.1:5555');
  });
});

describe('portal files and config', () => {
  test('GET / serves the built portal with a content security policy; assets are cacheable', async () => {
    const r = await get('/');
    assert.equal(r.statusCode, 200);
    assert.match(r.body, /medchain portal/);
    assert.match(String(r.headers['content-security-policy']), /script-src 'self'/);
    const a = await get('/assets/app-abc123.js');
    assert.equal(a.statusCode, 200);
    assert.match(String(a.headers['cache-control']), /immutable/);
    const missing = await get('/assets/nope.js');
    assert.equal(missing.statusCode, 404);
  });

  test('GET /portal/config is public and names this member', async () => {
    const r = await get('/portal/config');
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), PORTAL_CONFIG);
  });

  test('without a built portal, GET / says how to build it', async () => {
    const bare = await startTestNode({
      roles: [],
      portal: { config: PORTAL_CONFIG, staticDir: path.join(portalDir, 'missing') },
    });
    try {
      const r = await bare.app.inject({ method: 'GET', url: '/' });
      assert.equal(r.statusCode, 503);
      assert.match(r.body, /npm run build:portal/);
    } finally {
      await bare.close();
    }
  });
});

describe('administration', () => {
  test('the outbox is for admins only', async () => {
    const r = await get('/admin/outbox', await t.token('admin'));
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { connected: false, pending: [], recent: [] });
    assert.equal((await get('/admin/outbox', await t.token('clinician'))).statusCode, 403);
    assert.equal((await get('/admin/outbox')).statusCode, 401);
  });

  test('a verification run reports progress and ends with the report, logged', async () => {
    const admin = await t.token('admin');
    const start = await t.app.inject({
      method: 'POST',
      url: '/verify/runs',
      headers: { authorization: `Bearer ${admin}` },
    });
    assert.equal(start.statusCode, 202);
    const { id } = start.json() as { id: string };
    let run: { state: string; phase: string; report?: { ok: boolean } } = start.json();
    await waitFor(
      'the verify run to finish',
      async () => {
        run = (await get(`/verify/runs/${id}`, admin)).json();
        return run.state !== 'running';
      },
      undefined,
      20,
    );
    assert.equal(run.state, 'done');
    assert.equal(run.report?.ok, true);
    const last = decodeEntry(t.node.log.entries(t.node.log.size - 1, t.node.log.size)[0]?.leaf as Uint8Array);
    assert.equal(last.action, 'verify');
    const clin = await t.app.inject({
      method: 'POST',
      url: '/verify/runs',
      headers: { authorization: `Bearer ${await t.token('clinician')}` },
    });
    assert.equal(clin.statusCode, 403);
    assert.equal((await get('/verify/runs/unknown', admin)).statusCode, 404);
  });
});
