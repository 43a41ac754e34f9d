/**
 * Shipping drug units to another member (`POST /supply/ship` at the current custodian, an
 * administrator: {to: member address or name, units?: [{gtin, serial}], cases?: [SSCC]}; an SSCC
 * may be a pallet (src/supply/pallet.ts), which ships its cases; a case on a pallet does not leave alone):
 *
 * 1. every unit named (loose, or packed in a case this member recorded) must be in this member's
 *    custody on DrugLedger now, Active or of a recalled lot (a recall return); otherwise refused and
 *    nothing is sent;
 * 2. the receiver's GLN is asked (member signed) for the EPCIS shipping event's destination party;
 * 3. custody moves on chain through the outbox: `transferBatch` for a batch shipped whole,
 *    `transferUnits` (200 units a transaction) for the rest, each with the shipping event's hash;
 * 4. the shipping event is stored here and the shipment notice (src/federation/supplyShipmentWire.ts:
 *    the units' identifiers, commitments and Merkle proofs, the case aggregations) is sent to the
 *    receiver's `POST /federation/supply/shipment`.
 */
import { randomUUID } from 'node:crypto';
import { type Address, getAddress, isAddress } from 'viem';
import type { LocalAccount } from 'viem/accounts';
import type { Actor } from '../access/gatekeeper.js';
import type { ConsortiumView, MemberInfo } from '../chain/consortium.js';
import type { DrugLedgerContract } from '../chain/contracts.js';
import type { Outbox, OutboxEntry } from '../chain/outbox.js';
import { badRequest, ConflictError, forbidden, notFound, UnavailableError } from '../errors.js';
import { callable, postSigned } from '../federation/memberClient.js';
import {
  MAX_SHIPMENT_UNITS,
  parsePartyAnswer,
  type ShipmentNotice,
  shipmentNoticeBody,
} from '../federation/supplyShipmentWire.js';
import type { TransparencyLog } from '../log/transparencyLog.js';
import type { CustodyStore } from '../store/custodyStore.js';
import type { StoredUnit, UnitStore } from '../store/unitStore.js';
import { requestBody } from './_requestBody.js';
import { chainStates, notHeldAsStock } from './chainCustody.js';
import { CUSTODY_ADMINS } from './commission.js';
import { custodyHash, loggedCustody } from './custodyLog.js';
import { shippingEvent, ssccEpc, unitEpc } from './epcisEvents.js';
import { epcisEventHash, eventHashDigest } from './epcisHash.js';
import { writeDigitalLink } from './gs1.js';
import { parseGtin, parseSscc } from './gs1CheckDigit.js';

export const SUPPLY_PARTY_PATH = '/federation/supply/party';
export const SUPPLY_SHIPMENT_PATH = '/federation/supply/shipment';
/** Units per `transferUnits` transaction (first touch ~34k gas a unit: well inside a block). */
const UNITS_PER_TRANSFER = 200;

export interface ShipDeps {
  ledger: DrugLedgerContract;
  outbox: Outbox;
  log: TransparencyLog;
  units: UnitStore;
  custody: CustodyStore;
  consortium: ConsortiumView;
  signer: LocalAccount;
  self: Address;
  now?: () => Date;
}

/** The answer to a shipment. */
export interface ShipResult {
  shipment: string;
  to: { address: Address; name: string };
  units: number;
  cases: string[];
  /** The pallets shipped (their cases are in `cases`). */
  pallets: string[];
  txHashes: string[];
  eventHash: string;
  /** Whether the receiver accepted the shipment notice (false: custody moved, the notice is to resend). */
  delivered: boolean;
  message?: string;
}

const keyOf = (u: { gtin: string; serial: string }) => `${u.gtin}/${u.serial}`;

function parseRequest(body: unknown): {
  to: string;
  units: { gtin: string; serial: string }[];
  cases: string[];
} {
  const b = requestBody(
    body,
    ['to', 'units', 'cases'],
    'send {to, units?: [{gtin, serial}], cases?: [SSCC]}',
    'a shipment',
  );
  if (typeof b.to !== 'string' || b.to.trim() === '')
    throw badRequest('to must be a member’s chain address or name');
  const units = b.units ?? [];
  const cases = b.cases ?? [];
  if (!Array.isArray(units)) throw badRequest('units must be a list of {gtin, serial}');
  if (!Array.isArray(cases)) throw badRequest('cases must be a list of SSCCs');
  if (units.length + cases.length === 0) throw badRequest('a shipment names at least one unit or case');
  const seen = new Set<string>();
  const parsedUnits = units.map((u, i) => {
    const x = u as Record<string, unknown>;
    if (!x || typeof x !== 'object' || Object.keys(x).some((k) => k !== 'gtin' && k !== 'serial'))
      throw badRequest(`units[${i}] must be {gtin, serial}`);
    if (typeof x.gtin !== 'string' || typeof x.serial !== 'string')
      throw badRequest(`units[${i}] must be {gtin, serial}`);
    writeDigitalLink({ gtin: x.gtin, serial: x.serial });
    const key = { gtin: parseGtin(x.gtin), serial: x.serial };
    if (seen.has(keyOf(key))) throw badRequest(`units[${i}] is listed twice`);
    seen.add(keyOf(key));
    return key;
  });
  const parsedCases = cases.map((c, i) => {
    if (typeof c !== 'string') throw badRequest(`cases[${i}] must be an SSCC (18 digits)`);
    return parseSscc(c);
  });
  if (new Set(parsedCases).size !== parsedCases.length) throw badRequest('a case is listed twice');
  return { to: b.to.trim(), units: parsedUnits, cases: parsedCases };
}

