/**
 * The open dispute relay on the embedded chain, over a real socket: a valid dispute moves an
 * approved claim to disputed (and blocks markPaid); an expired deadline, a wrong round, an
 * undisputable state and an unknown claim are refused by name and queue nothing; the strict body
 * table; the per-client throttle; and `medchain claims dispute` signing with a patient key file.
 * The replayed and forged signatures are in test/attacks/claimDispute.int.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import {
  type DisputeFixture,
  inAnHour,
  outcomeText,
  startDisputeFixture,
} from '../../test/support/disputes.js';
import { runCliCaptured } from '../../test/support/testNetwork.js';
import { startTestNode } from '../../test/support/testNode.js';
import { RateLimiter } from '../access/rateLimiter.js';
import { random32 } from '../chain/claimBatch.js';
import { disputeTypedData, signDispute } from '../chain/disputeSignature.js';
import { createPatientKeys } from '../node/patientKeys.js';

let f: DisputeFixture;
before(async () => {
  f = await startDisputeFixture();
});
after(() => f?.close());

const patient = () => privateKeyToAccount(generatePrivateKey());

describe('POST /claims/dispute on the embedded chain', () => {
  test('a valid dispute: 202 with the outbox key, the claim disputed on chain, markPaid refused', async () => {
    const p = patient();
    const { claimId, salt } = await f.claim(p.address);
    const deadline = inAnHour();
    const signature = await signDispute(p, f.domain, { claimId, round: 0, deadline });
    const r = await f.post({ claimId, round: 0, deadline: deadline.toString(), salt, signature });
    assert.equal(r.status, 202, JSON.stringify(r.json));
    const key = r.json.key as string;
    assert.match(key, /^claims-dispute:0x[0-9a-f]{64}:0:/);
    const done = await f.outbox.flushUntilSettled(key);
    assert.equal(done?.status, 'confirmed', done?.error ?? '');
    assert.equal(await f.stateOf(claimId), 'disputed');
    await assert.rejects(f.markPaid(claimId), /ClaimsIllegalTransition/);
  });

  test('the typed data the portal signs is the one the contract checks', async () => {
    const p = patient();
    const { claimId, salt } = await f.claim(p.address, 'pended');
    const deadline = inAnHour();
    const signature = await p.signTypedData(disputeTypedData(f.t.manifest, { claimId, round: 0, deadline }));
    const r = await f.post({ claimId, round: 0, deadline: deadline.toString(), salt, signature });
    assert.equal(r.status, 202, JSON.stringify(r.json));
    assert.equal((await f.outbox.flushUntilSettled(r.json.key as string))?.status, 'confirmed');
    assert.equal(await f.stateOf(claimId), 'disputed');
  });

  test('refused by name, nothing queued: expired, wrong round, a denied claim, an unknown claim', async () => {
    const p = patient();
    const approved = await f.claim(p.address);
    const denied = await f.claim(p.address, 'denied');
    const past = BigInt(Math.floor(Date.now() / 1000) - 60);
    const body = async (
      c: { claimId: `0x${string}`; salt: `0x${string}` },
      round: number,
      deadline: bigint,
    ) => ({
      claimId: c.claimId,
      round,
      deadline: deadline.toString(),
      salt: c.salt,
      signature: await signDispute(p, f.domain, { claimId: c.claimId, round, deadline }),
    });
    const cases: [string, Record<string, unknown>, number, RegExp][] = [
      ['expired', await body(approved, 0, past), 409, /ClaimsSignatureExpired/],
      ['wrong round', await body(approved, 1, inAnHour()), 409, /round 0, not 1/],
      ['denied claim', await body(denied, 0, inAnHour()), 409, /ClaimsIllegalTransition/],
      [
        'unknown claim',
        await body({ claimId: random32(), salt: random32() }, 0, inAnHour()),
        404,
        /no claim/,
      ],
    ];
    for (const [name, b, status, text] of cases) {
      const queued = f.outbox.recent(1000).length;
      const r = await f.post(b);
      assert.equal(r.status, status, `${name}: ${JSON.stringify(r.json)}`);
      assert.match(outcomeText(r.json), text, name);
      assert.equal(f.outbox.recent(1000).length, queued, `${name}: nothing queued`);
    }
    assert.equal(await f.stateOf(approved.claimId), 'approved');
    assert.equal(await f.stateOf(denied.claimId), 'denied');
  });

  test('a strict, small body: every other shape is a 400 naming the field (413 when too large)', async () => {
    const ok = {
      claimId: random32(),
      round: 0,
      deadline: '1',
      salt: random32(),
      signature: `0x${'11'.repeat(65)}`,
    };
    const cases: [unknown, number, RegExp][] = [
      [[1], 400, /send/],
      [{ ...ok, patient: '0x1' }, 400, /"patient" is not part/],
      [{ ...ok, claimId: undefined }, 400, /claimId is missing/],
      [{ ...ok, claimId: '0x12' }, 400, /claimId must be 32 bytes/],
      [{ ...ok, salt: 12 }, 400, /salt must be 32 bytes/],
      [{ ...ok, round: -1 }, 400, /round/],
      [{ ...ok, round: 1.5 }, 400, /round/],
      [{ ...ok, round: 2 ** 32 }, 400, /round/],
      [{ ...ok, deadline: '-1' }, 400, /deadline/],
      [{ ...ok, deadline: '1'.repeat(21) }, 400, /deadline/],
      [{ ...ok, signature: `0x${'11'.repeat(64)}` }, 400, /signature/],
      [{ ...ok, signature: 'zz' }, 400, /signature/],
      [{ ...ok, pad: 'x'.repeat(2000) }, 413, /.+/],
    ];
    for (const [b, status, text] of cases) {
      const r = await f.post(b);
      assert.equal(r.status, status, JSON.stringify([b, r.json]).slice(0, 300));
      assert.match(outcomeText(r.json), text);
    }
  });

  test('medchain claims dispute signs with the patient key file and a member relays it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'medchain-dispute-cli-'));
    try {
      process.env.MEDCHAIN_PASSPHRASE = 'patient passphrase for the dispute test';
      const keyfile = path.join(dir, 'patient.json');
      const keys = createPatientKeys(keyfile, process.env.MEDCHAIN_PASSPHRASE);
      const { claimId, salt } = await f.claim(keys.address);
      const network = path.join(dir, 'network.json');
      const m = f.t.manifest;
      writeFileSync(
        network,
        JSON.stringify({
          chain: {
            rpcUrl: f.t.chain.rpcUrl,
            chainId: m.chainId,
            deploymentBlock: m.deploymentBlock,
            contracts: m.contracts,
          },
          members: [
            {
              name: 'Relay',
              slug: 'relay',
              roles: ['HOSPITAL'],
              address: f.provider.input.account,
              url: f.url,
            },
          ],
          demoUsers: [],
          patients: [],
          units: [],
        }),
      );
      const dispute = (withSalt: string) =>
        runCliCaptured(
          'claims',
          'dispute',
          '--patient',
          keyfile,
          '--claim',
          claimId,
          '--salt',
          withSalt,
          '--network',
          network,
        );
      const wrongSalt = await dispute(random32());
      assert.equal(wrongSalt.code, 1, wrongSalt.out);
      assert.match(wrongSalt.err, /ClaimsNotPatient/);
      const r = await dispute(salt);
      assert.equal(r.code, 0, r.err);
      assert.match(
        r.out,
        /disputed claim 0x[0-9a-f]{64} \(was approved\); relayed by Relay, outbox claims-dispute:/,
      );
      const key = /outbox (\S+)/.exec(r.out)?.[1] as string;
      assert.equal((await f.outbox.flushUntilSettled(key))?.status, 'confirmed');
      assert.equal(await f.stateOf(claimId), 'disputed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('the open relay is throttled per client, whatever it answers (503 here: no chain)', async () => {
  const t = await startTestNode({ deps: () => ({ disputeLimit: new RateLimiter(3, 60_000) }) });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push(
        (await t.app.inject({ method: 'POST', url: '/claims/dispute', payload: { junk: i } })).statusCode,
      );
    assert.deepEqual(statuses, [503, 503, 503, 429]);
  } finally {
    await t.close();
  }
});
