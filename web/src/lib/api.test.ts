import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ApiError, call, nextStep } from './api.js';

let server: Server;
let base: string;
before(async () => {
  server = createServer((req, res) => {
    const status = Number(req.url?.slice(1)) || 200;
    res.writeHead(status, { 'content-type': 'application/fhir+json' });
    res.end(
      status === 200
        ? JSON.stringify({ ok: true, auth: req.headers.authorization ?? null })
        : JSON.stringify({
            resourceType: 'OperationOutcome',
            issue: [{ severity: 'error', code: 'x', details: { text: `said ${status}` } }],
          }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

async function failure(path: string, b = base): Promise<ApiError> {
  try {
    await call(b, path, { who: 'Central Lab' });
  } catch (err) {
    assert.ok(err instanceof ApiError);
    return err;
  }
  assert.fail('the call did not fail');
}

describe('portal calls to member nodes', () => {
  test('a success returns the body; the token goes in the Authorization header', async () => {
    assert.deepEqual(await call(base, '/', { token: 't0k' }), { ok: true, auth: 'Bearer t0k' });
  });

  test('each failure has a kind, the node’s own words, and a next step', async () => {
    const cases: [number, string, RegExp][] = [
      [401, 'expired', /Sign in again/],
      [403, 'denied', /Ask the patient for consent/],
      [429, 'throttled', /Wait a minute/],
      [503, 'offline', /member is running/],
      [400, 'invalid', /Correct/],
      [500, 'server', /administrator/],
    ];
    for (const [status, kind, next] of cases) {
      const e = await failure(`/${status}`);
      assert.equal(e.kind, kind, String(status));
      assert.equal(e.status, status);
      assert.equal(e.message, `Central Lab: said ${status}`);
      assert.match(nextStep(e), next);
    }
  });

  test('a member that does not answer is "offline", named', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const e = await failure('/', `http://127.0.0.1:${port}`);
    assert.equal(e.kind, 'offline');
    assert.match(e.message, /^Central Lab cannot be reached/);
  });
});
