import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { reencodings, resign } from '../../test/support/signatures.js';
import {
  MEMBER_AUTH_WINDOW_MS,
  memberAuthHeader,
  memberAuthMessage,
  verifyMemberAuth,
} from './memberAuth.js';
import { ReplayGuard } from './replayGuard.js';

const key = generatePrivateKey();
const caller = privateKeyToAccount(key);
const self = privateKeyToAccount(generatePrivateKey()).address;
const T = 1_750_000_000_000;
const withSignature = (header: string, sig: string) =>
  header.replace(/signature=0x[0-9a-fA-F]*/, `signature=${sig}`);
const signatureOf = (header: string) => /signature=(0x[0-9a-fA-F]+)/.exec(header)?.[1] as Hex;

describe('member request signatures', () => {
  test('a header is good once, for exactly its request, within the window', async () => {
    const header = await memberAuthHeader(caller, self, 'POST', '/federation/search?x=1', '{"a":1}', T);
    const check = (guard: ReplayGuard, h: string, over: Partial<Record<string, string | number>> = {}) =>
      verifyMemberAuth(
        h,
        (over.self as Hex) ?? self,
        (over.method as string) ?? 'POST',
        (over.target as string) ?? '/federation/search?x=1',
        (over.body as string) ?? '{"a":1}',
        guard,
        (over.now as number) ?? T + 1000,
      );
    const cases: [string, Partial<Record<string, string | number>>][] = [
      ['another method', { method: 'GET' }],
      ['another path', { target: '/federation/replica/search?x=1' }],
      ['another query', { target: '/federation/search?x=2' }],
      ['another body', { body: '{"a":2}' }],
      ['another member', { self: caller.address }],
      ['too old', { now: T + MEMBER_AUTH_WINDOW_MS + 1 }],
      ['too far ahead', { now: T - MEMBER_AUTH_WINDOW_MS - 1 }],
    ];
    for (const [name, over] of cases)
      assert.equal(await check(new ReplayGuard(() => T), header, over), undefined, name);
    const guard = new ReplayGuard(() => T);
    assert.equal(await check(guard, header), caller.address);
    assert.equal(await check(guard, header), undefined, 'replayed');
  });

  test('non-canonical encodings are refused, and single use is per message, not per signature', async () => {
    const header = await memberAuthHeader(caller, self, 'GET', '/log/head', '', T);
    const verify = (h: string, guard: ReplayGuard) =>
      verifyMemberAuth(h, self, 'GET', '/log/head', '', guard, T);
    for (const [name, twin] of Object.entries(reencodings(signatureOf(header)))) {
      assert.equal(await verify(withSignature(header, twin), new ReplayGuard(() => T)), undefined, name);
    }
    const guard = new ReplayGuard(() => T);
    assert.equal(await verify(header, guard), caller.address);
    // A second, valid and canonical signature of the same message (another nonce) is still a replay.
    const again = resign(key, memberAuthMessage(caller.address, self, 'GET', '/log/head', '', T));
    assert.notEqual(again.toLowerCase(), signatureOf(header).toLowerCase());
    assert.equal(await verify(withSignature(header, again), new ReplayGuard(() => T)), caller.address);
    assert.equal(
      await verify(withSignature(header, again), guard),
      undefined,
      'same message, other signature',
    );
  });

  test('malformed headers prove nothing', async () => {
    const good = await memberAuthHeader(caller, self, 'GET', '/log/head', '', T);
    const bad = [
      undefined,
      '',
      'Bearer abc',
      good.replace('MedchainMember', 'MedchainPatient'),
      good.replace(/address=0x[0-9a-fA-F]+/, 'address=0x1234'),
      good.replace(/timestamp=\d+/, 'timestamp=soon'),
      good.replace(/,signature=0x[0-9a-fA-F]+/, ''),
      `${good}${'0'.repeat(400)}`,
    ];
    for (const h of bad) {
      assert.equal(
        await verifyMemberAuth(h, self, 'GET', '/log/head', '', new ReplayGuard(() => T), T),
        undefined,
        h,
      );
    }
  });
});

describe('ReplayGuard', () => {
  test('remembers a message until it expires; memory stays bounded', () => {
    let now = 0;
    const guard = new ReplayGuard(() => now, 3);
    assert.equal(guard.firstUse('m', 100), true);
    assert.equal(guard.firstUse('m', 100), false);
    now = 101;
    assert.equal(
      guard.firstUse('m', 200),
      true,
      'expired entries may be used again (the time check refuses them)',
    );
    for (const m of ['a', 'b', 'c', 'd']) assert.equal(guard.firstUse(m, 1000), true);
    assert.equal(guard.firstUse('d', 1000), false);
  });
});
