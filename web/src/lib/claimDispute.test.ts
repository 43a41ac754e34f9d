/**
 * The portal signs a claim dispute with the node's own EIP-712 module (src/chain/disputeSignature.ts):
 * it builds from the portal's chain config, and the signature recovers to the patient.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recoverTypedDataAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { disputeTypedData } from '../../../src/chain/disputeSignature.js';

test('dispute typed data from a portal chain config signs and recovers to the patient', async () => {
  const patient = privateKeyToAccount(generatePrivateKey());
  const config = {
    chainId: 31337,
    contracts: { Claims: '0x5FbDB2315678afecb367f032d93F642f64180aa3' as const },
  };
  const message = { claimId: `0x${'ab'.repeat(32)}` as const, round: 0, deadline: 1_900_000_000n };
  const typed = disputeTypedData(config, message);
  assert.deepEqual(typed.domain, {
    name: 'medchain Claims',
    version: '1',
    chainId: 31337,
    verifyingContract: config.contracts.Claims,
  });
  const signature = await patient.signTypedData(typed);
  assert.equal(await recoverTypedDataAddress({ ...typed, signature }), patient.address);
  assert.throws(() => disputeTypedData({ chainId: 1, contracts: {} }, message), /no Claims contract/);
});
