import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { CryptoError } from './cryptoError.js';
import { type MacDomain, pairwiseMacKey } from './pairwiseKey.js';
import { generateX25519 } from './x25519.js';

const member = () => ({ address: privateKeyToAccount(generatePrivateKey()).address, ...generateX25519() });
const a = member();
const b = member();
const c = member();
const domain: MacDomain = { chainId: 1337, registry: privateKeyToAccount(generatePrivateKey()).address };
const hex = (k: Uint8Array) => Buffer.from(k).toString('hex');
/** K for requests from `from` to `to`, as `from` computes it and as `to` does. */
const both = (from: typeof a, to: typeof a, d = domain) => ({
  atSender: pairwiseMacKey(from, { address: to.address, publicKey: to.publicKey }, 'to-peer', d),
  atReceiver: pairwiseMacKey(to, { address: from.address, publicKey: from.publicKey }, 'from-peer', d),
});

describe('pairwise MAC keys', () => {
  test('both ends derive the same 32-byte key for one direction', () => {
    const k = both(a, b);
    assert.equal(k.atSender.length, 32);
    assert.equal(hex(k.atSender), hex(k.atReceiver));
  });

  test('every binding changes the key: direction, members, keys, chain, Registry', () => {
    const base = hex(both(a, b).atSender);
    const other: [string, Uint8Array][] = [
      ['the other direction', both(b, a).atSender],
      ['another target', both(a, c).atSender],
      ['another sender', both(c, b).atSender],
      ['another chain id', both(a, b, { ...domain, chainId: 1338 }).atSender],
      ['another Registry', both(a, b, { ...domain, registry: c.address }).atSender],
      ['the same X25519 keys under another address', both({ ...a, address: c.address }, b).atSender],
      ['the target with a new key', both(a, { ...b, ...generateX25519() }).atSender],
    ];
    for (const [name, k] of other) assert.notEqual(hex(k), base, name);
  });

  test('a low-order or malformed peer key is refused (anyone could compute its secret)', () => {
    const lowOrder: [string, Uint8Array][] = [
      ['zero', new Uint8Array(32)],
      ['one', Uint8Array.from([1, ...new Array(31).fill(0)])],
      // u = p - 1 (order 2 on the twist), little-endian
      ['p - 1', Uint8Array.from([0xec, ...new Array(30).fill(0xff), 0x7f])],
    ];
    for (const [name, publicKey] of lowOrder)
      assert.throws(
        () => pairwiseMacKey(a, { address: b.address, publicKey }, 'to-peer', domain),
        (e: unknown) => e instanceof CryptoError && e.code === 'bad-public-key',
        name,
      );
    for (const [name, publicKey] of [
      ['31 bytes', new Uint8Array(31).fill(9)],
      ['33 bytes', new Uint8Array(33).fill(9)],
    ] as const)
      assert.throws(
        () => pairwiseMacKey(a, { address: b.address, publicKey }, 'to-peer', domain),
        CryptoError,
        name,
      );
    assert.throws(() => pairwiseMacKey(a, b, 'to-peer', { ...domain, chainId: 0 }), CryptoError);
  });
});
