/**
 * A manufacturer commissions a lot through the API (`POST /supply/commission`, an administrator of
 * the member: {gtin, lot, expiry (YYMMDD), count (1..10000), caseSize?}): the GTIN must be under a
 * company prefix (or be a GTIN) this member claimed in DrugLedger; the units get random serials and
 * go on chain as one Merkle batch in one transaction through the outbox, with the hash of the
 * EPCIS commissioning event (ObjectEvent ADD with lot master data). With `caseSize`, the units are
 * packed in order into cases of that many (the last may hold fewer), each an SSCC under the
 * member's company prefix with its EPCIS AggregationEvent. The run is recorded in the commit that
 * queues its transaction in the outbox (key `commission:<root>`) and its units stored once the
 * chain confirmed the batch: no unit is known here without its batch on chain, and a batch sent
 * before a crash is stored (or, refused, forgotten) by `resumeCommissioning`. The answer lists
 * the units and cases created.
 */
import { type Address, type Hex, parseEventLogs } from 'viem';
import type { Actor } from '../access/gatekeeper.js';
import type { ChainConnection } from '../chain/clients.js';
import type { DrugLedgerContract } from '../chain/contracts.js';
import { drugLedgerAbi } from '../chain/generated/index.js';
import type { Outbox } from '../chain/outbox.js';
import { badRequest, ConflictError, forbidden, UnavailableError } from '../errors.js';
import type { TransparencyLog } from '../log/transparencyLog.js';
import type { CustodyStore, UnitKey } from '../store/custodyStore.js';
import type { UnitStore } from '../store/unitStore.js';
import { requestBody } from './_requestBody.js';
import { buildCommissioningRun, type CommissioningRun, commissionedRun } from './commissioningRun.js';
import { claimedPrefixes, companyPrefixOf } from './companyPrefix.js';
import { custodyHash, loggedCustody } from './custodyLog.js';
import { aggregationEvent, unitEpc } from './epcisEvents.js';
import { epcisEventHash, eventHashDigest } from './epcisHash.js';
import { gs1DateEnd, writeDigitalLink } from './gs1.js';
import { parseGtin } from './gs1CheckDigit.js';
import { makeSscc } from './sscc.js';

/** The most units one commissioning run takes (one transaction, one Merkle tree). */
export const MAX_COMMISSION_COUNT = 10_000;
/** User roles that may commission (and ship and receive): the member's administrators. */
export const CUSTODY_ADMINS: readonly string[] = ['admin'];

export interface CommissionDeps {
  conn: ChainConnection;
  ledger: DrugLedgerContract;
  outbox: Outbox;
  log: TransparencyLog;
  units: UnitStore;
  custody: CustodyStore;
  supplyKey: Uint8Array;
  self: Address;
  now?: () => Date;
}

/** What a commissioning run created. */
export interface CommissionResult {
  gtin: string;
  lot: string;
  expiry: string;
  batch: number;
  count: number;
  txHash: string | null;
  eventHash: string;
  units: { gtin: string; serial: string; lot: string; expiry: string }[];
  cases: { sscc: string; units: UnitKey[] }[];
}

interface CommissionRequest {
  gtin: string;
  lot: string;
  expiry: string;
  count: number;
  caseSize?: number;
}

function parseRequest(body: unknown, now: Date): CommissionRequest {
  const b = requestBody(
    body,
    ['gtin', 'lot', 'expiry', 'count', 'caseSize'],
    'send {gtin, lot, expiry (YYMMDD), count, caseSize?}',
    'a commissioning request',
  );
  for (const k of ['gtin', 'lot', 'expiry'] as const)
    if (typeof b[k] !== 'string') throw badRequest(`${k} must be a string`);
  const gtin = parseGtin(b.gtin as string);
  const lot = b.lot as string;
  const expiry = b.expiry as string;
  writeDigitalLink({ gtin, lot, expiry }); // GS1 rules: lot length and character set, the date
  if (gs1DateEnd(expiry, now) <= now.getTime())
    throw badRequest(`expiry ${expiry} is in the past: an expired lot is not commissioned`);
  const count = b.count;
  if (!Number.isSafeInteger(count) || (count as number) < 1 || (count as number) > MAX_COMMISSION_COUNT)
    throw badRequest(
      `count must be a whole number from 1 to ${MAX_COMMISSION_COUNT}, not ${JSON.stringify(count)}`,
    );
  const caseSize = b.caseSize;
  if (
    caseSize !== undefined &&
    (!Number.isSafeInteger(caseSize) || (caseSize as number) < 1 || (caseSize as number) > (count as number))
  )
    throw badRequest(
      `caseSize must be a whole number from 1 to count (${count}), not ${JSON.stringify(caseSize)}`,
    );
  return {
    gtin,
    lot,
    expiry,
    count: count as number,
    ...(caseSize === undefined ? {} : { caseSize: caseSize as number }),
  };
}

