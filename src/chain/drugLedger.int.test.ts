import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Address, type Hex, keccak256, toHex } from 'viem';
import { startTestChain, type TestChain, type TestMember } from '../../test/support/testChain.js';
import { buildUnitBatch, treeFromLevels, type UnitBatchTree } from '../supply/unitBatch.js';
import { type Commitment, lotCommitment, unitCommitment } from '../supply/unitCommitment.js';
import type { ChainError } from './chainError.js';
import { deployDrugLedger } from './deploy.js';
import { drugLedgerAbi } from './generated/index.js';
import { writeAndWait } from './transact.js';

// Registry roles (Registry.sol ROLE_*) and DrugLedger.Status.
const PHARMACY = 1 << 4;
const MANUFACTURER = 1 << 5;
const DISTRIBUTOR = 1 << 6;
const REGULATOR = 1 << 7;
const S = {
  None: 0,
  Active: 1,
  Dispensed: 2,
  Recalled: 3,
  Suspect: 4,
  Illegitimate: 5,
  Destroyed: 6,
} as const;

const GTIN = '09506000134352';
const OTHER_GTIN = '09520123456788';
const UNITS = 1000;
const key = new Uint8Array(32).fill(42);
const lot = lotCommitment(key, GTIN, 'LOT-2026-A');
const lotB = lotCommitment(key, GTIN, 'LOT-2026-B');
const eventHash = (s: string): Hex => keccak256(toHex(s));

let t: TestChain;
let ledger: Address;
let manufacturer: TestMember;
let distributor: TestMember;
let pharmacy: TestMember;
let regulator: TestMember;
let manufacturer2: TestMember;
let units: Commitment[];
let tree: UnitBatchTree;
const gasReport: string[] = [];

const send = (by: TestMember, functionName: string, args: readonly unknown[]) =>
  writeAndWait(t.conn, by.wallet, { address: ledger, abi: drugLedgerAbi, functionName, args } as never);
async function reverts(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (e: ChainError) => {
    assert.equal(e.code, code, e.message);
    return true;
  });
}
const ref = (u: Commitment, batch = 0, withProof = true) => ({
  id: u,
  batch,
  proof: withProof ? tree.proof(u) : [],
});
const stateOf = async (u: Commitment, batch = 0) => {
  const [custodian, status] = (await t.conn.publicClient.readContract({
    address: ledger,
    abi: drugLedgerAbi,
    functionName: 'stateOf',
    args: [ref(u, batch)],
  })) as readonly [Address, number];
  return { custodian, status };
};
const gas = (what: string, used: bigint, perUnit?: number) =>
  gasReport.push(
    `${what}: ${used} gas${perUnit ? ` (${(Number(used) / perUnit).toFixed(0)} per unit, ${perUnit} units)` : ''}`,
  );

before(async () => {
  t = await startTestChain({
    memberCount: 5,
    memberRoles: [MANUFACTURER, DISTRIBUTOR, PHARMACY, REGULATOR, MANUFACTURER],
  });
  [manufacturer, distributor, pharmacy, regulator, manufacturer2] = t.members as [
    TestMember,
    TestMember,
    TestMember,
    TestMember,
    TestMember,
  ];
  ledger = (await deployDrugLedger(t.conn, manufacturer.wallet, t.manifest.contracts.Registry)).address;
  units = Array.from({ length: UNITS }, (_, i) =>
    unitCommitment(key, GTIN, `SN${String(i).padStart(6, '0')}`),
  );
  tree = buildUnitBatch(units);
});
after(async () => {
  process.stdout.write(
    `# DrugLedger gas (embedded anvil):\n${gasReport.map((l) => `#   ${l}`).join('\n')}\n`,
  );
  await t.close();
});

