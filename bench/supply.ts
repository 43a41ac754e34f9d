/**
 * Drug supply chain figures (issue 14), on one embedded chain with two members, a manufacturer
 * (the GTIN responder, a real member node store) and a pharmacy:
 *
 *   commissioning  runs of N units end to end as POST /supply/commission does them
 *                  (src/supply/commission.ts): serials, keyed commitments, the Merkle tree, the
 *                  EPCIS commissioning event and its CBV hash, the run recorded, DrugLedger.commission
 *                  mined, the tree (once per batch), the units and the event stored in one commit.
 *                  Units/s per run, and the time of each step; and the same sizes through
 *                  `commissionLot` itself (outbox, request log, chain reads).
 *   verification   the responder's answer (verificationResponder.ts) over a store of
 *                  BENCH_SUPPLY_VERIFY_UNITS units shipped to the pharmacy, asked about a random
 *                  one each time: in process (sequential, and BENCH_SUPPLY_CONCURRENCY at once),
 *                  and over HTTP against the node in its own process, with member MACs (the path a
 *                  pharmacy's node takes: src/access/memberMac.ts) at BENCH_SUPPLY_CONCURRENCY and
 *                  four times it in flight, and with member signatures beside for comparison (each
 *                  request is single use, so all are made before the clock starts; what making one
 *                  costs is reported beside). The node's and the chain's CPU time per request are
 *                  read from /proc around each round.
 *   gas            commission, transferBatch and a single setStatus (dispense, recall) for batch
 *                  sizes 1, 100, 1,000 and 10,000, per unit amortized.
 *
 * Medians over BENCH_SUPPLY_ROUNDS rounds. Writes bench/results/supply.json and supply.md with
 * the load average at the start and the end.
 *
 *   BENCH_SUPPLY_SIZES         commissioning run sizes, default 1000,10000
 *   BENCH_SUPPLY_ROUNDS        rounds (commissioning runs per size, verification rounds), default 3
 *   BENCH_SUPPLY_VERIFY_UNITS  units in the verified lot, default 10000
 *   BENCH_SUPPLY_VERIFY_OPS    verifications per round and mode (in process, HTTP signed), default 2000
 *   BENCH_SUPPLY_HTTP_OPS      verifications per round over HTTP with MACs, default 10000
 *   BENCH_SUPPLY_CONCURRENCY   requests in flight at once (in process and HTTP), default 16
 *   BENCH_SUPPLY_GAS_SIZES     batch sizes of the gas table, default 1,100,1000,10000
 *   BENCH_SUPPLY_CPU_PROF      a directory: profile the node's process (node --cpu-prof) into it
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import type { Address, Hex } from 'viem';

import type { Actor } from '../src/access/gatekeeper.js';
import { memberAuthHeader, memberAuthMessage } from '../src/access/memberAuth.js';
import { memberMacHeader, verifyMemberMac } from '../src/access/memberMac.js';
import { ReplayGuard } from '../src/access/replayGuard.js';
import { type ChainConnection, connectChain, walletFor } from '../src/chain/clients.js';
import { type DrugLedgerContract, drugLedgerContract } from '../src/chain/contracts.js';
import { deployContracts } from '../src/chain/deploy.js';
import { launchEmbeddedChain } from '../src/chain/embeddedChain.js';
import { drugLedgerAbi } from '../src/chain/generated/index.js';
import { Outbox } from '../src/chain/outbox.js';
import { rolesToMask } from '../src/chain/scopes.js';
import { writeAndWait } from '../src/chain/transact.js';
import { memberAccount } from '../src/crypto/memberAccount.js';
import { pairwiseMacKey } from '../src/crypto/pairwiseKey.js';
import { isMessageSignedBy } from '../src/crypto/signatureSigner.js';
import { supplyVerifyRequestBody } from '../src/federation/wire.js';
import { createIdentity } from '../src/node/memberIdentity.js';
import { keyFileOf, type MemberNode, openMemberNode } from '../src/node/memberNode.js';
import { CustodyStore } from '../src/store/custodyStore.js';
import { openDatabase } from '../src/store/database.js';
import type { StoredUnit } from '../src/store/unitStore.js';
import { type CommissionDeps, commissionLot } from '../src/supply/commission.js';
import {
  type CommissioningRun,
  commissionedRun,
  newSerials,
  storedUnits,
} from '../src/supply/commissioningRun.js';
import { commissioningEvent } from '../src/supply/epcisEvents.js';
import { epcisEventHash, eventHashDigest } from '../src/supply/epcisHash.js';
import { withCheckDigit } from '../src/supply/gs1CheckDigit.js';
import { supplyKeyOf } from '../src/supply/supplyKey.js';
import { buildUnitBatch } from '../src/supply/unitBatch.js';
import { directUnitState, UnitStateCache } from '../src/supply/unitChainState.js';
import { lotCommitment, unitCommitment } from '../src/supply/unitCommitment.js';
import { SUPPLY_VERIFY_PATH } from '../src/supply/verificationRequester.js';
import { answerVerification, type ResponderDeps } from '../src/supply/verificationResponder.js';
import { processCpuMs } from './_processCpu.js';
import { median, quantile } from './_stats.js';

const SIZES = (process.env.BENCH_SUPPLY_SIZES ?? '1000,10000').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_SUPPLY_ROUNDS ?? 3);
const VERIFY_UNITS = Number(process.env.BENCH_SUPPLY_VERIFY_UNITS ?? 10_000);
const VERIFY_OPS = Number(process.env.BENCH_SUPPLY_VERIFY_OPS ?? 2_000);
const HTTP_OPS = Number(process.env.BENCH_SUPPLY_HTTP_OPS ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_SUPPLY_CONCURRENCY ?? 16);
/** In-process concurrency levels: one at a time, the HTTP level, and four times it. */
const LEVELS = [1, CONCURRENCY, 4 * CONCURRENCY];
/** The HTTP rows: MACs at the HTTP level and four times it; signatures at the HTTP level. */
const HTTP_ROWS = [
  { scheme: 'mac', concurrency: CONCURRENCY },
  { scheme: 'mac', concurrency: 4 * CONCURRENCY },
  { scheme: 'signed', concurrency: CONCURRENCY },
] as const;
type HttpScheme = (typeof HTTP_ROWS)[number]['scheme'];
const GAS_SIZES = (process.env.BENCH_SUPPLY_GAS_SIZES ?? '1,100,1000,10000').split(',').map(Number);
/** The targets. */
const TARGETS = { verificationsPerSec: 5_000, unitsPerSec: 10_000 };

