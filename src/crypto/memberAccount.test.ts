import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { secp256k1 } from '@noble/curves/secp256k1';
import fc from 'fast-check';
import { bytesToHex, type Hex, parseGwei, recoverTransactionAddress } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { memberAccount } from './memberAccount.js';

const keyArb = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .filter((k) => {
    const d = BigInt(bytesToHex(k));
    return d > 0n && d < secp256k1.CURVE.n;
  })
  .map((k) => bytesToHex(k) as Hex);

const typed = (n: bigint) =>
  ({
    domain: { name: 'medchain', version: '1', chainId: 31337 },
    types: { TreeHead: [{ name: 'treeSize', type: 'uint64' }] },
    primaryType: 'TreeHead',
    message: { treeSize: n },
  }) as const;

describe('memberAccount: libsecp256k1 signatures, byte-identical to viem’s', () => {
  test('address, public key, messages, typed data and digests', async () => {
    await fc.assert(
      fc.asyncProperty(
        keyArb,
        fc.string({ maxLength: 200 }),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        async (key, message, n) => {
          const ours = memberAccount(key);
          const viem = privateKeyToAccount(key);
          assert.equal(ours.address, viem.address);
          assert.equal(ours.publicKey, viem.publicKey);
          assert.equal(await ours.signMessage({ message }), await viem.signMessage({ message }));
          assert.equal(await ours.signTypedData(typed(n)), await viem.signTypedData(typed(n)));
          const hash = bytesToHex(secp256k1.utils.randomPrivateKey()) as Hex;
          assert.equal(await ours.sign({ hash }), await viem.sign({ hash }));
        },
      ),
      { numRuns: 40 },
    );
  });

  test('transactions of each type the outbox sends, and a legacy one', async () => {
    const key = `0x${'5a'.repeat(32)}` as Hex;
    const ours = memberAccount(key);
    const viem = privateKeyToAccount(key);
    const to = '0x00000000000000000000000000000000000000aa';
    for (const tx of [
      {
        type: 'eip1559',
        chainId: 31337,
        nonce: 7,
        to,
        data: '0x1234',
        gas: 210_000n,
        maxFeePerGas: parseGwei('2'),
        maxPriorityFeePerGas: parseGwei('1'),
      },
      { type: 'legacy', chainId: 1337, nonce: 0, to, value: 1n, gas: 21_000n, gasPrice: parseGwei('1') },
      {
        type: 'eip2930',
        chainId: 31337,
        nonce: 3,
        to,
        gas: 50_000n,
        gasPrice: parseGwei('3'),
        accessList: [],
      },
    ] as const) {
      const signed = await ours.signTransaction(tx);
      assert.equal(signed, await viem.signTransaction(tx), tx.type);
      assert.equal(
        await recoverTransactionAddress({
          serializedTransaction: signed as Parameters<
            typeof recoverTransactionAddress
          >[0]['serializedTransaction'],
        }),
        ours.address,
      );
    }
  });
});