describe('DrugLedger', () => {
  test('GTIN directory: a manufacturer claims its company prefix and answers for its GTINs', async () => {
    const claim = await send(manufacturer, 'claimPrefix', [9506000n, 7]);
    assert.equal(claim.result, true);
    gas('claimPrefix', claim.receipt.gasUsed);
    assert.equal(
      (await send(manufacturer, 'claimPrefix', [9506000n, 7])).result,
      false,
      'claiming again is a no-op',
    );
    const read = (g: string) =>
      t.conn.publicClient.readContract({
        address: ledger,
        abi: drugLedgerAbi,
        functionName: 'responderFor',
        args: [BigInt(g)],
      });
    assert.equal(await read(GTIN), manufacturer.input.account);
    assert.equal(await read(OTHER_GTIN), '0x0000000000000000000000000000000000000000');
    await reverts(send(distributor, 'claimPrefix', [9520123n, 7]), 'DrugLedgerNotManufacturer');
    await reverts(send(manufacturer, 'claimPrefix', [9506000n, 5]), 'DrugLedgerBadPrefix');
    await reverts(send(manufacturer, 'claimPrefix', [10_000_000n, 7]), 'DrugLedgerBadPrefix');
    await reverts(send(t.outsider(), 'claimPrefix', [9520123n, 7]), 'DrugLedgerNotMember');
    // Another manufacturer can take neither the prefix, nor a longer one inside it, nor one GTIN of it.
    await reverts(send(manufacturer2, 'claimPrefix', [9506000n, 7]), 'DrugLedgerPrefixTaken');
    await reverts(send(manufacturer2, 'claimPrefix', [95060001n, 8]), 'DrugLedgerPrefixTaken');
    await reverts(send(manufacturer2, 'claimPrefix', [BigInt(GTIN), 14]), 'DrugLedgerPrefixTaken');
    assert.equal((await send(manufacturer2, 'claimPrefix', [BigInt(OTHER_GTIN), 14])).result, true);
    assert.equal(await read(OTHER_GTIN), manufacturer2.input.account);
    assert.equal(await read(GTIN), manufacturer.input.account);
  });

  test(`commissioning ${UNITS} units is one transaction: a Merkle root over keyed unit commitments`, async () => {
    const r = await send(manufacturer, 'commission', [
      BigInt(GTIN),
      lot,
      tree.root,
      UNITS,
      eventHash('commission'),
    ]);
    assert.equal(r.result, 0);
    gas('commission (one Merkle root)', r.receipt.gasUsed, UNITS);
    assert.ok(r.receipt.gasUsed < 250_000n, `commissioning ${UNITS} units took ${r.receipt.gasUsed} gas`);
    const s = await stateOf(units[0] as Commitment);
    assert.deepEqual(s, { custodian: manufacturer.input.account, status: S.Active });
    await reverts(
      send(manufacturer, 'commission', [BigInt(OTHER_GTIN), lot, tree.root, 1, eventHash('x')]),
      'DrugLedgerNotGtinOwner',
    );
    // The lot commitment is the first manufacturer's: another cannot commission into it.
    await reverts(
      send(manufacturer2, 'commission', [BigInt(OTHER_GTIN), lot, tree.root, 1, eventHash('x')]),
      'DrugLedgerLotOfAnotherManufacturer',
    );
    await reverts(
      send(manufacturer, 'commission', [BigInt(GTIN), lot, `0x${'00'.repeat(32)}`, 1, eventHash('x')]),
      'DrugLedgerEmptyBatch',
    );
  });

  test('custody: the batch to the distributor in one transaction, then units to the pharmacy', async () => {
    await reverts(
      send(distributor, 'transferBatch', [0, pharmacy.input.account, eventHash('x')]),
      'DrugLedgerBatchNotCustodian',
    );
    await reverts(
      send(manufacturer, 'transferBatch', [0, t.outsider().input.account, eventHash('x')]),
      'DrugLedgerRecipientNotMember',
    );
    const whole = await send(manufacturer, 'transferBatch', [
      0,
      distributor.input.account,
      eventHash('ship-1'),
    ]);
    gas('transferBatch (whole batch)', whole.receipt.gasUsed, UNITS);
    assert.equal((await stateOf(units[999] as Commitment)).custodian, distributor.input.account);

    // 250 units to the pharmacy: each gets its own slot (custodian, status) after its proof.
    const shipment = units.slice(0, 250).map((u) => ref(u));
    const r = await send(distributor, 'transferUnits', [
      shipment,
      pharmacy.input.account,
      eventHash('ship-2'),
    ]);
    gas('transferUnits (first touch: proof + own slot)', r.receipt.gasUsed, shipment.length);
    assert.equal((await stateOf(units[0] as Commitment)).custodian, pharmacy.input.account);
    assert.equal((await stateOf(units[250] as Commitment)).custodian, distributor.input.account);
    // Diversion: the distributor no longer holds those units.
    await reverts(
      send(distributor, 'transferUnits', [
        [ref(units[0] as Commitment)],
        regulator.input.account,
        eventHash('x'),
      ]),
      'DrugLedgerNotCustodian',
    );
    // A unit of another batch (or a forged proof) is not in batch 0.
    const forged = unitCommitment(key, GTIN, 'NOT-COMMISSIONED');
    await reverts(
      send(distributor, 'transferUnits', [
        [{ id: forged, batch: 0, proof: tree.proof(units[300] as Commitment) }],
        pharmacy.input.account,
        eventHash('x'),
      ]),
      'DrugLedgerNotInBatch',
    );
  });

  test('dispensing: by the pharmacy that holds the unit, once', async () => {
    const batch = units.slice(0, 100).map((u) => ref(u, 0, false)); // own records exist: no proof needed
    const r = await send(pharmacy, 'setStatus', [batch, S.Dispensed, eventHash('dispense')]);
    gas('setStatus Dispensed (unit with own slot)', r.receipt.gasUsed, batch.length);
    assert.equal((await stateOf(units[0] as Commitment)).status, S.Dispensed);
    await reverts(
      send(pharmacy, 'setStatus', [[ref(units[0] as Commitment)], S.Dispensed, eventHash('x')]),
      'DrugLedgerInvalidTransition',
    );
    await reverts(
      send(pharmacy, 'setStatus', [[ref(units[0] as Commitment)], S.Active, eventHash('x')]),
      'DrugLedgerInvalidTransition',
    );
    await reverts(
      send(pharmacy, 'transferUnits', [
        [ref(units[0] as Commitment)],
        distributor.input.account,
        eventHash('x'),
      ]),
      'DrugLedgerNotTransferable',
    );
    // The distributor holds unit 500 but is no pharmacy; the pharmacy does not hold it.
    await reverts(
      send(distributor, 'setStatus', [[ref(units[500] as Commitment)], S.Dispensed, eventHash('x')]),
      'DrugLedgerNotAllowed',
    );
    await reverts(
      send(pharmacy, 'setStatus', [[ref(units[500] as Commitment)], S.Dispensed, eventHash('x')]),
      'DrugLedgerNotAllowed',
    );
  });

  test('suspect, cleared, illegitimate, destroyed; who may do which', async () => {
    const u = ref(units[200] as Commitment);
    await send(pharmacy, 'setStatus', [[u], S.Suspect, eventHash('quarantine')]);
    assert.equal((await stateOf(units[200] as Commitment)).status, S.Suspect);
    await reverts(
      send(pharmacy, 'setStatus', [[u], S.Dispensed, eventHash('x')]),
      'DrugLedgerInvalidTransition',
    );
    await reverts(send(pharmacy, 'setStatus', [[u], S.Active, eventHash('x')]), 'DrugLedgerNotAllowed');
    await send(manufacturer, 'setStatus', [[u], S.Active, eventHash('cleared')]);
    assert.equal((await stateOf(units[200] as Commitment)).status, S.Active);
    await reverts(send(pharmacy, 'setStatus', [[u], S.Illegitimate, eventHash('x')]), 'DrugLedgerNotAllowed');
    await send(regulator, 'setStatus', [[u], S.Illegitimate, eventHash('illegitimate')]);
    await reverts(
      send(regulator, 'setStatus', [[u], S.Active, eventHash('x')]),
      'DrugLedgerInvalidTransition',
    );
    await send(pharmacy, 'setStatus', [[u], S.Destroyed, eventHash('destroyed')]);
    assert.equal((await stateOf(units[200] as Commitment)).status, S.Destroyed);
    await reverts(
      send(pharmacy, 'setStatus', [[u], S.Suspect, eventHash('x')]),
      'DrugLedgerInvalidTransition',
    );
    await reverts(send(pharmacy, 'setStatus', [[u], S.None, eventHash('x')]), 'DrugLedgerInvalidTransition');
  });

  test('a lot recall blocks dispensing of every unit of the lot at once; a recalled unit can go back', async () => {
    await reverts(
      send(distributor, 'recallLot', [lot, eventHash('x')]),
      'DrugLedgerLotOfAnotherManufacturer',
    );
    await reverts(send(manufacturer, 'recallLot', [lotB, eventHash('x')]), 'DrugLedgerUnknownLot');
    const r = await send(manufacturer, 'recallLot', [lot, eventHash('recall')]);
    assert.equal(r.result, true);
    gas('recallLot', r.receipt.gasUsed);
    assert.equal((await send(manufacturer, 'recallLot', [lot, eventHash('recall')])).result, false);
    assert.equal((await stateOf(units[150] as Commitment)).status, S.Recalled, 'a unit with its own slot');
    assert.equal(
      (await stateOf(units[900] as Commitment)).status,
      S.Recalled,
      'a unit still on its batch path',
    );
    assert.equal(
      (await stateOf(units[0] as Commitment)).status,
      S.Dispensed,
      'already dispensed stays dispensed',
    );
    await reverts(
      send(pharmacy, 'setStatus', [[ref(units[150] as Commitment)], S.Dispensed, eventHash('x')]),
      'DrugLedgerLotRecalled',
    );
    // Returning recalled stock to the manufacturer is still a transfer.
    await send(pharmacy, 'transferUnits', [
      [ref(units[150] as Commitment)],
      manufacturer.input.account,
      eventHash('return'),
    ]);
    assert.deepEqual(await stateOf(units[150] as Commitment), {
      custodian: manufacturer.input.account,
      status: S.Recalled,
    });
    const logs = await t.conn.publicClient.getContractEvents({
      address: ledger,
      abi: drugLedgerAbi,
      eventName: 'LotRecalled',
      fromBlock: 0n,
    });
    assert.equal(logs.length, 1);
  });

  test('trees of many sizes: the chain accepts every proof read off the flat tree, and its stored levels', async () => {
    // Sizes around powers of two (odd nodes moving up) and a few others; units of another lot.
    for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 31, 33, 300]) {
      const ids = Array.from({ length: n }, (_, i) => unitCommitment(key, GTIN, `T${n}-${i}`));
      const built = buildUnitBatch(ids);
      const stored = treeFromLevels(n, new Uint8Array(built.levels));
      const batch = Number(
        await t.conn.publicClient.readContract({
          address: ledger,
          abi: drugLedgerAbi,
          functionName: 'batchCount',
        }),
      );
      await send(manufacturer, 'commission', [BigInt(GTIN), lotB, built.root, n, eventHash(`tree ${n}`)]);
      // Every unit of the small trees; a spread of the 300 (first, last, odd ones out).
      const picks = n <= 33 ? ids.map((_, i) => i) : [0, 1, 2, 150, 255, 256, 298, 299];
      for (const i of picks) {
        const id = ids[i] as Commitment;
        assert.deepEqual(
          stored.proofAt(i),
          built.proof(id),
          `stored levels give the same proof (${n}, ${i})`,
        );
        const [custodian, status] = (await t.conn.publicClient.readContract({
          address: ledger,
          abi: drugLedgerAbi,
          functionName: 'stateOf',
          args: [{ id, batch, proof: stored.proofAt(i) }],
        })) as readonly [Address, number];
        assert.deepEqual([custodian, status], [manufacturer.input.account, S.Active], `unit ${i} of ${n}`);
      }
      // And one the chain refuses: a unit of this batch with its neighbour's proof.
      if (n > 1)
        await assert.rejects(
          t.conn.publicClient.readContract({
            address: ledger,
            abi: drugLedgerAbi,
            functionName: 'stateOf',
            args: [{ id: ids[0] as Commitment, batch, proof: built.proofAt(1) }],
          }),
          /DrugLedgerNotInBatch/,
        );
    }
  });
});