const PREFIX = '9521234';
const GTIN = withCheckDigit(`0${PREFIX}00011`);
const EXPIRY = '291231';
const GLN = '9521234000006';
const PASS = 'bench passphrase';
const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.join(here, 'results');
const repoRoot = path.resolve(here, '..');

const STATUS = { dispensed: 2, recalled: 3 } as const;

const r2 = (x: number) => Number(x.toFixed(2));
const r0 = (x: number) => Math.round(x);
const load = () => os.loadavg().map((x) => r2(x)) as [number, number, number];
const bytes = (h: string) => new Uint8Array(Buffer.from(h.slice(2), 'hex'));
/** CPU time (user + system, ms) a process has used so far (bench/_processCpu.ts). */
function cpuMsOf(pid: number | undefined): number {
  const t = processCpuMs(pid);
  return t.user + t.sys;
}

interface Ctx {
  conn: ChainConnection;
  ledger: DrugLedgerContract;
  manufacturer: MemberNode;
  mWallet: ReturnType<typeof walletFor>;
  pWallet: ReturnType<typeof walletFor>;
  pharmacy: Address;
  supplyKey: Uint8Array;
  /** `commissionLot`'s collaborators over the manufacturer's store, with its own outbox. */
  commission: CommissionDeps;
}

const STEPS = ['serials', 'commitments', 'tree', 'event', 'eventHash', 'record', 'chain', 'store'] as const;
type Step = (typeof STEPS)[number];

/**
 * One commissioning run of `n` units, end to end, timed step by step, with the functions
 * `POST /supply/commission` runs (src/supply/commission.ts): the run recorded before it is sent,
 * the transaction mined, then the tree once, the units and the event stored in one commit. (The
 * API sends through the outbox and logs the request; here the transaction is sent directly.)
 */
