/**
 * A manufacturer commissions a lot through the API (`POST /supply/commission`, an administrator of
 * the member: {gtin, lot, expiry (YYMMDD), count (1..10000), caseSize?}): the GTIN must be under a
 * company prefix (or be a GTIN) this member claimed in DrugLedger; the units get random serials and
 * go on chain as one Merkle batch in one transaction through the outbox, with the hash of the
 * EPCIS commissioning event (ObjectEvent ADD with lot master data). With `caseSize`, the units are
 * packed in order into cases of that many (the last may hold fewer), each an SSCC under the
 * member's company prefix with its EPCIS AggregationEvent. Stored once the chain confirmed the
 * batch; the answer lists the units and cases created.
 */
import { type Address, parseEventLogs } from 'viem';
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
import { buildCommissioningRun, storedUnits } from './commissioningRun.js';
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
    if (deps.units.unitsOfLot(q.gtin, q.lot).length > 0)
      throw new ConflictError(
        `lot ${q.lot} of GTIN ${q.gtin} is already commissioned here; a lot is commissioned in one run`,
      );
    const run = buildCommissioningRun(deps.supplyKey, q, { time: now, location: gln });
    const cases: { sscc: string; units: UnitKey[] }[] = [];
    if (q.caseSize !== undefined) {
      const size = q.caseSize;
      const ssccs = allocateSsccs(deps, claim.prefix, Math.ceil(q.count / size));
      ssccs.forEach((sscc, k) => {
        cases.push({
          sscc,
          units: run.units.slice(k * size, (k + 1) * size).map((u) => ({ gtin: u.gtin, serial: u.serial })),
        });
      });
    }
    const queued = deps.outbox.enqueue({
      key: `commission:${run.tree.root}`,
      contract: 'DrugLedger',
      address: deps.ledger.address,
      functionName: 'commission',
      args: [BigInt(q.gtin), run.lotCommitment, run.tree.root, q.count, eventHashDigest(run.eventHash)],
      description: 'commission a run of drug units',
    });
    const done = await deps.outbox.flushUntilSettled(queued.key);
    if (done?.status === 'failed')
      throw new ConflictError(`not commissioned: the chain refused it (${done.error ?? 'no reason given'})`);
    if (done?.status !== 'confirmed' || !done.txHash)
      throw new UnavailableError(
        'commission-not-confirmed',
        'the commissioning is sent but not confirmed yet; its units are not recorded here (ask an operator to check the outbox before commissioning the lot again)',
      );
    const receipt = await deps.conn.publicClient.getTransactionReceipt({ hash: done.txHash });
    const [logged] = parseEventLogs({
      abi: drugLedgerAbi,
      eventName: 'BatchCommissioned',
      logs: receipt.logs,
    });
    if (!logged) throw new Error('a confirmed commission transaction without its BatchCommissioned event');
    const batch = Number(logged.args.batch);
    const aggregations = cases.map((c) =>
      aggregationEvent(c.sscc, c.units.map(unitEpc), { time: new Date(now.getTime() + 1), location: gln }),
    );
    deps.custody.transaction(() => {
      deps.units.putUnits(storedUnits(run, batch));
      deps.units.putEvent(run.eventHash, run.event);
      for (const e of aggregations) deps.units.putEvent(epcisEventHash(e), e);
      deps.custody.putCases(cases);
    });
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
