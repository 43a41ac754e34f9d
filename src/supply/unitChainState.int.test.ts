import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Address, type Hex, keccak256, toHex } from 'viem';
import { startTestChain, type TestChain, type TestMember } from '../../test/support/testChain.js';
import { BlockBoard } from '../chain/blockBoard.js';
import type { ChainConnection } from '../chain/clients.js';
import { type DrugLedgerContract, drugLedgerContract } from '../chain/contracts.js';
import { drugLedgerAbi } from '../chain/generated/index.js';
import { latestBlockOf } from '../chain/latestBlock.js';
import { writeAndWait } from '../chain/transact.js';
import { buildUnitBatch } from './unitBatch.js';
import { directUnitState, type UnitRef, UnitStateCache } from './unitChainState.js';
import { type Commitment, lotCommitment, unitCommitment } from './unitCommitment.js';

// Registry roles (Registry.sol ROLE_*) and DrugLedger.Status.
const PHARMACY = 1 << 4;
const MANUFACTURER = 1 << 5;
const DISTRIBUTOR = 1 << 6;
const S = { Active: 1, Dispensed: 2, Recalled: 3 } as const;
const GTIN = '09506000134352';
const key = new Uint8Array(32).fill(7);
const PER_BATCH = 16;

let t: TestChain;
let ledger: DrugLedgerContract;
let manufacturer: TestMember;
let pharmacy: TestMember;
/** Two batches (lots A and B) of PER_BATCH units each. */
const batches: { lot: Commitment; units: UnitRef[] }[] = [];

const eventHash = (s: string): Hex => keccak256(toHex(s));
const send = (by: TestMember, functionName: string, args: readonly unknown[]) =>
  writeAndWait(t.conn, by.wallet, {
    address: ledger.address,
    abi: drugLedgerAbi,
    functionName,
    args,
  } as never);
const all = () => batches.flatMap((b) => b.units.map((u) => ({ u, lot: b.lot })));

/** Every unit reads the same through `cache` as through direct contract calls. */
async function agrees(cache: UnitStateCache) {
  const direct = directUnitState(ledger);
  for (const { u, lot } of all()) {
    const [c, d] = await Promise.all([cache.read(u, lot), direct.read(u, lot)]);
    assert.deepEqual(
      { custodian: c.custodian, status: c.status, lotRecalled: c.lotRecalled },
      { custodian: d.custodian, status: d.status, lotRecalled: d.lotRecalled },
      `unit ${u.id.slice(0, 10)} of batch ${u.batch}`,
    );
  }
}

before(async () => {
  t = await startTestChain({ memberCount: 3, memberRoles: [MANUFACTURER, PHARMACY, DISTRIBUTOR] });
  [manufacturer, pharmacy] = t.members as [TestMember, TestMember];
  ledger = drugLedgerContract(t.conn, t.manifest) as DrugLedgerContract;
  assert.ok(ledger, 'the test deployment has a DrugLedger');
  await send(manufacturer, 'claimPrefix', [9506000n, 7]);
  for (const [b, name] of ['LOT-A', 'LOT-B'].entries()) {
    const ids = Array.from({ length: PER_BATCH }, (_, i) => unitCommitment(key, GTIN, `${name}-SN${i}`));
    const tree = buildUnitBatch(ids);
    const lot = lotCommitment(key, GTIN, name);
    await send(manufacturer, 'commission', [BigInt(GTIN), lot, tree.root, PER_BATCH, eventHash(name)]);
    batches.push({ lot, units: ids.map((id) => ({ id, batch: b, proof: tree.proof(id) })) });
  }
});
after(async () => {
  await t?.close();
});