/** The active member `to` names (chain address or Registry name), never this member. */
async function receiverOf(deps: ShipDeps, to: string): Promise<MemberInfo> {
  let m: MemberInfo | undefined;
  if (isAddress(to, { strict: false })) m = await deps.consortium.member(getAddress(to));
  else m = (await deps.consortium.activeMembers()).find((x) => x.name.toLowerCase() === to.toLowerCase());
  if (!m?.active)
    throw badRequest(`no active member of the consortium is ${JSON.stringify(to.slice(0, 80))}`);
  if (m.address === deps.self) throw badRequest('a member does not ship to itself');
  if (!callable(m))
    throw new UnavailableError(
      'receiver-unavailable',
      `${m.name || m.address} has no endpoint to send the shipment notice to`,
    );
  return m;
}

async function settle(outbox: Outbox, keys: readonly string[]): Promise<OutboxEntry[]> {
  const out: OutboxEntry[] = [];
  for (const k of keys) {
    const e = await outbox.flushUntilSettled(k);
    if (e) out.push(e);
    if (e?.status === 'failed')
      throw new ConflictError(
        `the chain refused the custody transfer (${e.error ?? 'no reason given'})${out.length > 1 ? '; earlier transfers of this shipment were confirmed' : ''}`,
        { confirmed: out.filter((x) => x.status === 'confirmed').map((x) => x.txHash) },
      );
    if (e?.status !== 'confirmed')
      throw new UnavailableError(
        'shipment-not-confirmed',
        'the custody transfer is sent but not confirmed yet; the shipment notice was not sent (ask an operator to check the outbox)',
      );
  }
  return out;
}

/** Ship what `body` names for `actor`; resolves once custody moved on chain and the receiver was told. */
export function shipUnits(deps: ShipDeps, actor: Actor, body: unknown): Promise<ShipResult> {
  return loggedCustody(deps.log, actor.id, 'supply-ship', async (l) => {
    const q = parseRequest(body);
    const id = randomUUID();
    l.queryHash = custodyHash('shipment', id);
    if (!CUSTODY_ADMINS.includes(actor.role))
      throw forbidden('shipping drug units is for the member’s administrators', 'role');
    const receiver = await receiverOf(deps, q.to);
    // What is shipped: each pallet's cases, each case's recorded contents, and the loose units.
    const keys: { gtin: string; serial: string }[] = [];
    const pallets: { sscc: string; cases: string[] }[] = [];
    const caseSsccs = q.cases.flatMap((sscc) => {
      const onIt = deps.custody.palletCases(sscc);
      if (onIt) {
        pallets.push({ sscc, cases: onIt });
        return onIt;
      }
      const on = deps.custody.palletOf(sscc);
      if (on) throw new ConflictError(`case ${sscc} is on pallet ${on}: ship the pallet, or unpack it first`);
      return [sscc];
    });
    if (new Set(caseSsccs).size !== caseSsccs.length) throw badRequest('a case is listed twice');
    const cases = caseSsccs.map((sscc) => {
      const inside = deps.custody.caseUnits(sscc);
      if (!inside)
        throw notFound(`this member has no record of case ${sscc} (it did not pack or receive it)`);
      keys.push(...inside);
      return { sscc, units: inside };
    });
    const inCases = new Set(keys.map(keyOf));
    for (const u of q.units) {
      if (inCases.has(keyOf(u)))
        throw badRequest(`unit ${u.gtin}/${u.serial} is inside a case also shipped: name it once`);
      keys.push(u);
    }
    if (keys.length > MAX_SHIPMENT_UNITS)
      throw badRequest(`a shipment holds at most ${MAX_SHIPMENT_UNITS} units; split it`);
    const units = keys.map((k) => {
      const u = deps.units.unit(k.gtin, k.serial);
      if (!u)
        throw notFound(
          `this member has no record of unit ${k.gtin}/${k.serial} (it never commissioned or received it)`,
        );
      return u;
    });
    // Custody now, on chain: nothing is sent for units this member does not hold.
    const refused = await notHeldAsStock(deps.ledger, deps.self, units);
    if (refused.length > 0)
      throw new ConflictError(
        `not shipped: ${refused.length} unit(s) are not in this member’s custody as saleable or returnable stock on DrugLedger: ${refused.slice(0, 5).join(', ')}${refused.length > 5 ? ', …' : ''}`,
        { refused: refused.length },
      );
    const gln = deps.units.setting('gln');
    if (!gln)
      throw new ConflictError('this member has no GLN set; its EPCIS events need one (supply setting gln)');
    const party = await postSigned(deps.signer, receiver, SUPPLY_PARTY_PATH, '{}');
    let receiverGln: string;
    try {
      if (party.kind !== 'ok') throw new Error(party.message);
      receiverGln = parsePartyAnswer(party.body).gln;
    } catch {
      throw new UnavailableError(
        'receiver-unavailable',
        `${receiver.name} did not give its GLN (${party.kind === 'ok' ? 'malformed answer' : party.message}); nothing was shipped`,
      );
    }
    const now = deps.now?.() ?? new Date();
    // The event names what left: pallets and the cases on none (a pallet's cases go with it).
    const onPallets = new Set(pallets.flatMap((p) => p.cases));
    const event = shippingEvent(
      [
        ...pallets.map((p) => ssccEpc(p.sscc)),
        ...cases.filter((c) => !onPallets.has(c.sscc)).map((c) => ssccEpc(c.sscc)),
        ...q.units.map(unitEpc),
      ],
      { from: gln, to: receiverGln, despatchAdvice: id },
      { time: now, location: gln },
    );
    const eventHash = epcisEventHash(event);
    const digest = eventHashDigest(eventHash);
    const txHashes = await transfer(deps, id, units, receiver.address, digest);
    const notice: ShipmentNotice = {
      id,
      to: receiver.address,
      fromGln: gln,
      shippedAt: now.toISOString(),
      shippingEventHash: eventHash,
      units: units.map((u) => ({ ...u })),
      cases,
      ...(pallets.length > 0 ? { pallets } : {}),
    };
    deps.units.putEvent(eventHash, event);
    deps.custody.putShipment({
      direction: 'out',
      counterparty: receiver.address,
      id,
      status: 'sent',
      createdMs: now.getTime(),
      document: notice,
    });
    const reply = await postSigned(deps.signer, receiver, SUPPLY_SHIPMENT_PATH, shipmentNoticeBody(notice));
    const delivered = reply.kind === 'ok';
    if (!delivered) deps.custody.setStatus('out', receiver.address, id, 'not-delivered');
    return {
      reason: delivered ? 'shipped' : 'shipped-not-delivered',
      result: {
        shipment: id,
        to: { address: receiver.address, name: receiver.name },
        units: units.length,
        cases: cases.map((c) => c.sscc),
        pallets: pallets.map((p) => p.sscc),
        txHashes,
        eventHash,
        delivered,
        ...(delivered
          ? {}
          : {
              message: `custody moved on chain, but ${receiver.name} ${reply.kind === 'refused' ? `refused the shipment notice: ${reply.message}` : 'did not answer'}`,
            }),
      },
    };
  });
}

