/**
 * Payment runs at the insurer over real sockets (issue 13), on the claims network
 * (test/support/claimsNetwork.ts): the lab submits claims through `Claim/$submit`; the insurer's
 * billing user posts `/claims/payment-run`; the approved claims are Paid on chain, the disputed,
 * denied and pended ones are not; the 835 read back with node-x12 (read835) reconciles and names
 * the provider's claims; a second run pays nothing twice; a clinician is refused.
 * What it waits for: `anchorLab` until the lab's head is confirmed; `$submit` answers once the
 * batch and the decision are mined; the dispute until the claim is disputed on chain; the run
 * answers once its markPaid transactions are mined.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Claim, ClaimResponse, ExplanationOfBenefit } from '@medplum/fhirtypes';
import type { Hex } from 'viem';
import { request, waitFor } from '../../test/support/attackNetwork.js';
import { ClaimsNetwork } from '../../test/support/claimsNetwork.js';
import { signDispute } from '../chain/disputeSignature.js';
import { decodeEntry } from '../log/entry.js';
import { claimIdOf, disputeFactsOf, documentId } from './claimDocuments.js';
import type { PaymentRunRecord } from './paymentRunRecords.js';
import { read835 } from './x12/read835.js';

let cn: ClaimsNetwork;
before(async () => {
  cn = await ClaimsNetwork.start();
});
after(async () => {
  await cn?.close();
});

async function submitted(claim: Claim): Promise<{ response: ClaimResponse; claimId: Hex }> {
  const r = await cn.submit(claim);
  assert.equal(r.status, 200, `Claim/$submit answered ${r.status}: ${JSON.stringify(r.body).slice(0, 600)}`);
  const response = r.body as ClaimResponse;
  const claimId = claimIdOf(response);
  assert.ok(claimId);
  return { response, claimId };
}

const pay = (role: 'billing' | 'admin' | 'clinician' = 'billing') =>
  cn.net.asUser('insurer', role, '/claims/payment-run', { method: 'POST' });

describe('payment runs at the insurer', { timeout: 900_000 }, () => {
  test('pays the approved claims once, never the disputed, denied or pended; one reconciling 835 per payee', async () => {
    const p = await cn.enroll(['insurer']);
    const enc = await cn.encounter(p);
    const other = await cn.enroll(['insurer']);
    const encOther = await cn.encounter(other);
    await cn.anchorLab();

    const clean = await cn.claim(p, 'insurer', [{ code: 'Z1020', encounter: enc }]);
    const a = await submitted(clean);
    // Two lines: units over the MUE (MAI 1, denied CO-151) and a clean line (paid).
    const partial = await cn.claim(p, 'insurer', [
      { code: 'Z1020', units: 5, price: 50, encounter: enc },
      { code: 'Z1030', price: 40.5, encounter: enc },
    ]);
    const b = await submitted(partial);
    const dup = await submitted(await cn.claim(p, 'insurer', [{ code: 'Z1020', encounter: enc }]));
    const disputed = await submitted(
      await cn.claim(other, 'insurer', [{ code: 'Z1020', encounter: encOther }]),
    );
    const unanchored = await cn.encounter(p); // not in an anchored head: pended CARC 252
    const pended = await submitted(await cn.claim(p, 'insurer', [{ code: 'Z1021', encounter: unanchored }]));
    assert.equal((await cn.claimOf(a.claimId))?.state, 'approved');
    assert.equal((await cn.claimOf(b.claimId))?.state, 'approved');
    assert.equal((await cn.claimOf(dup.claimId))?.state, 'denied');
    assert.equal((await cn.claimOf(pended.claimId))?.state, 'pended');

    // The other patient disputes their approved claim before the run.
    const ins = cn.nodeOf('insurer').records;
    const eob = (await ins.open(
      ins.currentRow('ExplanationOfBenefit', documentId(disputed.claimId)),
    )) as unknown as ExplanationOfBenefit;
    const facts = disputeFactsOf(eob);
    assert.ok(facts);
    const deadline = BigInt(Math.floor(Date.now() / 1000) + 3600);
    const signature = await signDispute(
      other.account,
      { chainId: cn.net.manifest.chainId, verifyingContract: cn.net.manifest.contracts.Claims as Hex },
      { claimId: facts.claimId, round: 0, deadline },
    );
    const relayed = await request(`${cn.net.url('lab')}/claims/dispute`, {
      method: 'POST',
      body: JSON.stringify({ ...facts, round: 0, deadline: deadline.toString(), signature }),
    });
    assert.equal(relayed.status, 202, JSON.stringify(relayed.body));
    await waitFor(
      'the dispute to be mined (claim state disputed)',
      async () => (await cn.claimOf(disputed.claimId))?.state === 'disputed',
    );

    const logBefore = cn.nodeOf('insurer').log.size;
    const r = await pay('billing');
    assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 600));
    const run = r.body as PaymentRunRecord;
    assert.deepEqual(
      run.claims.map((c) => c.claimId).sort(),
      [a.claimId, b.claimId].sort(),
      'exactly the two approved claims are paid',
    );
    assert.equal(run.paidCents, 10_000 + 4_050);
    assert.equal(run.txKeys.length, 2);
    assert.deepEqual(run.skipped, []);
    assert.equal((await cn.claimOf(a.claimId))?.state, 'paid');
    assert.equal((await cn.claimOf(b.claimId))?.state, 'paid');
    assert.equal((await cn.claimOf(disputed.claimId))?.state, 'disputed', 'a disputed claim is never paid');
    assert.equal((await cn.claimOf(dup.claimId))?.state, 'denied');
    assert.equal((await cn.claimOf(pended.claimId))?.state, 'pended');

    // One 835 for the lab, read back with node-x12: it reconciles and names the lab's Claim ids.
    assert.equal(run.files.length, 1);
    const file = run.files[0];
    assert.ok(file);
    assert.equal(file.payee, cn.address('lab'));
    assert.match(file.file, new RegExp(`^remittances/${run.runId}-${cn.address('lab')}\\.835$`));
    const text = readFileSync(path.join(cn.nodeOf('insurer').dir, file.file), 'utf8');
    const { remittance, problems } = read835(text);
    assert.deepEqual(problems, [], text);
    assert.ok(remittance);
    assert.equal(remittance.payment.cents, 14_050);
    assert.equal(remittance.traceNumber, file.traceNumber);
    const byId = new Map(remittance.claims.map((c) => [c.id, c]));
    assert.deepEqual([...byId.keys()].sort(), [clean.id, partial.id].sort());
    assert.equal(byId.get(clean.id as string)?.paid, 10_000);
    const part = byId.get(partial.id as string);
    assert.equal(part?.paid, 4_050);
    assert.deepEqual(
      part?.lines.map((l) => l.adjustments.map((x) => `${x.group}-${x.reason}`)),
      [['CO-151'], []],
    );
    assert.deepEqual(part?.patient, { qualifier: 'MI', id: p.address });

    // The reads were logged at the insurer under the purpose payment.
    const log = cn.nodeOf('insurer').log;
    const entries = log.entries(logBefore, log.size).map((e) => decodeEntry(e.leaf));
    assert.ok(
      entries.some(
        (e) => e.target?.resourceType === 'Claim' && e.action === 'read' && e.purpose === 'payment',
      ),
      'the run’s Claim reads are in the log with purpose payment',
    );

    // A second run pays nothing twice and writes no file.
    const again = await pay('admin');
    assert.equal(again.status, 200, JSON.stringify(again.body).slice(0, 600));
    const second = again.body as PaymentRunRecord;
    assert.deepEqual(second.claims, []);
    assert.deepEqual(second.files, []);
    assert.equal(second.paidCents, 0);
    assert.match(second.message ?? '', /nothing to pay/);

    const listed = await cn.net.asUser('insurer', 'billing', '/claims/payment-runs');
    assert.equal(listed.status, 200);
    assert.deepEqual(
      (listed.body as { runs: PaymentRunRecord[] }).runs.map((x) => x.runId),
      [second.runId, run.runId],
    );
  });

  test('a clinician may not run payments nor list them (403), and nothing is paid', async () => {
    const r = await pay('clinician');
    assert.equal(r.status, 403, JSON.stringify(r.body));
    const l = await cn.net.asUser('insurer', 'clinician', '/claims/payment-runs');
    assert.equal(l.status, 403, JSON.stringify(l.body));
  });
});