/** The next `n` SSCCs under `prefix` (serial references counted in this member's settings). */
export function allocateSsccs(
  deps: Pick<CommissionDeps, 'units' | 'custody'>,
  prefix: string,
  n: number,
): string[] {
  const name = `sscc-next:${prefix}`;
  const start = Number(deps.units.setting(name) ?? '0');
  const out: string[] = [];
  for (let k = start; out.length < n; k++) {
    const sscc = makeSscc(0, prefix, k);
    if (!deps.custody.hasCase(sscc)) out.push(sscc);
  }
  const last = out.at(-1) as string;
  deps.units.setSetting(name, String(Number(last.slice(1 + prefix.length, 17)) + 1));
  return out;
}

/** What is recorded of a run before its transaction is sent: enough to store it once confirmed. */
interface RunRecord {
  gtin: string;
  lot: string;
  expiry: string;
  serials: string[];
  /** The commissioning event's time (ISO 8601) and place (the member's GLN). */
  time: string;
  location: string;
  caseSize?: number;
  ssccs?: string[];
}

/** The outbox key of a commissioning run's transaction. */
const outboxKey = (root: string) => `commission:${root}`;

/** The batch number DrugLedger gave a confirmed commission transaction. */
async function confirmedBatch(conn: ChainConnection, txHash: Hex): Promise<number> {
  const receipt = await conn.publicClient.getTransactionReceipt({ hash: txHash });
  const [logged] = parseEventLogs({ abi: drugLedgerAbi, eventName: 'BatchCommissioned', logs: receipt.logs });
  if (!logged) throw new Error('a confirmed commission transaction without its BatchCommissioned event');
  return Number(logged.args.batch);
}

/** The cases of a run: its units in order, `caseSize` a case, one SSCC each. */
function casesOf(run: CommissioningRun, rec: RunRecord): { sscc: string; units: UnitKey[] }[] {
  const size = rec.caseSize;
  if (size === undefined) return [];
  return (rec.ssccs ?? []).map((sscc, k) => ({
    sscc,
    units: run.units.slice(k * size, (k + 1) * size).map((u) => ({ gtin: u.gtin, serial: u.serial })),
  }));
}

/**
 * Store a run the chain numbered `batch` (its tree once, its units, its events and cases) in one
 * transaction, which also marks the recorded run stored.
 */
function storeRun(deps: CommissionDeps, run: CommissioningRun, rec: RunRecord, batch: number) {
  const cases = casesOf(run, rec);
  const time = new Date(rec.time);
  const aggregations = cases.map((c) =>
    aggregationEvent(c.sscc, c.units.map(unitEpc), {
      time: new Date(time.getTime() + 1),
      location: rec.location,
    }),
  );
  deps.custody.transaction(() => {
    deps.units.putCommissionedRun(commissionedRun(run, batch));
    deps.units.putEvent(run.eventHash, run.event);
    for (const e of aggregations) deps.units.putEvent(epcisEventHash(e), e);
    deps.custody.putCases(cases);
  });
  return cases;
}

/** Rebuild a recorded run (the same serials, time and place give the same root and event). */
function rebuild(deps: CommissionDeps, rec: RunRecord): CommissioningRun {
  return buildCommissioningRun(
    deps.supplyKey,
    { gtin: rec.gtin, lot: rec.lot, expiry: rec.expiry, count: rec.serials.length },
    { time: new Date(rec.time), location: rec.location },
    rec.serials,
  );
}

/**
 * Finish the runs recorded before their transaction was sent (a crash, or a chain that had not
 * confirmed in time): a run the chain confirmed is stored, one it refused is forgotten, one still
 * in the outbox waits. Run before each commissioning; a node may run it at start. Returns how
 * many runs it stored and dropped.
 */
export async function resumeCommissioning(
  deps: CommissionDeps,
): Promise<{ stored: number; dropped: number; waiting: number }> {
  const out = { stored: 0, dropped: 0, waiting: 0 };
  for (const p of deps.units.pendingRuns()) {
    const e = deps.outbox.get(outboxKey(p.root));
    if (!e || e.status === 'failed') {
      deps.units.dropPendingRun(p.root);
      out.dropped++;
    } else if (e.status === 'confirmed' && e.txHash) {
      const rec = p.run as RunRecord;
      const run = rebuild(deps, rec);
      if (run.tree.root !== p.root)
        throw new Error(
          `recorded run ${p.root} rebuilds to another root (${run.tree.root}): wrong supply key?`,
        );
      storeRun(deps, run, rec, await confirmedBatch(deps.conn, e.txHash));
      out.stored++;
    } else out.waiting++;
  }
  return out;
}