async function commissionRun(c: Ctx, n: number, lot: string) {
  const ms = {} as Record<Step, number>;
  let t = performance.now();
  const lap = (s: Step) => {
    const now = performance.now();
    ms[s] = now - t;
    t = now;
  };
  const t0 = t;
  const time = new Date();
  const serials = newSerials(n);
  const ids = serials.map((serial) => ({ gtin: GTIN, serial, lot, expiry: EXPIRY }));
  lap('serials');
  const commitments = ids.map((u) => unitCommitment(c.supplyKey, u.gtin, u.serial));
  lap('commitments');
  const tree = buildUnitBatch(commitments);
  lap('tree');
  const event = commissioningEvent(ids, { time, location: GLN });
  lap('event');
  const hash = epcisEventHash(event);
  lap('eventHash');
  const run: CommissioningRun = {
    units: ids,
    commitments,
    tree,
    lotCommitment: lotCommitment(c.supplyKey, GTIN, lot),
    event,
    eventHash: hash,
  };
  const units = c.manufacturer.units;
  units.putPendingRun({
    root: tree.root,
    gtin: GTIN,
    lot,
    count: n,
    run: { gtin: GTIN, lot, expiry: EXPIRY, serials, time: time.toISOString(), location: GLN },
    createdMs: time.getTime(),
  });
  lap('record');
  const batch = Number(await c.ledger.read.batchCount());
  const tx = await writeAndWait(c.conn, c.mWallet, {
    address: c.ledger.address,
    abi: drugLedgerAbi,
    functionName: 'commission',
    args: [BigInt(GTIN), run.lotCommitment, tree.root, n, eventHashDigest(hash)],
  });
  lap('chain');
  c.manufacturer.db.transaction(() => {
    units.putCommissionedRun(commissionedRun(run, batch));
    units.putEvent(hash, event);
  })();
  lap('store');
  const totalMs = t - t0;
  // With their proofs, for the gas and verification parts (not timed: read when a unit is used).
  return { n, totalMs, ms, gas: Number(tx.receipt.gasUsed), batch, units: storedUnits(run, batch) };
}

const BENCH_ADMIN: Actor = { id: 'bench-admin', role: 'admin', purpose: 'operations' };

/** One run through `commissionLot`, the function behind POST /supply/commission; its ms. */
async function commissionThroughApi(c: Ctx, n: number, lot: string): Promise<number> {
  const t0 = performance.now();
  const r = await commissionLot(c.commission, BENCH_ADMIN, { gtin: GTIN, lot, expiry: EXPIRY, count: n });
  const ms = performance.now() - t0;
  if (r.count !== n) throw new Error(`commissionLot made ${r.count} units, not ${n}`);
  return ms;
}

/** Ship a whole batch to the pharmacy; the gas used. */
async function shipToPharmacy(c: Ctx, batch: number): Promise<number> {
  const tx = await writeAndWait(c.conn, c.mWallet, {
    address: c.ledger.address,
    abi: drugLedgerAbi,
    functionName: 'transferBatch',
    args: [batch, c.pharmacy, `0x${'11'.repeat(32)}`],
  });
  return Number(tx.receipt.gasUsed);
}

/** setStatus of one unit by `wallet`; the gas used. */
async function setStatusGas(c: Ctx, wallet: Ctx['mWallet'], u: StoredUnit, to: number): Promise<number> {
  const tx = await writeAndWait(c.conn, wallet, {
    address: c.ledger.address,
    abi: drugLedgerAbi,
    functionName: 'setStatus',
    args: [[{ id: u.commitment, batch: u.batch, proof: u.proof }], to, `0x${'22'.repeat(32)}`],
  });
  return Number(tx.receipt.gasUsed);
}

/** Run `op` `count` times with `concurrency` in flight; per-op latencies (ms) and ops/s. */
async function drive(count: number, concurrency: number, op: (i: number) => Promise<void>) {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) {
        const s = performance.now();
        await op(i);
        lat.push(performance.now() - s);
      }
    }),
  );
  const wall = performance.now() - t0;
  return { p50Ms: median(lat), p99Ms: quantile(lat, 0.99), perSec: (count / wall) * 1000 };
}

