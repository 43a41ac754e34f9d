import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { secp256k1 } from '@noble/curves/secp256k1';
import { numberToHex, verifyMessage } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { reencodings, splitSignature } from '../../test/support/signatures.js';
import { isCanonicalSignature } from './canonicalSignature.js';

const key = generatePrivateKey();
const account = privateKeyToAccount(key);
const word = (x: bigint) => numberToHex(x, { size: 32 }).slice(2);
const HALF_N = secp256k1.CURVE.n >> 1n;

describe('canonical signatures', () => {
  test('what viem signs is canonical; every re-encoding of it is refused', async () => {
    const sig = await account.signMessage({ message: 'hello' });
    assert.equal(isCanonicalSignature(sig), true);
    assert.equal(isCanonicalSignature(sig.toUpperCase().replace('0X', '0x')), true, 'hex case is free');
    const twins = reencodings(sig);
    for (const [name, twin] of Object.entries(twins)) {
      assert.equal(isCanonicalSignature(twin), false, name);
    }
    // viem alone accepts these twins (same signer recovered): the canonical check is what refuses them.
    for (const twin of [twins.highS, twins.v0or1]) {
      assert.equal(
        await verifyMessage({ address: account.address, message: 'hello', signature: twin }),
        true,
      );
    }
  });

  test('bad shapes and out-of-range values', async () => {
    const { r, v } = splitSignature(await account.signMessage({ message: 'x' }));
    const vv = v.toString(16);
    const cases: [string, string, boolean][] = [
      ['s = n/2 (the largest low s)', `0x${word(r)}${word(HALF_N)}${vv}`, true],
      ['s = n/2 + 1', `0x${word(r)}${word(HALF_N + 1n)}${vv}`, false],
      ['s = 0', `0x${word(r)}${word(0n)}${vv}`, false],
      ['r = 0', `0x${word(0n)}${word(1n)}${vv}`, false],
      ['r = n', `0x${word(secp256k1.CURVE.n)}${word(1n)}${vv}`, false],
      ['v = 29', `0x${word(r)}${word(1n)}1d`, false],
      ['v = 26', `0x${word(r)}${word(1n)}1a`, false],
      ['66 bytes', `0x${word(r)}${word(1n)}${vv}00`, false],
      ['64 bytes', `0x${word(r)}${word(1n)}`, false],
      ['no 0x', `${word(r)}${word(1n)}${vv}`, false],
      ['not hex', `0x${word(r)}${word(1n)}zz`, false],
      ['empty', '', false],
    ];
    for (const [name, sig, ok] of cases) assert.equal(isCanonicalSignature(sig), ok, name);
  });
});