/**
 * At a node's start: drive each interrupted run's transaction to a settled state through the
 * outbox, then store it (confirmed) or forget it (refused); undefined when there was none.
 */
export async function finishInterruptedRuns(
  deps: CommissionDeps,
): Promise<{ stored: number; dropped: number; waiting: number } | undefined> {
  const pending = deps.units.pendingRuns();
  if (pending.length === 0) return undefined;
  for (const p of pending) await deps.outbox.flushUntilSettled(outboxKey(p.root));
  return resumeCommissioning(deps);
}

/** Commission the lot named in `body` for `actor`; resolves once the batch is on chain and stored. */
export function commissionLot(deps: CommissionDeps, actor: Actor, body: unknown): Promise<CommissionResult> {
  return loggedCustody(deps.log, actor.id, 'supply-commission', async (l) => {
    const now = deps.now?.() ?? new Date();
    const q = parseRequest(body, now);
    l.queryHash = custodyHash('lot', q.gtin, q.lot);
    if (!CUSTODY_ADMINS.includes(actor.role))
      throw forbidden('commissioning drug units is for the manufacturer’s administrators', 'role');
    const responder = (await deps.ledger.read.responderFor([BigInt(q.gtin)])) as Address;
    const claim = companyPrefixOf(q.gtin, await claimedPrefixes(deps.conn, deps.ledger.address, deps.self));
    if (responder !== deps.self || !claim)
      throw badRequest(
        `GTIN ${q.gtin} is not under a GS1 company prefix this member claimed in DrugLedger; claim its prefix first (only the prefix's owner commissions its GTINs)`,
      );
    if (q.caseSize !== undefined && claim.digits === 14)
      throw badRequest(
        `this member claimed GTIN ${q.gtin} alone, not a company prefix: cases (SSCCs) need a company prefix claim`,
      );
    const gln = deps.units.setting('gln');
    if (!gln)
      throw new ConflictError('this member has no GLN set; its EPCIS events need one (supply setting gln)');
    await resumeCommissioning(deps);
    if (deps.units.hasLot(q.gtin, q.lot))
      throw new ConflictError(
        `lot ${q.lot} of GTIN ${q.gtin} is already commissioned here (or being commissioned); a lot is commissioned in one run`,
      );
    const run = buildCommissioningRun(deps.supplyKey, q, { time: now, location: gln });
    const rec: RunRecord = {
      gtin: q.gtin,
      lot: q.lot,
      expiry: q.expiry,
      serials: run.units.map((u) => u.serial),
      time: now.toISOString(),
      location: gln,
    };
    const key = outboxKey(run.tree.root);
    // One commit: the run is recorded with its queued transaction, so whatever the chain does
    // after a crash, the run can be stored (or forgotten) from what is here.
    deps.custody.transaction(() => {
      if (q.caseSize !== undefined) {
        rec.caseSize = q.caseSize;
        rec.ssccs = allocateSsccs(deps, claim.prefix, Math.ceil(q.count / q.caseSize));
      }
      deps.units.putPendingRun({
        root: run.tree.root,
        gtin: q.gtin,
        lot: q.lot,
        count: q.count,
        run: rec,
        createdMs: now.getTime(),
      });
      deps.outbox.enqueue({
        key,
        contract: 'DrugLedger',
        address: deps.ledger.address,
        functionName: 'commission',
        args: [BigInt(q.gtin), run.lotCommitment, run.tree.root, q.count, eventHashDigest(run.eventHash)],
        description: 'commission a run of drug units',
      });
    });
    const done = await deps.outbox.flushUntilSettled(key);
    if (done?.status === 'failed') {
      deps.units.dropPendingRun(run.tree.root);
      throw new ConflictError(`not commissioned: the chain refused it (${done.error ?? 'no reason given'})`);
    }
    if (done?.status !== 'confirmed' || !done.txHash)
      throw new UnavailableError(
        'commission-not-confirmed',
        'the commissioning is sent but not confirmed yet; its units are recorded here once the chain confirms it (the next commissioning stores it; do not commission the lot again)',
      );
    const batch = await confirmedBatch(deps.conn, done.txHash);
    const cases = storeRun(deps, run, rec, batch);
    return {
      reason: 'commissioned',
      result: {
        gtin: q.gtin,
        lot: q.lot,
        expiry: q.expiry,
        batch,
        count: q.count,
        txHash: done.txHash,
        eventHash: run.eventHash,
        units: run.units,
        cases,
      },
    };
  });
}