describe('UnitStateCache', () => {
  test('answers as the chain does, from memory once a unit was read', async () => {
    const cache = new UnitStateCache(t.conn, ledger);
    await agrees(cache);
    assert.equal(cache.stats.misses, 2 * PER_BATCH);
    const { u, lot } = all()[3] as { u: UnitRef; lot: Commitment };
    const s = await cache.read(u, lot);
    assert.equal(cache.stats.hits, 1, 'the second read of a unit is a hit');
    assert.equal(s.status, S.Active);
    assert.equal(s.custodian, manufacturer.input.account);
    assert.equal(s.block, await t.conn.publicClient.getBlockNumber({ cacheTime: 0 }));
  });

  test('a transferBatch mined just before a read is seen by that read', async () => {
    const cache = new UnitStateCache(t.conn, ledger);
    await agrees(cache);
    await send(manufacturer, 'transferBatch', [1, pharmacy.input.account, eventHash('ship B')]);
    const u = batches[1]?.units[0] as UnitRef;
    assert.equal((await cache.read(u, batches[1]?.lot as Commitment)).custodian, pharmacy.input.account);
    const other = batches[0]?.units[0] as UnitRef;
    const o = await cache.read(other, batches[0]?.lot as Commitment);
    assert.equal(o.custodian, manufacturer.input.account, 'the other batch stays put');
    await agrees(cache);
  });

  test('a unit dispensed just before a read reads Dispensed (events without unit ids drop every unit)', async () => {
    const cache = new UnitStateCache(t.conn, ledger);
    await agrees(cache);
    const u = batches[1]?.units[2] as UnitRef;
    await send(pharmacy, 'setStatus', [[{ ...u, proof: [...u.proof] }], S.Dispensed, eventHash('dispense')]);
    assert.equal((await cache.read(u, batches[1]?.lot as Commitment)).status, S.Dispensed);
    await agrees(cache);
  });

  test('a lot recall mined just before a read is seen at once, by every unit of the lot', async () => {
    const cache = new UnitStateCache(t.conn, ledger);
    await agrees(cache);
    const [a] = batches as [{ lot: Commitment; units: UnitRef[] }];
    assert.equal((await cache.read(a.units[5] as UnitRef, a.lot)).lotRecalled, false);
    await send(manufacturer, 'recallLot', [a.lot, eventHash('recall A')]);
    const s = await cache.read(a.units[5] as UnitRef, a.lot);
    assert.equal(s.lotRecalled, true);
    assert.equal(s.status, S.Recalled);
    for (const u of a.units) assert.equal((await cache.read(u, a.lot)).status, S.Recalled);
    await agrees(cache);
  });

  test('a read that arrives while a block-number call is in flight waits for the next one', async () => {
    // Hold the next eth_blockNumber answer until released, so a change can be mined in between.
    let hold: Promise<void> | undefined;
    let release = () => {};
    const publicClient = new Proxy(t.conn.publicClient, {
      get(target, p, receiver) {
        if (p !== 'getBlockNumber') return Reflect.get(target, p, receiver);
        return async (args: { cacheTime?: number }) => {
          const n = await target.getBlockNumber(args);
          const h = hold;
          hold = undefined;
          if (h) await h;
          return n;
        };
      },
    });
    const cache = new UnitStateCache({ ...t.conn, publicClient } as ChainConnection, ledger);
    const b = batches[1] as { lot: Commitment; units: UnitRef[] };
    const x = b.units[7] as UnitRef;
    assert.equal((await cache.read(x, b.lot)).status, S.Active, 'x is cached, Active');
    hold = new Promise((r) => {
      release = r;
    });
    const first = cache.read(b.units[8] as UnitRef, b.lot); // its block number is held
    await send(pharmacy, 'setStatus', [[{ ...x, proof: [...x.proof] }], S.Dispensed, eventHash('x')]);
    const second = cache.read(x, b.lot); // arrives after the dispense was mined
    release();
    await first;
    assert.equal((await second).status, S.Dispensed, 'the later read saw the block mined before it');
    await agrees(cache);
  });

  test('concurrent reads share block-number calls', async () => {
    const cache = new UnitStateCache(t.conn, ledger);
    await agrees(cache);
    const before = cache.stats.syncs;
    const reads = await Promise.all(
      Array.from({ length: 64 }, (_, i) => {
        const { u, lot } = all()[i % all().length] as { u: UnitRef; lot: Commitment };
        return cache.read(u, lot);
      }),
    );
    assert.equal(reads.length, 64);
    assert.ok(
      cache.stats.syncs - before <= 2,
      `64 reads made ${cache.stats.syncs - before} block-number calls`,
    );
  });

  test('a read given its request’s mark uses a block learned since: no call when its events are applied here, a call when the chain moved', async () => {
    const board = new BlockBoard();
    const cache = new UnitStateCache(t.conn, ledger, { board, latestBlock: latestBlockOf(t.chain.rpcUrl) });
    await agrees(cache);
    const b = batches[1] as { lot: Commitment; units: UnitRef[] };
    const x = b.units[3] as UnitRef;
    /** Another cache of the node (the consortium view) learns the latest block. */
    const learn = async () => {
      const seq = board.stamp();
      board.publish(seq, await t.conn.publicClient.getBlockNumber({ cacheTime: 0 }));
    };
    const syncs = cache.stats.syncs;
    let arrival = board.mark();
    await learn();
    const direct = await directUnitState(ledger).read(x, b.lot);
    assert.equal((await cache.read(x, b.lot, arrival)).status, direct.status);
    assert.equal(
      cache.stats.syncs,
      syncs,
      'a block learned since the request arrived, applied here: no call',
    );
    arrival = board.mark();
    await cache.read(x, b.lot, arrival);
    assert.equal(cache.stats.syncs, syncs + 1, 'nothing learned since the mark: it calls');
    // The chain moves after the next request arrived: the block learned since is newer than ours.
    arrival = board.mark();
    await send(pharmacy, 'setStatus', [[{ ...x, proof: [...x.proof] }], S.Dispensed, eventHash('x3')]);
    await learn();
    assert.equal((await cache.read(x, b.lot, arrival)).status, S.Dispensed, 'the dispense is seen');
    assert.equal(cache.stats.syncs, syncs + 2);
    await agrees(cache);
  });

  test('after more blocks than maxLogRange it starts empty rather than fetch them, and stays right', async () => {
    const cache = new UnitStateCache(t.conn, ledger, { maxLogRange: 1 });
    await agrees(cache);
    const b = batches[1] as { lot: Commitment; units: UnitRef[] };
    const y = b.units[10] as UnitRef;
    await cache.read(y, b.lot);
    const misses = cache.stats.misses;
    // Two blocks whose events change no cached unit (commissioning): only the gap empties the cache.
    for (const name of ['LOT-C', 'LOT-D']) {
      const ids = [unitCommitment(key, GTIN, `${name}-SN0`)];
      const root = buildUnitBatch(ids).root;
      await send(manufacturer, 'commission', [
        BigInt(GTIN),
        lotCommitment(key, GTIN, name),
        root,
        1,
        eventHash(name),
      ]);
    }
    const s = await cache.read(y, b.lot);
    assert.equal(cache.stats.misses, misses + 1, 'two blocks later: read again from the chain');
    assert.equal(s.custodian, pharmacy.input.account);
    await agrees(cache);
  });

  test('a unit read with a batch it is not in is refused, not cached', async () => {
    const cache = new UnitStateCache(t.conn, ledger);
    const a = batches[0]?.units[0] as UnitRef;
    await assert.rejects(cache.read({ ...a, batch: 1 }, batches[0]?.lot as Commitment));
    assert.equal(cache.stats.hits, 0);
    const again = await cache.read(a, batches[0]?.lot as Commitment);
    assert.equal(again.custodian as Address, manufacturer.input.account);
  });
});