async function startResponder(dir: string, manifestFile: string, rpcUrl: string) {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      // BENCH_SUPPLY_CPU_PROF=<dir>: a V8 CPU profile of the node, written there when it stops.
      ...(process.env.BENCH_SUPPLY_CPU_PROF
        ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_SUPPLY_CPU_PROF)}`]
        : []),
      '--import',
      'tsx',
      path.join(here, '_memberServer.ts'),
      dir,
      manifestFile,
      rpcUrl,
    ],
    { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  child.stdin?.write(`${PASS}\n`);
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the responder did not listen within 60 s')), 60_000);
    lines.once('line', (l) => {
      clearTimeout(timer);
      resolve((JSON.parse(l) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`the responder exited (${code}) before listening`)));
  });
  return {
    url,
    pid: child.pid,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.stdin?.end();
      }),
  };
}

export async function main(): Promise<void> {
  const loadStart = load();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'medchain-bench-supply-'));
  const chain = await launchEmbeddedChain({ dataDir: path.join(dir, 'chain') });
  let manufacturer: MemberNode | undefined;
  try {
    const conn = await connectChain(chain.rpcUrl);
    const mDir = path.join(dir, 'manufacturer');
    const mId = createIdentity(keyFileOf(mDir), PASS);
    const pId = createIdentity(keyFileOf(path.join(dir, 'pharmacy')), PASS);
    const manifestFile = path.join(dir, 'deployment.json');
    const { manifest } = await deployContracts(conn, walletFor(conn, mId.chainKey), {
      genesis: [[mId, 'MANUFACTURER', 'manufacturer'] as const, [pId, 'PHARMACY', 'pharmacy'] as const].map(
        ([id, role, name]) => ({
          account: id.address,
          roles: rolesToMask([role]),
          encryptionKey: id.encryptionPublicKey,
          name,
          endpoint: 'http://127.0.0.1:1',
        }),
      ),
      manifestFile,
    });
    const ledger = drugLedgerContract(conn, manifest);
    if (!ledger) throw new Error('the deployment has no DrugLedger');
    manufacturer = openMemberNode(mDir, PASS, { manifest });
    manufacturer.units.setSetting('gln', GLN);
    const c: Ctx = {
      conn,
      ledger,
      manufacturer,
      mWallet: walletFor(conn, mId.chainKey),
      pWallet: walletFor(conn, pId.chainKey),
      pharmacy: pId.address,
      supplyKey: supplyKeyOf(bytes(mId.indexKey)),
      commission: {
        conn,
        ledger,
        outbox: new Outbox(manufacturer.db, conn, walletFor(conn, mId.chainKey)),
        log: manufacturer.log,
        units: manufacturer.units,
        custody: new CustodyStore(manufacturer.db),
        supplyKey: supplyKeyOf(bytes(mId.indexKey)),
        self: mId.address,
      },
    };
    await writeAndWait(conn, c.mWallet, {
      address: ledger.address,
      abi: drugLedgerAbi,
      functionName: 'claimPrefix',
      args: [BigInt(PREFIX), PREFIX.length],
    });
    let lots = 0;
    const lot = () => `L${String(++lots).padStart(5, '0')}`;

    // ---------------------------------------------------------------- gas
    const gas: {
      batchSize: number;
      commission: number;
      transferBatch: number;
      dispenseOne: number;
      recallOne: number;
    }[] = [];
    for (const n of GAS_SIZES) {
      const a = await commissionRun(c, n, lot());
      const transferBatch = await shipToPharmacy(c, a.batch);
      const dispenseOne = await setStatusGas(c, c.pWallet, a.units[0] as StoredUnit, STATUS.dispensed);
      // The GTIN owner recalls one unit (another one, still on the batch's path: a first touch too).
      const recallOne =
        n > 1 ? await setStatusGas(c, c.mWallet, a.units[1] as StoredUnit, STATUS.recalled) : Number.NaN;
      gas.push({ batchSize: n, commission: a.gas, transferBatch, dispenseOne, recallOne });
    }

    // ---------------------------------------------------------------- commissioning
    const runs: Awaited<ReturnType<typeof commissionRun>>[] = [];
    const apiRuns: { n: number; totalMs: number }[] = [];
    await commissionRun(c, 100, lot()); // warm-up (JIT, statement cache)
    await commissionThroughApi(c, 100, lot());
    for (let round = 0; round < ROUNDS; round++)
      for (const n of SIZES) {
        const r = await commissionRun(c, n, lot());
        runs.push({ ...r, units: [] });
        apiRuns.push({ n, totalMs: await commissionThroughApi(c, n, lot()) });
      }
    const commissioning = SIZES.map((n) => {
      const mine = runs.filter((r) => r.n === n);
      const totalMs = median(mine.map((r) => r.totalMs));
      const apiMs = median(apiRuns.filter((r) => r.n === n).map((r) => r.totalMs));
      return {
        units: n,
        runs: mine.length,
        totalMs: r2(totalMs),
        unitsPerSec: r0((n / totalMs) * 1000),
        api: { totalMs: r2(apiMs), unitsPerSec: r0((n / apiMs) * 1000) },
        stepsMs: Object.fromEntries(STEPS.map((s) => [s, r2(median(mine.map((r) => r.ms[s])))])) as Record<
          Step,
          number
        >,
      };
    });

    // ---------------------------------------------------------------- verification
    const verified = await commissionRun(c, VERIFY_UNITS, lot());
    await shipToPharmacy(c, verified.batch);
    const pick = () => verified.units[Math.floor(Math.random() * verified.units.length)] as StoredUnit;
    const body = (u: StoredUnit) => ({
      gtin: u.gtin,
      serial: u.serial,
      lot: u.lot,
      expiry: u.expiry,
      corrUUID: randomUUID(),
    });
    const direct: ResponderDeps = {
      units: manufacturer.units,
      log: manufacturer.log,
      ledger,
      supplyKey: c.supplyKey,
    };
    const cache = new UnitStateCache(conn, ledger);
    const modes = { direct, cached: { ...direct, chain: cache } } as const;
    const once = (deps: ResponderDeps) => async () => {
      const a = await answerVerification(deps, c.pharmacy, body(pick()));
      if (!a.saleable) throw new Error(`a genuine unit was answered ${JSON.stringify(a.data)}`);
    };
    for (const deps of Object.values(modes)) for (let i = 0; i < 200; i++) await once(deps)(); // warm-up
    // A responder that has answered for each of its units once: every unit in the cache. (A unit
    // asked about for the first time, or after an event dropped it, costs a direct read and one
    // block-number call: the cold row below.)
    const coldRounds = [await drive(VERIFY_OPS, CONCURRENCY, once(modes.cached))];
    await drive(verified.units.length, CONCURRENCY, async (i) => {
      const u = verified.units[i] as StoredUnit;
      await cache.read(
        { id: u.commitment, batch: u.batch, proof: u.proof },
        lotCommitment(c.supplyKey, GTIN, u.lot),
      );
    });
    const warmStats = { ...cache.stats };
    // What one durable commit costs on this disk now (the store's settings: WAL, synchronous=FULL).
    const scratch = openDatabase(path.join(dir, 'fsync.db'), ['CREATE TABLE t (x INTEGER)']);
    const insert = scratch.prepare('INSERT INTO t (x) VALUES (?)');
    const commitMs: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      insert.run(i);
      commitMs.push(performance.now() - t0);
    }
    scratch.close();
    const inProcessRounds: Record<string, Awaited<ReturnType<typeof drive>>[]> = {};
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which goes first, so neither always runs on a quieter machine.
      const order = round % 2 === 0 ? (['direct', 'cached'] as const) : (['cached', 'direct'] as const);
      for (const concurrency of LEVELS)
        for (const mode of order) {
          const k = `${mode}@${concurrency}`;
          inProcessRounds[k] = [
            ...(inProcessRounds[k] ?? []),
            await drive(VERIFY_OPS, concurrency, once(modes[mode])),
          ];
        }
    }
    // The two chain reads alone (what each direct answer waits for), sequentially.
    const reads = await drive(VERIFY_OPS, 1, async () => {
      const u = pick();
      await directUnitState(ledger).read(
        { id: u.commitment, batch: u.batch, proof: u.proof },
        lotCommitment(c.supplyKey, GTIN, u.lot),
      );
    });
    manufacturer.close();
    manufacturer = undefined;

    // Over HTTP: the node in its own process; every request's credential made beforehand.
    const signer = memberAccount(pId.chainKey); // as the pharmacy's node signs (libsecp256k1)
    const macKey = pairwiseMacKey(
      { address: pId.address, privateKey: bytes(pId.encryptionPrivateKey) },
      { address: mId.address, publicKey: bytes(mId.encryptionPublicKey) },
      'to-peer',
      { chainId: manifest.chainId, registry: manifest.contracts.Registry },
    );
    const responder = await startResponder(mDir, manifestFile, chain.rpcUrl);
    type HttpRound = {
      p50Ms: number;
      p99Ms: number;
      perSec: number;
      non2xx: number;
      errors: number;
      /** CPU time of the node's process, and of the chain's, per request answered (ms). */
      serverCpuMs: number;
      chainCpuMs: number;
    };
    const httpRounds: Record<string, HttpRound[]> = {};
    const makeMs: Record<HttpScheme, number[]> = { mac: [], signed: [] };
    let verifyMs = Number.NaN;
    let macVerifyMs = Number.NaN;
    try {
      const made = async (scheme: HttpScheme, count: number) => {
        const t0 = performance.now();
        const pool: { body: string; authorization: string }[] = [];
        for (let i = 0; i < count; i++) {
          const payload = supplyVerifyRequestBody(body(pick()));
          pool.push({
            body: payload,
            authorization:
              scheme === 'mac'
                ? memberMacHeader(macKey, pId.address, mId.address, 'POST', SUPPLY_VERIFY_PATH, payload)
                : await memberAuthHeader(signer, mId.address, 'POST', SUPPLY_VERIFY_PATH, payload),
          });
        }
        makeMs[scheme].push((performance.now() - t0) / count);
        return pool;
      };
      const fire = async (pool: { body: string; authorization: string }[], connections: number) => {
        let i = 0;
        const cpu0 = [cpuMsOf(responder.pid), cpuMsOf(chain.pid)] as const;
        // The round's time from the first request sent to the last answer received: autocannon's
        // own `duration` with `amount` ends at its next one-second tick (2 s for a 1.1 s round).
        const t0 = performance.now();
        let lastAnswerAt = t0;
        const r = await new Promise<autocannon.Result>((resolve, reject) => {
          const run = autocannon(
            {
              url: responder.url,
              connections,
              amount: pool.length,
              requests: [
                {
                  method: 'POST',
                  path: SUPPLY_VERIFY_PATH,
                  setupRequest: (req) => {
                    const x = pool[i++ % pool.length] as (typeof pool)[number];
                    return {
                      ...req,
                      headers: { 'content-type': 'application/json', authorization: x.authorization },
                      body: x.body,
                    };
                  },
                },
              ],
            },
            (err, result) => (err ? reject(err) : resolve(result)),
          );
          run.on('response', () => {
            lastAnswerAt = performance.now();
          });
        });
        const answered = r['2xx'] + r.non2xx || 1;
        return {
          p50Ms: r.latency.p50,
          p99Ms: r.latency.p99,
          perSec: (r['2xx'] * 1000) / Math.max(1, lastAnswerAt - t0),
          non2xx: r.non2xx,
          errors: r.errors + r.timeouts,
          serverCpuMs: (cpuMsOf(responder.pid) - cpu0[0]) / answered,
          chainCpuMs: (cpuMsOf(chain.pid) - cpu0[1]) / answered,
        };
      };
      const warm = await made('signed', 200);
      // What the responder spends on each request's signature, alone (in this process).
      const v0 = performance.now();
      for (const x of warm.slice(0, 100)) {
        const f = x.authorization.match(/timestamp=(\d+),signature=(0x[0-9a-f]+)/) as RegExpMatchArray;
        const message = memberAuthMessage(
          pId.address,
          mId.address,
          'POST',
          SUPPLY_VERIFY_PATH,
          x.body,
          Number(f[1]),
        );
        if (!isMessageSignedBy(pId.address, message, f[2] as Hex))
          throw new Error('a signed request did not verify');
      }
      verifyMs = (performance.now() - v0) / 100;
      // And on each MAC, alone: parse, HMAC, constant-time compare, single use (the key at hand).
      const macs = await made('mac', 2_000);
      const guard = new ReplayGuard();
      const m0 = performance.now();
      for (const x of macs) {
        const ok = await verifyMemberMac(
          x.authorization,
          mId.address,
          'POST',
          SUPPLY_VERIFY_PATH,
          x.body,
          guard,
          async () => macKey,
        );
        if (!ok) throw new Error('a MAC request did not verify');
      }
      macVerifyMs = (performance.now() - m0) / macs.length;
      await fire(warm, CONCURRENCY); // warm-up
      // A responder that has answered for each of its units once (its UnitStateCache holds them
      // all, as after the in-process warm-up above): every unit asked about once, with MACs.
      const everyUnit: { body: string; authorization: string }[] = verified.units.map((u) => {
        const payload = supplyVerifyRequestBody(body(u));
        return {
          body: payload,
          authorization: memberMacHeader(
            macKey,
            pId.address,
            mId.address,
            'POST',
            SUPPLY_VERIFY_PATH,
            payload,
          ),
        };
      });
      await fire(everyUnit, CONCURRENCY);
      for (let round = 0; round < ROUNDS; round++)
        for (const row of HTTP_ROWS) {
          const k = `${row.scheme}@${row.concurrency}`;
          const pool = await made(row.scheme, row.scheme === 'mac' ? HTTP_OPS : VERIFY_OPS);
          httpRounds[k] = [...(httpRounds[k] ?? []), await fire(pool, row.concurrency)];
        }
    } finally {
      await responder.stop();
    }

    const med = (xs: { p50Ms: number; p99Ms: number; perSec: number }[]) => ({
      p50Ms: r2(median(xs.map((x) => x.p50Ms))),
      p99Ms: r2(median(xs.map((x) => x.p99Ms))),
      perSec: r0(median(xs.map((x) => x.perSec))),
    });
    const verification = {
      storeUnits: VERIFY_UNITS,
      opsPerRound: VERIFY_OPS,
      concurrency: CONCURRENCY,
      inProcess: Object.fromEntries(Object.entries(inProcessRounds).map(([k, xs]) => [k, med(xs)])),
      cold: med(coldRounds),
      cache: (() => {
        const hits = cache.stats.hits - warmStats.hits;
        const misses = cache.stats.misses - warmStats.misses;
        return {
          hits,
          misses,
          syncs: cache.stats.syncs - warmStats.syncs,
          hitRatio: r2(hits / (hits + misses)),
        };
      })(),
      chainReadsSequential: { p50Ms: r2(reads.p50Ms), p99Ms: r2(reads.p99Ms), perSec: r0(reads.perSec) },
      http: Object.fromEntries(
        Object.entries(httpRounds).map(([k, xs]) => [
          k,
          {
            ...med(xs),
            requestsPerRound: k.startsWith('mac') ? HTTP_OPS : VERIFY_OPS,
            serverCpuMsPerRequest: Number(median(xs.map((x) => x.serverCpuMs)).toFixed(3)),
            chainCpuMsPerRequest: Number(median(xs.map((x) => x.chainCpuMs)).toFixed(3)),
            non2xx: xs.reduce((a, r) => a + r.non2xx, 0),
            errors: xs.reduce((a, r) => a + r.errors, 0),
          },
        ]),
      ),
      durableCommitMs: { p50: r2(median(commitMs)), p90: r2(quantile(commitMs, 0.9)) },
      signMsPerRequest: r2(median(makeMs.signed)),
      macMsPerRequest: Number(median(makeMs.mac).toFixed(4)),
      verifyMsPerRequest: r2(verifyMs),
      macVerifyMsPerRequest: Number(macVerifyMs.toFixed(4)),
    };
    const loadEnd = load();
    const result = { verification, commissioning, gas };
    const md = report(result, loadStart, loadEnd);
    const meta = {
      bench: 'supply',
      date: new Date().toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      rounds: ROUNDS,
      loadAverageStart: loadStart,
      loadAverageEnd: loadEnd,
      targets: TARGETS,
    };
    writeFileSync(
      path.join(outDir, 'supply.json'),
      `${JSON.stringify({ ...meta, results: result, samples: { runs: runs.map(({ units: _, ...r }) => r), httpRounds } }, null, 2)}\n`,
    );
    writeFileSync(
      path.join(outDir, 'supply.md'),
      `# Drug supply chain\n\n${meta.date}, ${meta.node}, ${md}\n`,
    );
    process.stdout.write(`${md}\n\nwrote bench/results/supply.json and bench/results/supply.md\n`);
  } finally {
    manufacturer?.close();
    await chain.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

type Result = {
  verification: {
    storeUnits: number;
    opsPerRound: number;
    concurrency: number;
    inProcess: Record<string, { p50Ms: number; p99Ms: number; perSec: number }>;
    cold: { p50Ms: number; p99Ms: number; perSec: number };
    cache: { hits: number; misses: number; syncs: number; hitRatio: number };
    chainReadsSequential: { p50Ms: number; p99Ms: number; perSec: number };
    http: Record<
      string,
      {
        p50Ms: number;
        p99Ms: number;
        perSec: number;
        requestsPerRound: number;
        serverCpuMsPerRequest: number;
        chainCpuMsPerRequest: number;
        non2xx: number;
        errors: number;
      }
    >;
    durableCommitMs: { p50: number; p90: number };
    signMsPerRequest: number;
    macMsPerRequest: number;
    verifyMsPerRequest: number;
    macVerifyMsPerRequest: number;
  };
  commissioning: {
    units: number;
    runs: number;
    totalMs: number;
    unitsPerSec: number;
    api: { totalMs: number; unitsPerSec: number };
    stepsMs: Record<Step, number>;
  }[];
  gas: {
    batchSize: number;
    commission: number;
    transferBatch: number;
    dispenseOne: number;
    recallOne: number;
  }[];
};

function report(r: Result, loadStart: number[], loadEnd: number[]): string {
  const v = r.verification;
  const vs = (x: number, target: number) => `${x} (${r2(x / target)}x the ${target}/s target)`;
  const per = (gas: number, n: number) => (Number.isNaN(gas) ? '—' : String(r0(gas / n)));
  return [
    `${os.cpus().length} CPUs, load average ${loadStart.join(' ')} at the start, ${loadEnd.join(' ')} at the end; medians over ${ROUNDS} rounds`,
    '',
    `## Verifications at the responder (${v.storeUnits} units in the lot, a random one each time, ${v.opsPerRound} per round)`,
    '',
    '| path | in flight | p50 ms | p99 ms | per second |',
    '|---|---:|---:|---:|---:|',
    ...(['direct', 'cached'] as const).flatMap((mode) =>
      LEVELS.map((n) => {
        const x = v.inProcess[`${mode}@${n}`] as { p50Ms: number; p99Ms: number; perSec: number };
        const what =
          mode === 'direct'
            ? 'in process, chain read per answer (stateOf + isLotRecalled)'
            : 'in process, UnitStateCache, every unit cached (one shared eth_blockNumber per group)';
        return `| ${what} | ${n} | ${x.p50Ms} | ${x.p99Ms} | ${vs(x.perSec, TARGETS.verificationsPerSec)} |`;
      }),
    ),
    `| in process, UnitStateCache, cold (first question about each unit) | ${v.concurrency} | ${v.cold.p50Ms} | ${v.cold.p99Ms} | ${vs(v.cold.perSec, TARGETS.verificationsPerSec)} |`,
    `| the two chain reads alone (stateOf, isLotRecalled) | 1 | ${v.chainReadsSequential.p50Ms} | ${v.chainReadsSequential.p99Ms} | ${v.chainReadsSequential.perSec} |`,
    '',
    `## Over HTTP: POST ${SUPPLY_VERIFY_PATH} at the node in its own process`,
    '',
    `After one question about each of the ${v.storeUnits} units (the node's UnitStateCache then holds them all); a random unit each time; every answer logged durably before it is sent.`,
    '',
    '| member credential | in flight | requests per round | p50 ms | p99 ms | per second | node CPU ms per request | chain CPU ms per request |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...HTTP_ROWS.map((row) => {
      const x = v.http[`${row.scheme}@${row.concurrency}`];
      if (!x) return `| ${row.scheme} | ${row.concurrency} | — | — | — | — | — | — |`;
      const what =
        row.scheme === 'mac'
          ? 'MAC (`MedchainMemberMac`, HMAC-SHA256)'
          : 'signature (`MedchainMember`, EIP-191)';
      return `| ${what} | ${row.concurrency} | ${x.requestsPerRound} | ${x.p50Ms} | ${x.p99Ms} | ${vs(x.perSec, TARGETS.verificationsPerSec)} | ${x.serverCpuMsPerRequest} | ${x.chainCpuMsPerRequest} |`;
    }),
    '',
    `In process: every answer is logged durably before it is returned (group commit: better-sqlite3 commits synchronously, so each group's fsync holds the event loop) and the scan noted in the same commit; one durable commit on this disk took ${v.durableCommitMs.p50} ms at p50, ${v.durableCommitMs.p90} ms at p90 during the run. Cache over the warm rounds: ${v.cache.hits} hits, ${v.cache.misses} misses, ${v.cache.syncs} block-number calls. HTTP (the node as wired, with its caches): ${Object.values(v.http).reduce((a, x) => a + x.non2xx, 0)} non-2xx answers, ${Object.values(v.http).reduce((a, x) => a + x.errors, 0)} errors. Checking a request's credential, measured here alone: a secp256k1 signature ${v.verifyMsPerRequest} ms of CPU (libsecp256k1, as the node checks it), a MAC ${v.macVerifyMsPerRequest} ms (with its pairwise key at hand, as the node keeps it). Making one at the pharmacy's node (not in the HTTP figures): a signature ${v.signMsPerRequest} ms, a MAC ${v.macMsPerRequest} ms. CPU per request is the process's user + system time over the round divided by the requests answered (the load generator runs in the benchmark's own process, not counted).`,
    '',
    '## Commissioning runs, end to end',
    '',
    `| units | runs | ms | units/s | ${STEPS.join(' ms | ')} ms |`,
    `|---:|---:|---:|---:|${STEPS.map(() => '---:').join('|')}|`,
    ...r.commissioning.map(
      (x) =>
        `| ${x.units} | ${x.runs} | ${x.totalMs} | ${vs(x.unitsPerSec, TARGETS.unitsPerSec)} | ${STEPS.map((s) => x.stepsMs[s]).join(' | ')} |`,
    ),
    '',
    'Through `commissionLot`, the function behind POST /supply/commission (the request logged, the prefix claims read from chain events, the run recorded with its outbox entry, sent and confirmed through the outbox, then stored):',
    '',
    '| units | runs | ms | units/s |',
    '|---:|---:|---:|---:|',
    ...r.commissioning.map(
      (x) => `| ${x.units} | ${x.runs} | ${x.api.totalMs} | ${vs(x.api.unitsPerSec, TARGETS.unitsPerSec)} |`,
    ),
    '',
    '## Gas (embedded anvil; a setStatus is the first touch of a unit still on its batch: Merkle proof + own slot)',
    '',
    '| batch size | commission | per unit | transferBatch | per unit | setStatus Dispensed, 1 unit | setStatus Recalled, 1 unit |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...r.gas.map(
      (g) =>
        `| ${g.batchSize} | ${g.commission} | ${per(g.commission, g.batchSize)} | ${g.transferBatch} | ${per(g.transferBatch, g.batchSize)} | ${g.dispenseOne} | ${Number.isNaN(g.recallOne) ? '—' : g.recallOne} |`,
    ),
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
