/**
 * Provider line-commitment keys: the derivation is deterministic and bound to chain key, chain id
 * and Claims contract; the seal opens only at the insurer it names and for the provider it names;
 * the insurer takes a key only when its hash is the one the provider pinned (read from chain once),
 * with a corruption table of the sealed bytes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Address, Hex } from 'viem';
import { generateX25519 } from '../crypto/x25519.js';
import { ClaimSubmissionRefusedError, CommitmentKeyError } from './claimsError.js';
import {
  lineKeyHash,
  openLineKey,
  ProviderLineKeys,
  providerLineKey,
  type SealedLineKey,
  sealLineKey,
} from './lineKey.js';

const CHAIN_KEY = `0x${'11'.repeat(32)}` as Hex;
const CLAIMS = '0x00000000000000000000000000000000000c1a13' as Address;
const PROVIDER = '0x1000000000000000000000000000000000000001' as Address;
const OTHER_PROVIDER = '0x1000000000000000000000000000000000000002' as Address;
const INSURER = '0x2000000000000000000000000000000000000001' as Address;
const OTHER_INSURER = '0x2000000000000000000000000000000000000002' as Address;
const ZERO = `0x${'00'.repeat(32)}` as Hex;

const insurerKeys = generateX25519();
const otherInsurerKeys = generateX25519();
const K = providerLineKey(CHAIN_KEY, 31337, CLAIMS);

const refused = (p: Promise<unknown>, msg: RegExp) =>
  assert.rejects(p, (e: Error) => e instanceof ClaimSubmissionRefusedError && msg.test(e.message));

/** An insurer's ProviderLineKeys over a chain double that counts its reads. */
function insurer(pinned: Record<string, Hex>) {
  const reads = { n: 0 };
  const keys = new ProviderLineKeys(INSURER, insurerKeys.privateKey, async (p) => {
    reads.n++;
    return pinned[p.toLowerCase()] ?? ZERO;
  });
  return { keys, reads };
}