/** Move custody of `units` to `to`: whole batches in one write each, the rest unit by unit. */
async function transfer(
  deps: ShipDeps,
  id: string,
  units: readonly StoredUnit[],
  to: Address,
  eventHash: `0x${string}`,
): Promise<string[]> {
  const byBatch = new Map<number, StoredUnit[]>();
  for (const u of units) byBatch.set(u.batch, [...(byBatch.get(u.batch) ?? []), u]);
  const whole: StoredUnit[] = [];
  const single: StoredUnit[] = [];
  const keys: string[] = [];
  for (const [batch, inBatch] of byBatch) {
    const b = await deps.ledger.read.batchAt([batch]);
    if (b.custodian === deps.self && b.count === inBatch.length) {
      whole.push(...inBatch);
      keys.push(
        deps.outbox.enqueue({
          key: `ship:${id}:batch:${batch}`,
          contract: 'DrugLedger',
          address: deps.ledger.address,
          functionName: 'transferBatch',
          args: [batch, to, eventHash],
          description: 'ship a batch of drug units',
        }).key,
      );
    } else single.push(...inBatch);
  }
  const txs = (await settle(deps.outbox, keys)).map((e) => e.txHash as string);
  // A unit of a whole batch with its own record (handled alone before) stays put: moved one by one.
  if (whole.length > 0) {
    const after = await chainStates(deps.ledger, whole);
    whole.forEach((u, i) => {
      const s = after[i];
      if (s && !('notInBatch' in s) && s.custodian === deps.self) single.push(u);
    });
  }
  const unitKeys: string[] = [];
  for (let k = 0; k < single.length; k += UNITS_PER_TRANSFER)
    unitKeys.push(
      deps.outbox.enqueue({
        key: `ship:${id}:units:${k}`,
        contract: 'DrugLedger',
        address: deps.ledger.address,
        functionName: 'transferUnits',
        args: [
          single
            .slice(k, k + UNITS_PER_TRANSFER)
            .map((u) => ({ id: u.commitment, batch: u.batch, proof: u.proof })),
          to,
          eventHash,
        ],
        description: 'ship drug units',
      }).key,
    );
  txs.push(...(await settle(deps.outbox, unitKeys)).map((e) => e.txHash as string));
  return txs;
}
