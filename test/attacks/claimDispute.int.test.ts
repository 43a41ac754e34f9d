/**
 * 21. Claim disputes (issue 13) against a real member node's open `POST /claims/dispute` on the
 * embedded chain (test/support/disputes.ts, not the four-member network: a dispute needs only a
 * relay and the Claims contract). A dispute signature is good once, and only the patient whose
 * salted commitment the claim carries can make one. Each attempt must be refused with 409, leave
 * the claim's state as it was, and put nothing in the relay's outbox.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { random32 } from '../../src/chain/claimBatch.js';
import { signDispute } from '../../src/chain/disputeSignature.js';
import { type DisputeFixture, inAnHour, outcomeText, startDisputeFixture } from '../support/disputes.js';

let f: DisputeFixture;
before(async () => {
  f = await startDisputeFixture();
});
after(() => f?.close());

const account = () => privateKeyToAccount(generatePrivateKey());
type Account = ReturnType<typeof account>;

async function body(by: Account, claimId: Hex, salt: Hex, round = 0, deadline = inAnHour()) {
  return {
    claimId,
    round,
    deadline: deadline.toString(),
    salt,
    signature: await signDispute(by, f.domain, { claimId, round, deadline }),
  };
}

/** Relay `b`; it must be refused (409, `text`), change nothing on chain, and queue nothing. */
async function refused(b: Record<string, unknown>, text: RegExp, what: string): Promise<void> {
  const claimId = b.claimId as Hex;
  const state = await f.stateOf(claimId);
  const queued = f.outbox.recent(1000).length;
  const r = await f.post(b);
  assert.equal(r.status, 409, `${what}: ${JSON.stringify(r.json)}`);
  assert.match(outcomeText(r.json), text, what);
  assert.equal(f.outbox.recent(1000).length, queued, `${what}: nothing queued`);
  assert.equal(await f.stateOf(claimId), state, `${what}: the claim's state is unchanged`);
}

describe('21. claim disputes', () => {
  test('21a. a replayed dispute signature (the same round) is refused, also after the payer decides again', async () => {
    const patient = account();
    const { claimId, salt } = await f.claim(patient.address);
    const signed = await body(patient, claimId, salt);
    const first = await f.post(signed);
    assert.equal(first.status, 202, JSON.stringify(first.json));
    assert.equal((await f.outbox.flushUntilSettled(first.json.key as string))?.status, 'confirmed');
    assert.equal(await f.stateOf(claimId), 'disputed');
    await refused(signed, /already relayed/, 'the same body again');
    // The payer reviews the dispute and approves again: the old signature must not dispute anew.
    await f.approveAgain(claimId);
    assert.equal(await f.stateOf(claimId), 'approved');
    await refused(signed, /already relayed/, 'the old signature after a new decision');
    // Round 0 signed afresh (as a relay that never saw the first one would get it): still round 0.
    await refused(
      await body(patient, claimId, salt, 0, inAnHour() + 60n),
      /round 0 of this claim was already used/,
      'a new signature for the used round',
    );
    // The control: a fresh signature for the new round is taken.
    const again = await f.post(await body(patient, claimId, salt, 1));
    assert.equal(again.status, 202, JSON.stringify(again.json));
    assert.equal((await f.outbox.flushUntilSettled(again.json.key as string))?.status, 'confirmed');
    assert.equal(await f.stateOf(claimId), 'disputed');
  });

  test('21b. a dispute signed by someone else, with a wrong salt, or for another claim is refused', async () => {
    const patient = account();
    const stranger = account();
    const a = await f.claim(patient.address);
    const b = await f.claim(patient.address);
    await refused(await body(stranger, a.claimId, a.salt), /ClaimsNotPatient/, 'a stranger with the salt');
    await refused(
      await body(patient, a.claimId, random32()),
      /ClaimsNotPatient/,
      'the patient, a wrong salt',
    );
    await refused(
      await body(patient, a.claimId, b.salt),
      /ClaimsNotPatient/,
      'the patient, another claim’s salt',
    );
    const forB = await body(patient, b.claimId, b.salt);
    await refused({ ...forB, claimId: a.claimId }, /ClaimsNotPatient/, 'a signature for another claim');
    const other = await f.claim(stranger.address);
    await refused(
      await body(patient, other.claimId, a.salt),
      /ClaimsNotPatient/,
      'a claim of another patient',
    );
    assert.equal(await f.stateOf(a.claimId), 'approved');
    // The control: the patient's own signature and salt are taken.
    const own = await f.post(await body(patient, a.claimId, a.salt));
    assert.equal(own.status, 202, JSON.stringify(own.json));
  });
});
