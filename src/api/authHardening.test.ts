/**
 * Authentication hardening over HTTP (Fastify inject): sign-in back-off, unauthenticated floods
 * counted instead of logged, the open consent relay throttled, patient headers bound to their
 * request and single use, canonical signatures at patient sign-in, and the admin view of counts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { reencodings } from '../../test/support/signatures.js';
import { passwordOf, startTestNode, type TestNode } from '../../test/support/testNode.js';
import { LoginThrottle } from '../access/loginThrottle.js';
import { patientAuthHeader } from '../access/patientAuth.js';
import { RateLimiter } from '../access/rateLimiter.js';
import { UnauthenticatedCounter } from '../access/unauthenticatedCounter.js';
import { decodeEntry, type LogEntry } from '../log/entry.js';

const entriesSince = (t: TestNode, from: number): LogEntry[] =>
  t.node.log.entries(from, t.node.log.size).map((e) => decodeEntry(e.leaf));

const login = (t: TestNode, username: string, password: string, remoteAddress: string) =>
  t.app.inject({ method: 'POST', url: '/auth/login', payload: { username, password }, remoteAddress });

describe('unauthenticated requests are counted per client, not logged one by one', () => {
  test('a flood of 200: 401s, then 429s before any signature check; the log grows by one summary, nothing under the patient', async () => {
    const counter = new UnauthenticatedCounter({ limit: 20, summaryIntervalMs: 24 * 3_600_000 });
    const t = await startTestNode({ unauthenticated: counter });
    try {
      const patient = privateKeyToAccount(generatePrivateKey());
      const admin = await t.token('admin');
      const clinician = await t.token('clinician');
      const before = t.node.log.size;
      const flood = '10.66.0.1';
      const disclosures = `/patients/${patient.address}/disclosures`;
      const stranger = privateKeyToAccount(generatePrivateKey());
      const kinds = [
        async () => ({ url: '/fhir/Patient', headers: {} }),
        async () => ({ url: '/fhir/Patient', headers: { authorization: 'Bearer made-up' } }),
        async () => ({
          url: `/patients/${patient.address}/records`,
          headers: { authorization: 'Bearer nope' },
        }),
        // A well-formed header signed by someone else: costs the node a signature check each time.
        async () => ({
          url: disclosures,
          headers: {
            authorization: (
              await patientAuthHeader(stranger, t.node.identity.address, 'GET', disclosures)
            ).replace(stranger.address, patient.address),
          },
        }),
      ];
      const statuses: number[] = [];
      for (let i = 0; i < 200; i++) {
        const { url, headers } = await (
          kinds[i % kinds.length] as () => Promise<{
            url: string;
            headers: Record<string, string>;
          }>
        )();
        const r = await t.app.inject({ method: 'GET', url, headers, remoteAddress: flood });
        statuses.push(r.statusCode);
        if (r.statusCode === 429)
          assert.ok(Number(r.headers['retry-after']) > 0, 'Retry-After says the wait');
      }
      assert.deepEqual(statuses.slice(0, 20), Array(20).fill(401));
      assert.deepEqual(statuses.slice(20), Array(180).fill(429));
      assert.equal(t.node.log.size, before, 'nothing was logged per attempt');

      // Over the limit, even a valid patient signature from that client is not looked at...
      const valid = async () => ({
        authorization: await patientAuthHeader(patient, t.node.identity.address, 'GET', disclosures),
      });
      const refused = await t.app.inject({
        method: 'GET',
        url: disclosures,
        headers: await valid(),
        remoteAddress: flood,
      });
      assert.equal(refused.statusCode, 429);
      // ...while other clients, and valid tokens from the same client, are served.
      const elsewhere = await t.app.inject({
        method: 'GET',
        url: disclosures,
        headers: await valid(),
        remoteAddress: '10.66.0.2',
      });
      assert.equal(elsewhere.statusCode, 200, elsewhere.body);
      const staff = await t.app.inject({
        method: 'GET',
        url: '/fhir/Patient',
        headers: { authorization: `Bearer ${clinician}` },
        remoteAddress: flood,
      });
      assert.equal(staff.statusCode, 200, staff.body);

      // The admin view shows the counts.
      const view = await t.app.inject({
        method: 'GET',
        url: '/admin/auth-failures',
        headers: { authorization: `Bearer ${admin}` },
      });
      assert.equal(view.statusCode, 200, view.body);
      const counts = view.json();
      assert.deepEqual(counts.total, { failures: 20, refused: 181 });
      assert.equal(counts.clients[0].client, flood);
      assert.equal(counts.clients[0].failures, 20);
      assert.ok(counts.clients[0].retryAfter > 0);

      const served = entriesSince(t, before);
      await t.app.close(); // writes the pending summary
      const logged = entriesSince(t, before).slice(served.length);
      assert.deepEqual(
        logged.map((e) => ({
          actor: e.actor,
          action: e.action,
          outcome: e.outcome,
          reason: e.reason,
          patient: e.patient,
        })),
        [
          {
            actor: 'anonymous',
            action: 'login-failed',
            outcome: 'deny',
            reason: 'unauthenticated',
            patient: null,
          },
        ],
      );
      const underPatient = entriesSince(t, before).filter((e) => e.patient === patient.address);
      assert.deepEqual(
        underPatient.map((e) => `${e.actor}:${e.action}:${e.outcome}`),
        [`patient:${patient.address}:audit-read:permit`],
        "only the patient's own read is in their list",
      );
    } finally {
      await t.close();
    }
  });

  test('GET /admin/auth-failures is for admins only', async () => {
    const t = await startTestNode();
    try {
      const as = async (role?: 'admin' | 'clinician') =>
        t.app.inject({
          method: 'GET',
          url: '/admin/auth-failures',
          headers: role ? { authorization: `Bearer ${await t.token(role)}` } : {},
        });
      assert.equal((await as('clinician')).statusCode, 403);
      assert.equal((await as()).statusCode, 401);
      const ok = await as('admin');
      assert.equal(ok.statusCode, 200);
      assert.equal(ok.json().total.failures, 1, 'the one without a token');
    } finally {
      await t.close();
    }
  });

  test('a refused attempt by a signed-in user is still logged, one entry each', async () => {
    const t = await startTestNode();
    try {
      const billing = await t.token('billing');
      const before = t.node.log.size;
      for (let i = 0; i < 3; i++) {
        const r = await t.app.inject({
          method: 'GET',
          url: '/admin/outbox',
          headers: { authorization: `Bearer ${billing}` },
        });
        assert.equal(r.statusCode, 403);
      }
      assert.deepEqual(
        entriesSince(t, before).map((e) => `${e.action}:${e.outcome}:${e.reason}`),
        Array(3).fill('audit-read:deny:role'),
      );
    } finally {
      await t.close();
    }
  });
});

describe('the open consent relay is throttled per client', () => {
  test('30 a minute per client address, bad bodies included; then 429 with Retry-After', async () => {
    const t = await startTestNode({ relayLimit: new RateLimiter(30, 60_000) });
    try {
      const relay = (remoteAddress: string, payload: string) =>
        t.app.inject({
          method: 'POST',
          url: '/consent/relay',
          headers: { 'content-type': 'application/json' },
          payload,
          remoteAddress,
        });
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++)
        statuses.push((await relay('10.77.0.1', i % 2 ? '{not json' : '{}')).statusCode);
      assert.ok(
        statuses.every((s) => s === 400 || s === 503),
        `bad bodies are refused as such: ${statuses}`,
      );
      const over = await relay('10.77.0.1', '{}');
      assert.equal(over.statusCode, 429);
      assert.ok(Number(over.headers['retry-after']) > 0);
      assert.notEqual((await relay('10.77.0.2', '{}')).statusCode, 429, 'another client is not affected');
    } finally {
      await t.close();
    }
  });
});

describe('sign-in throttling over HTTP', () => {
  test('growing waits with Retry-After; the first refusal is logged, repeats are not', async () => {
    const clock = { t: Date.now() };
    const t = await startTestNode({ throttle: new LoginThrottle({ now: () => clock.t }) });
    try {
      const before = t.node.log.size;
      const at = '10.9.9.9';
      for (let i = 0; i < 5; i++)
        assert.equal((await login(t, 'nurse', 'wrong password', at)).statusCode, 401);
      const waits: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await login(t, 'nurse', 'wrong password', at);
        assert.equal(r.statusCode, 429);
        waits.push(String(r.headers['retry-after']));
        for (let k = 0; k < 5; k++)
          assert.equal((await login(t, 'nurse', 'wrong password', at)).statusCode, 429);
        clock.t += Number(r.headers['retry-after']) * 1000;
        assert.equal(
          (await login(t, 'nurse', 'wrong password', at)).statusCode,
          401,
          'one more try after the wait',
        );
      }
      assert.deepEqual(waits, ['1', '2', '4']);
      const reasons = entriesSince(t, before).map((e) => e.reason);
      assert.deepEqual(reasons, [
        ...Array(5).fill('bad-credentials'),
        ...Array(3).fill(['throttled', 'bad-credentials']).flat(),
      ]);
      // Even the right password waits its turn.
      assert.equal((await login(t, 'nurse', passwordOf('nurse'), at)).statusCode, 429);
      clock.t += 8000;
      assert.equal((await login(t, 'nurse', passwordOf('nurse'), at)).statusCode, 200);
    } finally {
      await t.close();
    }
  });

  test('strangers cannot lock an account out at its own address; a success clears only its own key', async () => {
    // A small account-wide allowance keeps the number of (slow) password checks down.
    const t = await startTestNode({ throttle: new LoginThrottle({ account: { free: 10 } }) });
    try {
      const home = '192.168.7.7';
      assert.equal((await login(t, 'nurse', passwordOf('nurse'), home)).statusCode, 200);
      for (let s = 0; s < 4; s++) {
        const statuses: number[] = [];
        for (let i = 0; i < 6; i++)
          statuses.push((await login(t, 'nurse', 'guess', `10.3.${s}.1`)).statusCode);
        assert.equal(statuses.at(-1), 429, `stranger ${s}: ${statuses}`);
      }
      assert.equal(
        (await login(t, 'nurse', 'guess', '10.3.9.1')).statusCode,
        429,
        'the account-wide allowance slows new addresses',
      );
      assert.equal(
        (await login(t, 'nurse', passwordOf('nurse'), home)).statusCode,
        200,
        'the owner is not locked out',
      );

      // An attacker cannot reset its count on the nurse by signing in to its own account.
      const attacker = '10.4.4.4';
      for (let i = 0; i < 4; i++)
        assert.equal((await login(t, 'clinician', 'guess', attacker)).statusCode, 401);
      assert.equal((await login(t, 'billing', passwordOf('billing'), attacker)).statusCode, 200);
      assert.equal((await login(t, 'clinician', 'guess', attacker)).statusCode, 401);
      assert.equal((await login(t, 'clinician', 'guess', attacker)).statusCode, 429);
    } finally {
      await t.close();
    }
  });
});

describe('patient requests over HTTP', () => {
  test('a patient header works once, for its own request only', async () => {
    const t = await startTestNode();
    try {
      const patient = privateKeyToAccount(generatePrivateKey());
      const member = t.node.identity.address;
      const disclosures = `/patients/${patient.address}/disclosures`;
      const records = `/patients/${patient.address}/records`;
      const get = (url: string, authorization: string) =>
        t.app.inject({ method: 'GET', url, headers: { authorization } });
      const header = await patientAuthHeader(patient, member, 'GET', disclosures);
      assert.equal((await get(records, header)).statusCode, 401, 'signed for another path');
      assert.equal((await get(disclosures, header)).statusCode, 200);
      assert.equal((await get(disclosures, header)).statusCode, 401, 'used');
      const ahead = await patientAuthHeader(patient, member, 'GET', disclosures, '', Date.now() + 120_000);
      assert.equal((await get(disclosures, ahead)).statusCode, 401, 'from the future');
    } finally {
      await t.close();
    }
  });

  test('patient sign-in refuses non-canonical signatures', async () => {
    const t = await startTestNode();
    try {
      const patient = privateKeyToAccount(generatePrivateKey());
      const challenge = async () =>
        (
          await t.app.inject({
            method: 'POST',
            url: '/auth/patient/challenge',
            payload: { address: patient.address },
          })
        ).json().challenge as string;
      const signIn = (c: string, signature: string) =>
        t.app.inject({
          method: 'POST',
          url: '/auth/patient/login',
          payload: { address: patient.address, challenge: c, signature },
        });
      const c = await challenge();
      const sig = (await patient.signMessage({ message: c })) as Hex;
      for (const [name, twin] of Object.entries(reencodings(sig))) {
        assert.equal((await signIn(c, twin)).statusCode, 400, name);
      }
      assert.equal((await signIn(c, sig)).statusCode, 200);
    } finally {
      await t.close();
    }
  });
});
