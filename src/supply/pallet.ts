/**
 * Pallets (`POST /supply/pack`, `POST /supply/unpack` at the member holding the cases, an
 * administrator): cases (SSCC) this member recorded, packed on a pallet with an SSCC of its own
 * under a GS1 company prefix this member claimed on DrugLedger, as an EPCIS AggregationEvent (ADD;
 * DELETE to unpack). Aggregation stays off chain like a case's: custody on chain is per unit, and a
 * pallet shipped is its cases' units (src/supply/ship.ts), announced with the pallet's contents so
 * the receiver can check it by its label (src/supply/receive.ts).
 *
 * Refused, with nothing recorded: a case not recorded here, a pallet named as a case, a case on a
 * pallet already, a unit of a case no longer in this member's custody on DrugLedger (shipped,
 * dispensed or destroyed), no company prefix to number the pallet.
 */
import type { Address } from 'viem';
import type { Actor } from '../access/gatekeeper.js';
import type { ChainConnection } from '../chain/clients.js';
import type { DrugLedgerContract } from '../chain/contracts.js';
import { badRequest, ConflictError, forbidden, notFound } from '../errors.js';
import type { TransparencyLog } from '../log/transparencyLog.js';
import type { CustodyStore } from '../store/custodyStore.js';
import type { UnitStore } from '../store/unitStore.js';
import { requestBody } from './_requestBody.js';
import { notHeldAsStock } from './chainCustody.js';
import { allocateSsccs, CUSTODY_ADMINS } from './commission.js';
import { claimedPrefixes } from './companyPrefix.js';
import { custodyHash, loggedCustody } from './custodyLog.js';
import { aggregationEvent, ssccEpc } from './epcisEvents.js';
import { epcisEventHash } from './epcisHash.js';
import { parseSscc } from './gs1CheckDigit.js';

/** The most cases one pallet holds. */
export const MAX_PALLET_CASES = 200;

export interface PalletDeps {
  conn: ChainConnection;
  ledger: DrugLedgerContract;
  log: TransparencyLog;
  units: UnitStore;
  custody: CustodyStore;
  self: Address;
  now?: () => Date;
}

/** A pallet packed or unpacked. */
export interface PalletResult {
  pallet: string;
  cases: string[];
  units: number;
  eventHash: string;
}

function parsePack(body: unknown): string[] {
  const b = requestBody(body, ['cases'], 'send {cases: [SSCC]}', 'a pallet');
  if (!Array.isArray(b.cases) || b.cases.length === 0 || b.cases.length > MAX_PALLET_CASES)
    throw badRequest(`cases must list 1 to ${MAX_PALLET_CASES} SSCCs`);
  const cases = b.cases.map((c, i) => {
    if (typeof c !== 'string') throw badRequest(`cases[${i}] must be an SSCC (18 digits)`);
    return parseSscc(c);
  });
  if (new Set(cases).size !== cases.length) throw badRequest('a case is listed twice');
  return cases;
}

function parseUnpack(body: unknown): string {
  const b = requestBody(body, ['pallet'], 'send {pallet: SSCC}', 'an unpacking');
  if (typeof b.pallet !== 'string') throw badRequest('pallet must be an SSCC (18 digits)');
  return parseSscc(b.pallet);
}

/** Every unit of `cases` in this member's custody on DrugLedger now, or a 409 naming what is not. */
async function inCustody(deps: PalletDeps, cases: readonly string[]): Promise<number> {
  const keys = cases.flatMap((sscc) => deps.custody.caseUnits(sscc) ?? []);
  const units = keys.map((k) => {
    const u = deps.units.unit(k.gtin, k.serial);
    if (!u) throw notFound(`this member has no record of unit ${k.gtin}/${k.serial}`);
    return u;
  });
  const away = await notHeldAsStock(deps.ledger, deps.self, units);
  if (away.length > 0)
    throw new ConflictError(
      `${away.length} unit(s) of these cases are not in this member’s custody as stock on DrugLedger: ${away.slice(0, 5).join(', ')}${away.length > 5 ? ', …' : ''}`,
      { refused: away.length },
    );
  return units.length;
}

function glnOf(deps: PalletDeps): string {
  const gln = deps.units.setting('gln');
  if (!gln)
    throw new ConflictError('this member has no GLN set; its EPCIS events need one (supply setting gln)');
  return gln;
}

/** Pack the cases `body` names on a new pallet for `actor`. */
export function packPallet(deps: PalletDeps, actor: Actor, body: unknown): Promise<PalletResult> {
  return loggedCustody(deps.log, actor.id, 'supply-pack', async (l) => {
    const cases = parsePack(body);
    l.queryHash = custodyHash('pallet-cases', ...cases);
    if (!CUSTODY_ADMINS.includes(actor.role))
      throw forbidden('packing pallets is for the member’s administrators', 'role');
    for (const sscc of cases) {
      if (deps.custody.palletCases(sscc)) throw badRequest(`${sscc} is a pallet, not a case`);
      if (!deps.custody.caseUnits(sscc))
        throw notFound(`this member has no record of case ${sscc} (it did not pack or receive it)`);
      const on = deps.custody.palletOf(sscc);
      if (on) throw new ConflictError(`case ${sscc} is on pallet ${on} already: unpack that pallet first`);
    }
    const units = await inCustody(deps, cases);
    const prefix = (await claimedPrefixes(deps.conn, deps.ledger.address, deps.self)).find(
      (c) => c.digits < 14,
    );
    if (!prefix)
      throw new ConflictError(
        'this member claimed no GS1 company prefix on DrugLedger: a pallet’s SSCC needs one (a distributor ships the pallets it received as they are)',
      );
    const gln = glnOf(deps);
    const time = deps.now?.() ?? new Date();
    return deps.custody.transaction(() => {
      const [pallet] = allocateSsccs(deps, prefix.prefix, 1) as [string];
      const event = aggregationEvent(pallet, cases.map(ssccEpc), { time, location: gln }, 'ADD');
      const eventHash = epcisEventHash(event);
      l.queryHash = custodyHash('pallet', pallet);
      deps.custody.putPallets([{ sscc: pallet, cases }]);
      deps.units.putEvent(eventHash, event);
      return { reason: 'packed', result: { pallet, cases, units, eventHash } };
    });
  });
}

/** Take every case off the pallet `body` names, for `actor`. */
export function unpackPallet(deps: PalletDeps, actor: Actor, body: unknown): Promise<PalletResult> {
  return loggedCustody(deps.log, actor.id, 'supply-pack', async (l) => {
    const pallet = parseUnpack(body);
    l.queryHash = custodyHash('pallet', pallet);
    if (!CUSTODY_ADMINS.includes(actor.role))
      throw forbidden('unpacking pallets is for the member’s administrators', 'role');
    const cases = deps.custody.palletCases(pallet);
    if (!cases) throw notFound(`this member has no record of pallet ${pallet} holding cases`);
    const units = await inCustody(deps, cases);
    const event = aggregationEvent(
      pallet,
      cases.map(ssccEpc),
      { time: deps.now?.() ?? new Date(), location: glnOf(deps) },
      'DELETE',
    );
    const eventHash = epcisEventHash(event);
    deps.custody.transaction(() => {
      deps.custody.unpackPallet(pallet);
      deps.units.putEvent(eventHash, event);
    });
    return { reason: 'unpacked', result: { pallet, cases, units, eventHash } };
  });
}