describe('provider line keys', () => {
  test('the derivation is deterministic and bound to chain key, chain id and Claims contract', () => {
    assert.equal(K.length, 32);
    assert.deepEqual(providerLineKey(CHAIN_KEY, 31337, CLAIMS), K);
    assert.deepEqual(
      providerLineKey(CHAIN_KEY, 31337, CLAIMS.toUpperCase().replace('0X', '0x') as Address),
      K,
    );
    for (const other of [
      providerLineKey(`0x${'12'.repeat(32)}`, 31337, CLAIMS),
      providerLineKey(CHAIN_KEY, 1, CLAIMS),
      providerLineKey(CHAIN_KEY, 31337, OTHER_PROVIDER),
    ])
      assert.notDeepEqual(other, K);
    // Not the chain key itself, nor its hash: a separate key.
    assert.notEqual(Buffer.from(K).toString('hex'), CHAIN_KEY.slice(2));
    assert.throws(() => providerLineKey('0x12' as Hex, 1, CLAIMS), CommitmentKeyError);
  });

  test('the pinned hash is a tagged keccak of the key, distinct per key; a bad key is refused', () => {
    assert.match(lineKeyHash(K), /^0x[0-9a-f]{64}$/);
    assert.equal(lineKeyHash(K), lineKeyHash(new Uint8Array(K)));
    assert.notEqual(lineKeyHash(K), lineKeyHash(new Uint8Array(32).fill(1)));
    assert.throws(() => lineKeyHash(new Uint8Array(31)), CommitmentKeyError);
  });

  test('a sealed key opens at its insurer for its provider, and nowhere else', () => {
    const s = sealLineKey(insurerKeys.publicKey, PROVIDER, INSURER, K);
    assert.match(s.enc, /^0x[0-9a-f]{64}$/);
    assert.match(s.sealed, /^0x[0-9a-f]{96}$/);
    assert.deepEqual(openLineKey(insurerKeys.privateKey, PROVIDER, INSURER, s), K);
    assert.throws(() => openLineKey(otherInsurerKeys.privateKey, PROVIDER, INSURER, s), /does not open/);
    assert.throws(() => openLineKey(insurerKeys.privateKey, OTHER_PROVIDER, INSURER, s), /does not open/);
    assert.throws(() => openLineKey(insurerKeys.privateKey, PROVIDER, OTHER_INSURER, s), /does not open/);
  });

  test('the insurer takes the pinned key, reads the pin once, and refuses a provider with none', async () => {
    const { keys, reads } = insurer({ [PROVIDER.toLowerCase()]: lineKeyHash(K) });
    const s = sealLineKey(insurerKeys.publicKey, PROVIDER, INSURER, K);
    assert.deepEqual(await keys.keyOf(PROVIDER, s), K);
    const fresh = sealLineKey(insurerKeys.publicKey, PROVIDER, INSURER, K);
    assert.notEqual(fresh.enc, s.enc, 'a fresh seal');
    assert.deepEqual(await keys.keyOf(PROVIDER, fresh), K);
    assert.equal(reads.n, 1, 'the pinned hash is final once set: read once');
    const none = sealLineKey(insurerKeys.publicKey, OTHER_PROVIDER, INSURER, K);
    await refused(keys.keyOf(OTHER_PROVIDER, none), /registered no line-commitment key/);
    await refused(keys.keyOf(OTHER_PROVIDER, none), /registered no line-commitment key/);
    assert.equal(reads.n, 3, 'an unset pin is read again every time');
  });

  test('a key other than the pinned one is refused (one key for every payer)', async () => {
    const { keys } = insurer({ [PROVIDER.toLowerCase()]: lineKeyHash(K) });
    const perPayer = new Uint8Array(32).fill(9);
    await refused(
      keys.keyOf(PROVIDER, sealLineKey(insurerKeys.publicKey, PROVIDER, INSURER, perPayer)),
      /not the one the provider registered on chain/,
    );
    // Another provider's pinned key, sealed as if it were this provider's: refused too.
    const { keys: k2 } = insurer({
      [PROVIDER.toLowerCase()]: lineKeyHash(K),
      [OTHER_PROVIDER.toLowerCase()]: lineKeyHash(perPayer),
    });
    await refused(
      k2.keyOf(OTHER_PROVIDER, sealLineKey(insurerKeys.publicKey, OTHER_PROVIDER, INSURER, K)),
      /not the one the provider registered/,
    );
  });

  test('corruption table: every altered seal is refused', async () => {
    const { keys } = insurer({ [PROVIDER.toLowerCase()]: lineKeyHash(K) });
    const s = sealLineKey(insurerKeys.publicKey, PROVIDER, INSURER, K);
    const flip = (h: Hex, i: number): Hex => {
      const b = Buffer.from(h.slice(2), 'hex');
      b[i] = (b[i] as number) ^ 1;
      return `0x${b.toString('hex')}`;
    };
    const cases: [string, SealedLineKey][] = [
      ['enc bit flipped', { ...s, enc: flip(s.enc, 0) }],
      ['ciphertext bit flipped', { ...s, sealed: flip(s.sealed, 3) }],
      ['tag bit flipped', { ...s, sealed: flip(s.sealed, 47) }],
      ['enc of another seal', { ...s, enc: sealLineKey(insurerKeys.publicKey, PROVIDER, INSURER, K).enc }],
      ['sealed to another insurer', sealLineKey(otherInsurerKeys.publicKey, PROVIDER, INSURER, K)],
      [
        'sealed for another insurer at this key',
        sealLineKey(insurerKeys.publicKey, PROVIDER, OTHER_INSURER, K),
      ],
      ['sealed as another provider', sealLineKey(insurerKeys.publicKey, OTHER_PROVIDER, INSURER, K)],
    ];
    for (const [name, bad] of cases)
      await assert.rejects(
        keys.keyOf(PROVIDER, bad),
        (e: Error) => e instanceof ClaimSubmissionRefusedError && /does not open/.test(e.message),
        name,
      );
    // The control: the untouched seal opens.
    assert.deepEqual(await keys.keyOf(PROVIDER, s), K);
  });
});
