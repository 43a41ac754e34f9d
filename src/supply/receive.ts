/**
 * Receiving a shipment (`POST /supply/receive` at the receiver, an administrator or pharmacist:
 * {shipment?: id, cases?: [SSCC | {sscc, units: [{gtin, serial}]}], units?: [{gtin, serial}]}; a
 * pallet's SSCC scanned by its label stands for the cases the notice says are on it).
 * With only the shipment id, everything announced is taken as arrived (cases by their labels);
 * with what was scanned, that is checked against the shipment notice: a case not announced or not
 * arrived, an opened case whose contents differ from its aggregation (`checkCaseContents`), a
 * loose unit missing or not in the shipment. A scanned unit that is in no shipment to this member
 * is asked about at its GTIN's responder, which tells a diverted unit (its custodian on chain is
 * not this member) or one never commissioned. Every unit of the shipment must also still be in
 * this member's custody on DrugLedger. Anything wrong refuses the whole receipt with every finding
 * (409) and records nothing; a matching receipt stores the units and cases, the EPCIS receiving
 * event, and marks the shipment received. Logged either way.
 */
import type { Address } from 'viem';
import type { Actor } from '../access/gatekeeper.js';
import { badRequest, ConflictError, forbidden, notFound } from '../errors.js';
import type { ShipmentNotice } from '../federation/supplyShipmentWire.js';
import type { CustodyStore, StoredShipment, UnitKey } from '../store/custodyStore.js';
import type { UnitStore } from '../store/unitStore.js';
import { requestBody } from './_requestBody.js';
import { chainStates } from './chainCustody.js';
import { custodyHash, loggedCustody } from './custodyLog.js';
import { receivingEvent, ssccEpc, unitEpc } from './epcisEvents.js';
import { epcisEventHash } from './epcisHash.js';
import { writeDigitalLink } from './gs1.js';
import { parseGtin, parseSscc } from './gs1CheckDigit.js';
import { type ReceiptFinding, ReceiptRefusedError } from './supplyErrors.js';
import { askResponder, type RequesterDeps } from './verificationRequester.js';
import { checkCaseContents } from './verify.js';

/** User roles that may receive: administrators and pharmacists (a pharmacy's dock is its counter). */
const RECEIVERS: readonly string[] = ['admin', 'pharmacist'];
/** At most this many units not in the shipment are asked about at their responders per receipt. */
const MAX_RESPONDER_CHECKS = 20;

export interface ReceiveDeps extends RequesterDeps {
  units: UnitStore;
  custody: CustodyStore;
  self: Address;
  now?: () => Date;
}

export interface ReceiveResult {
  received: true;
  shipment: string;
  from: Address;
  units: number;
  cases: string[];
  /** The pallets received (their cases are in `cases`). */
  pallets: string[];
  eventHash: string;
}

interface Scan {
  shipment?: string;
  /** Undefined: nothing scanned (receive as announced). */
  cases?: { sscc: string; units?: UnitKey[] }[];
  units?: UnitKey[];
}

