/**
 * Drug unit verification over real sockets (issue 14): a pharmacist scans a pack at their own node
 * (GET /supply/verify/01/{gtin}/10/{lot}/21/{serial}?exp=), which asks the GTIN's responder (the
 * manufacturer, found in DrugLedger) with a member-signed request. One case per counterfeit or
 * diversion the issue names, each ending in the GS1 LMVP answer; the recall and the dispensing of
 * one unit are done on chain before the nodes start (the seed's accounts are the nodes' own).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import {
  SUPPLY_PASSPHRASE,
  type SupplyMemberName,
  type SupplyNetwork,
  startSupplyNetwork,
  supplyPasswordOf,
} from '../../test/support/supplyNetwork.js';
import { memberAuthHeader } from '../access/memberAuth.js';
import { walletFor } from '../chain/clients.js';
import { drugLedgerAbi } from '../chain/generated/index.js';
import { writeAndWait } from '../chain/transact.js';
import { decodeEntry, type LogEntry } from '../log/entry.js';
import { openMemberNode } from '../node/memberNode.js';
import type { DemoUnit } from '../node/seed/seedSupply.js';
import { type StoredUnit, UnitStore } from '../store/unitStore.js';
import { verificationHash } from './verificationLog.js';

let net: SupplyNetwork;
const _bytes = (h: string) => new Uint8Array(Buffer.from(h.slice(2), 'hex'));
const unitOf = (lot: string, k = 0) => net.units.filter((u) => u.lot === lot)[k] as DemoUnit;
const ledger = () => net.manifest.contracts.DrugLedger as `0x${string}`;

before(async () => {
  net = await startSupplyNetwork();
  const { pharmacy } = net.members;
  // The pharmacy dispenses one unit of AMX2601 (the recall is done through the manufacturer's node below).
  const dispensed = unitOf('AMX2601', 1);
  const node = openMemberNode(pharmacy.dir, SUPPLY_PASSPHRASE);
  const stored = new UnitStore(node.db).unit(dispensed.gtin, dispensed.serial);
  node.close();
  assert.ok(stored);
  await writeAndWait(net.conn, walletFor(net.conn, pharmacy.identity.chainKey), {
    address: ledger(),
    abi: drugLedgerAbi,
    functionName: 'setStatus',
    args: [[{ id: stored.commitment, batch: stored.batch, proof: stored.proof }], 2, `0x${'22'.repeat(32)}`],
  });
  await net.serve();
});
after(() => net?.close());

const urlOf = (m: SupplyMemberName) => net.members[m].running?.url as string;

async function tokenAt(m: SupplyMemberName, role = 'pharmacist'): Promise<string> {
  const r = await fetch(`${urlOf(m)}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: role, password: supplyPasswordOf(role) }),
  });
  assert.equal(r.status, 200);
  return ((await r.json()) as { access_token: string }).access_token;
}

interface Answer {
  responder: { address: string; name: string };
  responderGLN: string;
  data: { verified: boolean; verificationFailureReason?: string; additionalInfo?: string };
  saleable: boolean;
  findings: string[];
}

async function scan(
  at: SupplyMemberName,
  u: { gtin: string; lot: string; serial: string; expiry?: string },
  role = 'pharmacist',
): Promise<{ status: number; body: Answer & { issue?: { details: { text: string } }[] } }> {
  const exp = u.expiry === undefined ? '' : `?exp=${u.expiry}`;
  const r = await fetch(
    `${urlOf(at)}/supply/verify/01/${u.gtin}/10/${encodeURIComponent(u.lot)}/21/${encodeURIComponent(u.serial)}${exp}`,
    { headers: { authorization: `Bearer ${await tokenAt(at, role)}` } },
  );
  return { status: r.status, body: (await r.json()) as never };
}

function supplyEntries(m: SupplyMemberName): LogEntry[] {
  const node = openMemberNode(net.members[m].dir, SUPPLY_PASSPHRASE);
  try {
    return node.log
      .entries(0, node.log.size)
      .map((e) => decodeEntry(e.leaf))
      .filter((e) => e.action === 'supply-verify');
  } finally {
    node.close();
  }
}

describe('verification answers (GS1 LMVP) at the pharmacist’s own node', () => {
  test('a genuine unit in the pharmacy’s custody: verified, saleable; logged at both ends', async () => {
    const u = unitOf('AMX2601');
    const r = await scan('pharmacy', u);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.data, { verified: true });
    assert.equal(r.body.saleable, true);
    assert.equal(r.body.responderGLN, '9521234000006');
    assert.equal(r.body.responder.address, net.members.manufacturer.identity.address);
    const qh = verificationHash(u.gtin, u.serial);
    const asked = supplyEntries('pharmacy').filter((e) => e.queryHash === qh);
    const answered = supplyEntries('manufacturer').filter((e) => e.queryHash === qh);
    assert.equal(asked.length, 1);
    assert.equal(asked[0]?.reason, 'verified');
    assert.equal(answered.length, 1);
    assert.equal(answered[0]?.actor, `member:${net.members.pharmacy.identity.address}`);
    assert.equal(answered[0]?.reason, 'verified');
  });

  test('a serial never commissioned: No_match_GTIN_Serial', async () => {
    const u = { ...unitOf('AMX2601'), serial: 'FAKE00000001' };
    const r = await scan('pharmacy', u);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.data, { verified: false, verificationFailureReason: 'No_match_GTIN_Serial' });
    assert.equal(r.body.saleable, false);
  });

  test('a wrong lot, a wrong expiry: No_match_GTIN_Serial_Lot / _Expiry', async () => {
    const u = unitOf('AMX2601');
    const lot = await scan('pharmacy', { ...u, lot: 'AMX9999' });
    assert.equal(lot.body.data.verificationFailureReason, 'No_match_GTIN_Serial_Lot');
    const exp = await scan('pharmacy', { ...u, expiry: '300101' });
    assert.equal(exp.body.data.verificationFailureReason, 'No_match_GTIN_Serial_Expiry');
    assert.equal(exp.body.saleable, false);
  });

  test('an expired unit: verified, Expired, not saleable', async () => {
    const r = await scan('pharmacy', unitOf('ATV2401'));
    assert.deepEqual(r.body.data, { verified: true, additionalInfo: 'Expired' });
    assert.equal(r.body.saleable, false);
  });

  test('a recalled lot: verified, Recalled, not saleable, and dispensing it reverts on chain', async () => {
    const u = unitOf('MET2602');
    const recall = (at: SupplyMemberName, role: string) =>
      tokenAt(at, role).then((t) =>
        fetch(`${urlOf(at)}/supply/recall`, {
          method: 'POST',
          headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' },
          body: JSON.stringify({ gtin: u.gtin, lot: u.lot }),
        }),
      );
    const recalls = async (at: SupplyMemberName, role = 'pharmacist') => {
      const r = await fetch(`${urlOf(at)}/supply/recalls`, {
        headers: { authorization: `Bearer ${await tokenAt(at, role)}` },
      });
      return {
        status: r.status,
        body: (await r.json()) as { lots: { gtin: string; lot: string; units: unknown[] }[] },
      };
    };
    assert.deepEqual((await recalls('pharmacy')).body.lots, [], 'nothing recalled yet');
    assert.equal((await recall('manufacturer', 'clinician')).status, 403, 'administrators recall');
    assert.equal(
      (await recall('distributor', 'admin')).status,
      403,
      'the chain lets only the manufacturer recall',
    );
    const ok = await recall('manufacturer', 'admin');
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.equal(((await ok.json()) as { recalled: boolean }).recalled, true);
    // Every holder reads it on chain at once: the pharmacy's stock of the lot is listed to set aside.
    const node0 = openMemberNode(net.members.pharmacy.dir, SUPPLY_PASSPHRASE);
    const heldHere = new UnitStore(node0.db).unitsOfLot(u.gtin, u.lot).length;
    node0.close();
    const listed = await recalls('pharmacy');
    assert.equal(listed.status, 200);
    assert.deepEqual(
      listed.body.lots.map((l) => [l.gtin, l.lot, l.units.length]),
      [[u.gtin, u.lot, heldHere]],
    );
    assert.equal((await recalls('pharmacy', 'clinician')).status, 403);
    const r = await scan('pharmacy', u);
    assert.deepEqual(r.body.data, { verified: true, additionalInfo: 'Recalled' });
    assert.equal(r.body.saleable, false);
    const refused = await fetch(`${urlOf('pharmacy')}/supply/dispense`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await tokenAt('pharmacy')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ gtin: u.gtin, serial: u.serial, lot: u.lot, expiry: u.expiry }),
    });
    assert.equal(refused.status, 409, 'dispensing a recalled lot is blocked at the node');
    const node = openMemberNode(net.members.pharmacy.dir, SUPPLY_PASSPHRASE);
    const stored = new UnitStore(node.db).unit(u.gtin, u.serial);
    node.close();
    assert.ok(stored);
    await assert.rejects(
      net.conn.publicClient.simulateContract({
        address: ledger(),
        abi: drugLedgerAbi,
        functionName: 'setStatus',
        args: [
          [{ id: stored.commitment, batch: stored.batch, proof: stored.proof }],
          2,
          `0x${'33'.repeat(32)}`,
        ],
        account: net.members.pharmacy.identity.address,
      }),
      /DrugLedgerLotRecalled/,
    );
  });

  test('dispensing: a recalled pack is refused; a genuine one is dispensed once, then reads as a clone', async () => {
    const dispense = async (u: { gtin: string; serial: string; lot: string; expiry: string }) =>
      fetch(`${urlOf('pharmacy')}/supply/dispense`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await tokenAt('pharmacy')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ gtin: u.gtin, serial: u.serial, lot: u.lot, expiry: u.expiry }),
      });
    const node = openMemberNode(net.members.pharmacy.dir, SUPPLY_PASSPHRASE);
    const stock = new UnitStore(node.db).unitsOfLot(unitOf('AMX2601').gtin, 'AMX2601');
    const expired = new UnitStore(node.db).unitsOfLot(unitOf('ATV2401').gtin, 'ATV2401');
    node.close();
    const fresh = stock.find((s) => !net.units.some((d) => d.serial === s.serial)) as StoredUnit;
    assert.ok(fresh);
    const blocked = await dispense(expired[5] as StoredUnit);
    assert.equal(blocked.status, 409, 'an expired pack is not dispensed');
    assert.match(
      ((await blocked.json()) as { issue: { details: { text: string } }[] }).issue[0]?.details.text ?? '',
      /expired/,
    );
    const ok = await dispense(fresh);
    assert.equal(ok.status, 200, await ok.clone().text());
    const again = await scan('pharmacy', fresh);
    assert.equal(again.body.data.additionalInfo, 'Suspect');
    assert.deepEqual(again.body.findings, ['already-dispensed']);
    assert.equal((await dispense(fresh)).status, 409, 'a pack is dispensed once');
  });

  test('a cloned serial already dispensed: Suspect', async () => {
    const r = await scan('pharmacy', unitOf('AMX2601', 1));
    assert.deepEqual(r.body.data, {
      verified: false,
      verificationFailureReason: 'Not_for_re-distribution',
      additionalInfo: 'Suspect',
    });
    assert.ok(r.body.findings.includes('already-dispensed'));
  });

  test('diversion: a unit scanned by a member it was never shipped to is Suspect; then the clone at two places', async () => {
    const u = unitOf('ATV2603'); // at the distributor
    const diverted = await scan('pharmacy', u);
    assert.equal(diverted.body.data.additionalInfo, 'Suspect');
    assert.deepEqual(diverted.body.findings, ['not-shipped-to-requester']);
    // The genuine holder (a distributor verifies too, e.g. a saleable return) scanning the same
    // serial now learns it was seen elsewhere: one of the two packs is a clone.
    const holder = await scan('distributor', u);
    assert.equal(holder.body.data.additionalInfo, 'Suspect');
    assert.deepEqual(holder.body.findings, ['seen-at-two-places']);
  });

  test('a check-digit-failing or malformed barcode: 400 naming it, nothing asked', async () => {
    const u = unitOf('AMX2601');
    const wrongDigit = `${u.gtin.slice(0, 13)}${(Number(u.gtin.at(-1)) + 1) % 10}`;
    const before = supplyEntries('manufacturer').length;
    const bad = await scan('pharmacy', { ...u, gtin: wrongDigit });
    assert.equal(bad.status, 400);
    assert.match(
      bad.body.issue?.[0]?.details.text ?? '',
      new RegExp(`${wrongDigit}.*check digit|check digit.*${wrongDigit}`, 'i'),
    );
    const malformed = await scan('pharmacy', { ...u, gtin: '12345' });
    assert.equal(malformed.status, 400);
    const badExp = await scan('pharmacy', { ...u, expiry: '281340' });
    assert.equal(badExp.status, 400);
    assert.equal(supplyEntries('manufacturer').length, before, 'the responder was never asked');
  });

  test('only pharmacists verify', async () => {
    const r = await scan('pharmacy', unitOf('AMX2601'), 'clinician');
    assert.equal(r.status, 403);
  });
});

describe('only trading partners may ask the responder', () => {
  test('a request signed by a key that is no member: 401, no answer', async () => {
    const outsider = privateKeyToAccount(generatePrivateKey());
    const u = unitOf('AMX2601');
    const path = '/federation/supply/verify';
    const body = JSON.stringify({ gtin: u.gtin, serial: u.serial, corrUUID: crypto.randomUUID() });
    const r = await fetch(`${urlOf('manufacturer')}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: await memberAuthHeader(
          outsider,
          net.members.manufacturer.identity.address,
          'POST',
          path,
          body,
        ),
      },
      body,
    });
    assert.equal(r.status, 401);
    assert.equal(((await r.json()) as { data?: unknown }).data, undefined);
  });

  test('a member’s request with a field that is not part of the wire: 400', async () => {
    const { pharmacy, manufacturer } = net.members;
    const path = '/federation/supply/verify';
    const u = unitOf('AMX2601');
    const body = JSON.stringify({
      gtin: u.gtin,
      serial: u.serial,
      corrUUID: crypto.randomUUID(),
      patient: 'x',
    });
    const signer = privateKeyToAccount(pharmacy.identity.chainKey);
    const r = await fetch(`${urlOf('manufacturer')}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: await memberAuthHeader(signer, manufacturer.identity.address, 'POST', path, body),
      },
      body,
    });
    assert.equal(r.status, 400);
  });
});
