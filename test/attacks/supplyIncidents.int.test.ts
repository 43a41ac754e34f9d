/**
 * Attacks on the drug supply incident flows (README entry 18), over real sockets against the four
 * nodes of test/support/supplyNetwork.ts: a member that never held a unit, or no longer holds it,
 * quarantines it or declares it illegitimate; forged illegitimate-product notices. Each ends with
 * the chain unchanged and no alert stored, and each has a control that succeeds.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { memberAuthHeader } from '../../src/access/memberAuth.js';
import { drugLedgerAbi } from '../../src/chain/generated/index.js';
import { supplyNoticeBody } from '../../src/federation/wire.js';
import { DEMO_LOTS, demoGtin } from '../../src/node/seed/seedSupply.js';
import type { StoredUnit } from '../../src/store/unitStore.js';
import { SUPPLY_NOTICE_PATH } from '../../src/supply/notices.js';
import {
  chainStatusOf,
  getAs,
  postAs,
  type SupplyMemberName,
  type SupplyNetwork,
  startSupplyNetwork,
  storedUnitsOf,
  unitRef,
  urlOf,
} from '../support/supplyNetwork.js';

let net: SupplyNetwork;
let amx: StoredUnit[];
const AMX = demoGtin(DEMO_LOTS[0]?.itemReference as string);

before(async () => {
  net = await startSupplyNetwork();
  amx = storedUnitsOf(net, 'pharmacy', AMX, 'AMX2601');
  await net.serve();
});
after(() => net?.close());

const alertsAt = async (m: SupplyMemberName) =>
  (await getAs(net, m, 'admin', '/supply/alerts')).body.alerts as { id: string; serials: string[] }[];

/** A DrugLedger setStatus the chain would refuse for `m`, simulated (nothing sent). */
const chainRefuses = (m: SupplyMemberName, u: StoredUnit, status: number) =>
  assert.rejects(
    net.conn.publicClient.simulateContract({
      address: net.manifest.contracts.DrugLedger as `0x${string}`,
      abi: drugLedgerAbi,
      functionName: 'setStatus',
      args: [[unitRef(u)], status, `0x${'66'.repeat(32)}`],
      account: net.members[m].identity.address,
    }),
    /DrugLedgerNotAllowed/,
  );

describe('20. supply incidents: only holders quarantine, only the manufacturer determines, notices are not forged', () => {
  test('20a. a member that never held a unit, or held it before, cannot quarantine it', async () => {
    const u = amx[0] as StoredUnit;
    const body = { gtin: u.gtin, serial: u.serial, reason: 'competitor sabotage' };
    const never = await postAs(net, 'hospital', 'pharmacist', '/supply/quarantine', body);
    assert.equal(never.status, 404, 'the hospital holds no record of it');
    const earlier = await postAs(net, 'distributor', 'pharmacist', '/supply/quarantine', body);
    assert.equal(earlier.status, 403, 'the distributor shipped it on: no longer its custodian');
    assert.match(earlier.body.issue[0].details.text, /does not hold the unit/);
    await chainRefuses('hospital', u, 4);
    await chainRefuses('distributor', u, 4);
    assert.equal(await chainStatusOf(net, u), 1, 'still Active');
    // Control: the holder quarantines it.
    const holder = await postAs(net, 'pharmacy', 'pharmacist', '/supply/quarantine', {
      ...body,
      reason: 'damaged',
    });
    assert.equal(holder.status, 200, JSON.stringify(holder.body));
    assert.equal(await chainStatusOf(net, u), 4);
  });

  test('20b. only the GTIN’s manufacturer declares a unit illegitimate; nobody is alerted by a refused one', async () => {
    const u = amx[1] as StoredUnit;
    const body = { gtin: u.gtin, serial: u.serial, reason: 'fake determination' };
    assert.equal((await postAs(net, 'hospital', 'admin', '/supply/illegitimate', body)).status, 404);
    for (const m of ['pharmacy', 'distributor'] as const) {
      const r = await postAs(net, m, 'admin', '/supply/illegitimate', body);
      assert.equal(r.status, 403, `${m}: ${JSON.stringify(r.body)}`);
      assert.match(r.body.issue[0].details.text, /only the manufacturer/);
      await chainRefuses(m, u, 5);
    }
    assert.equal(await chainStatusOf(net, u), 1);
    for (const m of ['manufacturer', 'distributor', 'pharmacy', 'hospital'] as const)
      assert.equal((await alertsAt(m)).filter((a) => a.serials.includes(u.serial)).length, 0);
    // Control: the manufacturer's determination alerts the holder.
    const ok = await postAs(net, 'manufacturer', 'admin', '/supply/illegitimate', {
      ...body,
      reason: 'counterfeit',
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal((await alertsAt('pharmacy')).filter((a) => a.serials.includes(u.serial)).length, 1);
  });

  test('20c. a forged notice (a member that is not the responder, a claim the chain does not show, no member, extra fields) stores no alert', async () => {
    const u = amx[2] as StoredUnit;
    const notice = {
      noticeId: crypto.randomUUID(),
      kind: 'illegitimate' as const,
      gtin: u.gtin,
      lot: u.lot,
      serials: [u.serial],
      reason: 'recall everything now',
      determinedAt: new Date().toISOString(),
    };
    const send = async (key: `0x${string}`, payload: string) =>
      fetch(`${urlOf(net, 'pharmacy')}${SUPPLY_NOTICE_PATH}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: await memberAuthHeader(
            privateKeyToAccount(key),
            net.members.pharmacy.identity.address,
            'POST',
            SUPPLY_NOTICE_PATH,
            payload,
          ),
        },
        body: payload,
      });
    const before = (await alertsAt('pharmacy')).length;
    const hospital = await send(net.members.hospital.identity.chainKey, supplyNoticeBody(notice));
    assert.equal(hospital.status, 403, 'the hospital is no responder for the GTIN');
    const notOnChain = await send(
      net.members.manufacturer.identity.chainKey,
      supplyNoticeBody({ ...notice, noticeId: crypto.randomUUID() }),
    );
    assert.equal(
      notOnChain.status,
      409,
      'the unit is Active on chain: even its responder cannot claim otherwise',
    );
    const outsider = await send(
      generatePrivateKey(),
      supplyNoticeBody({ ...notice, noticeId: crypto.randomUUID() }),
    );
    assert.equal(outsider.status, 401);
    const extra = await send(
      net.members.manufacturer.identity.chainKey,
      JSON.stringify({ ...notice, noticeId: crypto.randomUUID(), deadline: '2099-01-01T00:00:00Z' }),
    );
    assert.equal(extra.status, 400);
    assert.equal((await alertsAt('pharmacy')).length, before, 'no alert stored');
    assert.equal(await chainStatusOf(net, u), 1);
  });
});
