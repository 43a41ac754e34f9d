import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { reencodings, resign } from '../../test/support/signatures.js';
import {
  PATIENT_AUTH_FUTURE_MS,
  PATIENT_AUTH_WINDOW_MS,
  patientAuthHeader,
  patientAuthMessage,
  verifyPatientAuth,
} from './patientAuth.js';
import { ReplayGuard } from './replayGuard.js';

const key = generatePrivateKey();
const patient = privateKeyToAccount(key);
const member = privateKeyToAccount(generatePrivateKey()).address;
const T = 1_750_000_000_000;
const URL = `/patients/${patient.address}/disclosures?since=3`;
const signatureOf = (header: string) => /signature=(0x[0-9a-fA-F]+)/.exec(header)?.[1] as Hex;
const withSignature = (header: string, sig: string) =>
  header.replace(/signature=0x[0-9a-fA-F]*/, `signature=${sig}`);

interface Request {
  member: Hex;
  method: string;
  target: string;
  body: string;
  now: number;
}
const request: Request = { member, method: 'POST', target: URL, body: '{"x":1}', now: T };
const verify = (header: string, over: Partial<Request> = {}, guard = new ReplayGuard(() => T)) => {
  const r = { ...request, ...over };
  return verifyPatientAuth(header, r.member, r.method, r.target, r.body, guard, r.now);
};

describe('patient request signatures', () => {
  test('the header is bound to the member, method, path with query, body and time', async () => {
    const header = await patientAuthHeader(patient, member, 'POST', URL, '{"x":1}', T);
    assert.equal(await verify(header), patient.address);
    const other = privateKeyToAccount(generatePrivateKey());
    const cases: [string, Partial<Request>][] = [
      ['another member', { member: other.address }],
      ['another method', { method: 'GET' }],
      ['another path', { target: `/patients/${patient.address}/records?since=3` }],
      ['another query', { target: `/patients/${patient.address}/disclosures?since=4` }],
      ['no query', { target: `/patients/${patient.address}/disclosures` }],
      ['another body', { body: '{"x":2}' }],
      ['no body', { body: '' }],
    ];
    for (const [name, over] of cases) assert.equal(await verify(header, over), undefined, name);
    const claimsOther = header.replace(patient.address, other.address);
    assert.equal(await verify(claimsOther), undefined, 'a signature for another address');
  });

  test('timestamps: at most 5 minutes old, at most 30 seconds ahead', async () => {
    const at = async (offsetMs: number) =>
      verify(await patientAuthHeader(patient, member, 'POST', URL, '{"x":1}', T + offsetMs));
    const cases: [string, number, boolean][] = [
      ['now', 0, true],
      ['29 s ahead', 29_000, true],
      ['30 s ahead', PATIENT_AUTH_FUTURE_MS, true],
      ['31 s ahead', 31_000, false],
      ['an hour ahead', 3_600_000, false],
      ['4 min 59 s old', -(PATIENT_AUTH_WINDOW_MS - 1000), true],
      ['5 min old', -PATIENT_AUTH_WINDOW_MS, true],
      ['5 min 1 s old', -(PATIENT_AUTH_WINDOW_MS + 1000), false],
    ];
    for (const [name, offset, ok] of cases) {
      assert.equal(await at(offset), ok ? patient.address : undefined, name);
    }
  });

  test('single use, keyed on the signed message; non-canonical encodings refused', async () => {
    const header = await patientAuthHeader(patient, member, 'POST', URL, '{"x":1}', T);
    for (const [name, twin] of Object.entries(reencodings(signatureOf(header)))) {
      assert.equal(await verify(withSignature(header, twin)), undefined, name);
    }
    const guard = new ReplayGuard(() => T);
    assert.equal(await verify(header, {}, guard), patient.address);
    assert.equal(await verify(header, {}, guard), undefined, 'used');
    // Even a second genuine signature of the same message (another nonce) is a replay.
    const again = resign(key, patientAuthMessage(member, patient.address, 'POST', URL, '{"x":1}', T));
    assert.equal(await verify(withSignature(header, again)), patient.address, 'valid on its own');
    assert.equal(await verify(withSignature(header, again), {}, guard), undefined, 'same message');
    // The next request is a new message.
    const next = await patientAuthHeader(patient, member, 'POST', URL, '{"x":1}', T + 1);
    assert.equal(await verify(next, {}, guard), patient.address);
  });

  test('malformed headers prove nothing', async () => {
    const good = await patientAuthHeader(patient, member, 'POST', URL, '{"x":1}', T);
    const bad = [
      undefined,
      '',
      `Bearer ${good}`,
      good.replace('MedchainPatient', 'MedchainMember'),
      good.replace(/address=0x[0-9a-fA-F]+/, 'address=nobody'),
      good.replace(/timestamp=\d+/, 'timestamp=-1'),
      good.replace(/signature=0x[0-9a-fA-F]+/, 'signature=0x'),
      good.replace(/,timestamp=\d+/, ''),
    ];
    for (const h of bad) assert.equal(await verify(h as string), undefined, String(h));
  });
});