const keyOf = (u: UnitKey) => `${u.gtin}/${u.serial}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function unitKey(v: unknown, at: string): UnitKey {
  const x = v as Record<string, unknown>;
  if (
    !x ||
    typeof x !== 'object' ||
    Array.isArray(x) ||
    Object.keys(x).some((k) => k !== 'gtin' && k !== 'serial')
  )
    throw badRequest(`${at} must be {gtin, serial}`);
  if (typeof x.gtin !== 'string' || typeof x.serial !== 'string')
    throw badRequest(`${at} must be {gtin, serial}`);
  writeDigitalLink({ gtin: x.gtin, serial: x.serial });
  return { gtin: parseGtin(x.gtin), serial: x.serial };
}

function parseScan(body: unknown): Scan {
  const b = requestBody(
    body,
    ['shipment', 'cases', 'units'],
    'send {shipment?, cases?: [SSCC | {sscc, units}], units?: [{gtin, serial}]}',
    'a receipt',
  );
  if (b.shipment !== undefined && (typeof b.shipment !== 'string' || !UUID.test(b.shipment)))
    throw badRequest('shipment must be the shipment id (a UUID)');
  if (b.cases !== undefined && !Array.isArray(b.cases)) throw badRequest('cases must be a list');
  if (b.units !== undefined && !Array.isArray(b.units))
    throw badRequest('units must be a list of {gtin, serial}');
  const scanned = b.cases !== undefined || b.units !== undefined;
  if (!scanned && b.shipment === undefined) throw badRequest('name the shipment, or send what was scanned');
  const cases = (b.cases as unknown[] | undefined)?.map((c, i) => {
    if (typeof c === 'string') return { sscc: parseSscc(c) };
    const x = c as Record<string, unknown>;
    if (
      !x ||
      typeof x !== 'object' ||
      Object.keys(x).some((k) => k !== 'sscc' && k !== 'units') ||
      typeof x.sscc !== 'string'
    )
      throw badRequest(`cases[${i}] must be an SSCC or {sscc, units}`);
    if (!Array.isArray(x.units)) throw badRequest(`cases[${i}].units must list what the opened case held`);
    return { sscc: parseSscc(x.sscc), units: x.units.map((u, k) => unitKey(u, `cases[${i}].units[${k}]`)) };
  });
  if (cases && new Set(cases.map((c) => c.sscc)).size !== cases.length)
    throw badRequest('a case is scanned twice');
  const units = (b.units as unknown[] | undefined)?.map((u, i) => unitKey(u, `units[${i}]`));
  return {
    ...(b.shipment === undefined ? {} : { shipment: b.shipment as string }),
    ...(scanned ? { cases: cases ?? [], units: units ?? [] } : {}),
  };
}

/** The open shipment the receipt is about: named, or the one holding what was scanned. */
function shipmentOf(deps: ReceiveDeps, scan: Scan): StoredShipment<ShipmentNotice> | undefined {
  if (scan.shipment !== undefined) {
    const found = deps.custody.shipmentsWithId<ShipmentNotice>('in', scan.shipment);
    if (found.length === 0)
      throw notFound(`no shipment ${scan.shipment} was announced to this member: it was not shipped here`);
    if (found.length > 1)
      throw new ConflictError(`two senders announced shipment ${scan.shipment}; ask them`);
    const s = found[0] as StoredShipment<ShipmentNotice>;
    if (s.status === 'received') throw new ConflictError(`shipment ${scan.shipment} was received already`);
    return s;
  }
  const ssccs = new Set((scan.cases ?? []).map((c) => c.sscc));
  const units = new Set(
    [...(scan.units ?? []), ...(scan.cases ?? []).flatMap((c) => c.units ?? [])].map(keyOf),
  );
  const open = deps.custody
    .shipments<ShipmentNotice>('in', 1_000)
    .filter((s) => s.status === 'in-transit')
    .filter(
      (s) =>
        s.document.cases.some((c) => ssccs.has(c.sscc)) ||
        (s.document.pallets ?? []).some((p) => ssccs.has(p.sscc)) ||
        s.document.units.some((u) => units.has(keyOf(u))),
    );
  if (open.length > 1)
    throw badRequest(
      'what was scanned belongs to several shipments: receive one shipment at a time (name it)',
    );
  return open[0];
}

/** Compare what was scanned with what the notice announced. */
function compare(notice: ShipmentNotice, scan: Required<Pick<Scan, 'cases' | 'units'>>): ReceiptFinding[] {
  const findings: ReceiptFinding[] = [];
  const announced = new Map(notice.cases.map((c) => [c.sscc, c.units]));
  const packed = new Set(notice.cases.flatMap((c) => c.units.map(keyOf)));
  const loose = new Set(notice.units.map(keyOf).filter((k) => !packed.has(k)));
  // A pallet scanned by its label stands for its cases, each as if scanned by its own label.
  const pallets = new Map((notice.pallets ?? []).map((p) => [p.sscc, p.cases]));
  const scannedCases = new Set(scan.cases.flatMap((c) => pallets.get(c.sscc) ?? [c.sscc]));
  for (const c of scan.cases) {
    if (pallets.has(c.sscc)) {
      if (c.units)
        throw badRequest(`${c.sscc} is a pallet: scan it by its label, or scan its cases one by one`);
      continue;
    }
    const inside = announced.get(c.sscc);
    if (!inside) {
      findings.push({
        problem: 'case-not-in-shipment',
        item: c.sscc,
        text: `case ${c.sscc} is not in this shipment`,
      });
      continue;
    }
    if (!c.units) continue; // scanned by its label: its aggregation stands for its contents
    const check = checkCaseContents(inside.map(unitEpc), c.units.map(unitEpc));
    if (!check.matches)
      findings.push({
        problem: 'case-contents',
        item: c.sscc,
        text: `case ${c.sscc} does not hold what was packed in it: ${check.missing.length} missing, ${check.unexpected.length} not packed in it, ${check.duplicates.length} scanned twice`,
        missing: check.missing,
        unexpected: check.unexpected,
        duplicates: check.duplicates,
      });
  }
  for (const sscc of announced.keys())
    if (!scannedCases.has(sscc))
      findings.push({
        problem: 'case-missing',
        item: sscc,
        text: `case ${sscc} was shipped but not scanned on arrival`,
      });
  const scannedLoose = new Set(scan.units.map(keyOf));
  for (const k of scannedLoose)
    if (!loose.has(k))
      findings.push({
        problem: 'unit-not-in-shipment',
        item: k,
        text: `unit ${k} is not in this shipment (as a loose unit)`,
      });
  for (const k of loose)
    if (!scannedLoose.has(k))
      findings.push({
        problem: 'unit-missing',
        item: k,
        text: `unit ${k} was shipped but not scanned on arrival`,
      });
  return findings;
}

/** Ask the responders about units that are not where the shipment says: diverted or counterfeit. */
async function checkStrays(deps: ReceiveDeps, strays: readonly UnitKey[]): Promise<ReceiptFinding[]> {
  const out: ReceiptFinding[] = [];
  for (const u of strays.slice(0, MAX_RESPONDER_CHECKS)) {
    const reply = await askResponder(deps, u);
    if (reply.kind !== 'answer') continue; // the stray finding itself already refuses the receipt
    const f = reply.result.answer.findings;
    if (f.includes('not-commissioned'))
      out.push({
        problem: 'not-commissioned',
        item: keyOf(u),
        text: `unit ${keyOf(u)} was never commissioned (${reply.result.responder.name} does not know it): suspect counterfeit, quarantine it`,
      });
    else if (f.includes('not-shipped-to-requester'))
      out.push({
        problem: 'diverted',
        item: keyOf(u),
        text: `unit ${keyOf(u)} was never shipped to this member: its custodian on DrugLedger is another member (diversion); quarantine it`,
      });
  }
  return out;
}

/** Check what arrived and, when it matches, receive the shipment for `actor`. */
export function receiveShipment(deps: ReceiveDeps, actor: Actor, body: unknown): Promise<ReceiveResult> {
  return loggedCustody(deps.log, actor.id, 'supply-receive', async (l) => {
    const scan = parseScan(body);
    if (scan.shipment) l.queryHash = custodyHash('shipment', scan.shipment);
    if (!RECEIVERS.includes(actor.role))
      throw forbidden('receiving drug shipments is for the member’s administrators and pharmacists', 'role');
    const shipment = shipmentOf(deps, scan);
    const scannedUnits = [...(scan.units ?? []), ...(scan.cases ?? []).flatMap((c) => c.units ?? [])];
    if (!shipment) {
      // Nothing announced to this member holds what was scanned.
      const findings: ReceiptFinding[] = [
        ...(scan.cases ?? []).map((c) => ({
          problem: 'case-not-in-shipment',
          item: c.sscc,
          text: `case ${c.sscc} is in no shipment to this member`,
        })),
        ...scannedUnits.map((u) => ({
          problem: 'unit-not-in-shipment',
          item: keyOf(u),
          text: `unit ${keyOf(u)} is in no shipment to this member`,
        })),
        ...(await checkStrays(deps, scannedUnits)),
      ];
      throw new ReceiptRefusedError(
        'not received: nothing scanned was shipped to this member',
        findings,
        null,
      );
    }
    const notice = shipment.document;
    l.queryHash = custodyHash('shipment', notice.id);
    const findings =
      scan.cases && scan.units ? compare(notice, { cases: scan.cases, units: scan.units }) : [];
    const shipped = new Set(notice.units.map(keyOf));
    findings.push(
      ...(await checkStrays(
        deps,
        scannedUnits.filter((u) => !shipped.has(keyOf(u))),
      )),
    );
    const states = await chainStates(deps.ledger, notice.units);
    notice.units.forEach((u, i) => {
      const s = states[i];
      if (!s || 'notInBatch' in s || s.custodian !== deps.self)
        findings.push({
          problem: 'not-in-custody',
          item: keyOf(u),
          text: `DrugLedger does not show unit ${keyOf(u)} in this member’s custody${s && !('notInBatch' in s) ? ` (custodian ${s.custodian})` : ''}`,
        });
    });
    if (findings.length > 0)
      throw new ReceiptRefusedError(
        `not received: what arrived does not match shipment ${notice.id} (${findings.length} finding${findings.length === 1 ? '' : 's'}); set it aside and contact the sender`,
        findings,
        notice.id,
      );
    const gln = deps.units.setting('gln');
    if (!gln)
      throw new ConflictError('this member has no GLN set; its EPCIS events need one (supply setting gln)');
    const packed = new Set(notice.cases.flatMap((c) => c.units.map(keyOf)));
    const onPallets = new Set((notice.pallets ?? []).flatMap((p) => p.cases));
    const event = receivingEvent(
      [
        ...(notice.pallets ?? []).map((p) => ssccEpc(p.sscc)),
        ...notice.cases.filter((c) => !onPallets.has(c.sscc)).map((c) => ssccEpc(c.sscc)),
        ...notice.units.filter((u) => !packed.has(keyOf(u))).map(unitEpc),
      ],
      { from: notice.fromGln, to: gln, despatchAdvice: notice.id },
      { time: deps.now?.() ?? new Date(), location: gln },
    );
    const eventHash = epcisEventHash(event);
    deps.custody.transaction(() => {
      deps.units.putUnits(notice.units);
      deps.custody.putCases(notice.cases);
      deps.custody.putPallets(notice.pallets ?? []);
      deps.units.putEvent(eventHash, event);
      deps.custody.setStatus('in', shipment.counterparty, notice.id, 'received');
    });
    return {
      reason: 'received',
      result: {
        received: true,
        shipment: notice.id,
        from: shipment.counterparty as Address,
        units: notice.units.length,
        cases: notice.cases.map((c) => c.sscc),
        pallets: (notice.pallets ?? []).map((p) => p.sscc),
        eventHash,
      },
    };
  });
}
