import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { secp256k1 } from '@noble/curves/secp256k1';
import fc from 'fast-check';
import {
  bytesToHex,
  type Hex,
  hashMessage,
  hashTypedData,
  hexToBytes,
  recoverAddress,
  recoverMessageAddress,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { isMessageSignedBy, isSignedBy, signerOfDigest } from './signatureSigner.js';

const keyArb = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .filter((k) => {
    const d = BigInt(bytesToHex(k));
    return d > 0n && d < secp256k1.CURVE.n;
  })
  .map((k) => bytesToHex(k));

/** The high-s twin of a canonical signature: same signer, the other encoding. */
function highS(signature: Hex): Hex {
  const b = hexToBytes(signature);
  const s = BigInt(bytesToHex(b.subarray(32, 64)));
  const twin = hexToBytes(`0x${(secp256k1.CURVE.n - s).toString(16).padStart(64, '0')}`);
  b.set(twin, 32);
  b[64] = (b[64] as number) === 27 ? 28 : 27;
  return bytesToHex(b);
}

describe('signatureSigner: libsecp256k1 against viem', () => {
  test('a message viem signs is signed by its account, and recovers to what viem recovers', async () => {
    await fc.assert(
      fc.asyncProperty(keyArb, fc.string({ maxLength: 300 }), async (key, message) => {
        const account = privateKeyToAccount(key);
        const signature = await account.signMessage({ message });
        assert.equal(isMessageSignedBy(account.address, message, signature), true);
        assert.equal(
          signerOfDigest(hexToBytes(hashMessage(message)), signature),
          (await recoverMessageAddress({ message, signature })).toLowerCase(),
        );
        assert.equal(isMessageSignedBy(account.address, `${message}.`, signature), false);
      }),
      { numRuns: 60 },
    );
  });

  test('EIP-712 typed data: the digest viem hashes is signed by the account that signed it', async () => {
    const account = privateKeyToAccount(`0x${'11'.repeat(32)}`);
    const typed = {
      domain: { name: 'medchain', version: '1', chainId: 31337 },
      types: { TreeHead: [{ name: 'treeSize', type: 'uint64' }] },
      primaryType: 'TreeHead',
      message: { treeSize: 7n },
    } as const;
    const signature = await account.signTypedData(typed);
    assert.equal(isSignedBy(account.address, hashTypedData(typed), signature), true);
    assert.equal(
      signerOfDigest(hexToBytes(hashTypedData(typed)), signature),
      (await recoverAddress({ hash: hashTypedData(typed), signature })).toLowerCase(),
    );
  });

  test('any change to the signature, or another signer, is refused', async () => {
    const account = privateKeyToAccount(`0x${'22'.repeat(32)}`);
    const other = privateKeyToAccount(`0x${'33'.repeat(32)}`);
    const signature = await account.signMessage({ message: 'hello' });
    assert.equal(isMessageSignedBy(other.address, 'hello', signature), false);
    await fc.assert(
      fc.property(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const b = hexToBytes(signature);
        b[at] = (b[at] as number) ^ flip;
        assert.equal(isMessageSignedBy(account.address, 'hello', bytesToHex(b)), false);
      }),
      { numRuns: 200 },
    );
  });

  test('other encodings of a valid signature are refused (viem accepts them)', async () => {
    const account = privateKeyToAccount(`0x${'44'.repeat(32)}`);
    const signature = await account.signMessage({ message: 'hello' });
    const twin = highS(signature);
    assert.equal(await recoverMessageAddress({ message: 'hello', signature: twin }), account.address);
    assert.equal(isMessageSignedBy(account.address, 'hello', twin), false);
    const v01 = `${signature.slice(0, 130)}${signature.endsWith('1b') ? '00' : '01'}`;
    assert.equal(isMessageSignedBy(account.address, 'hello', v01), false);
    assert.equal(isMessageSignedBy(account.address, 'hello', signature.slice(0, 130)), false);
    assert.equal(signerOfDigest(new Uint8Array(31), signature), undefined);
  });
});
