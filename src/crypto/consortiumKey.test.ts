import assert from 'node:assert/strict';
import { test } from 'node:test';
import { privateKeyToAccount } from 'viem/accounts';
import { consortiumKeyId, newConsortiumKey, openConsortiumKey, sealConsortiumKey } from './consortiumKey.js';
import { generateX25519 } from './x25519.js';

const alice = privateKeyToAccount(`0x${'11'.repeat(32)}`).address;
const bob = privateKeyToAccount(`0x${'22'.repeat(32)}`).address;

test('a consortium key sealed to a member opens for that member only, with its id', async () => {
  const ck = newConsortiumKey();
  assert.equal(ck.id, consortiumKeyId(ck.key));
  const a = generateX25519();
  const b = generateX25519();
  const sealed = await sealConsortiumKey(a.publicKey, alice, ck);
  assert.equal(sealed.id, ck.id);
  assert.ok(!sealed.wrapped.includes(Buffer.from(ck.key).toString('hex')));
  const opened = await openConsortiumKey(a.privateKey, alice, sealed);
  assert.deepEqual(opened.key, ck.key);
  // Corrupt it and it must fail: another member's key, another address, another id, a flipped bit.
  const flip = (h: string) => `${h.slice(0, -1)}${h.endsWith('0') ? '1' : '0'}`;
  const cases: [string, () => Promise<unknown>][] = [
    ['another private key', () => openConsortiumKey(b.privateKey, alice, sealed)],
    ['another address', () => openConsortiumKey(a.privateKey, bob, sealed)],
    ['another id', () => openConsortiumKey(a.privateKey, alice, { ...sealed, id: newConsortiumKey().id })],
    [
      'flipped wrapped',
      () => openConsortiumKey(a.privateKey, alice, { ...sealed, wrapped: flip(sealed.wrapped) }),
    ],
    ['flipped enc', () => openConsortiumKey(a.privateKey, alice, { ...sealed, enc: flip(sealed.enc) })],
    [
      'short wrapped',
      () => openConsortiumKey(a.privateKey, alice, { ...sealed, wrapped: sealed.wrapped.slice(2) }),
    ],
    ['not hex', () => openConsortiumKey(a.privateKey, alice, { ...sealed, id: 'zz'.repeat(8) })],
  ];
  for (const [what, f] of cases) await assert.rejects(f, /consortium key|unwrap|not unwrap/i, what);
});
