/**
 * Builders of the EPCIS 2.0 JSON-LD events of a drug unit's life (EPCIS 2.0 §7.4, CBV 2.0 §7;
 * the DSCSA/GS1 US implementation guideline's choice of bizStep and disposition): commissioning
 * with lot master data (ILMD), aggregation into a case or pallet (SSCC), shipping and receiving
 * with source and destination parties, dispensing, decommissioning and destruction. The events
 * stay off chain; only their hashes (epcisHash.ts) are committed. Identifiers are canonical GS1
 * Digital Links on id.gs1.org; parties and locations are GLNs.
 */

import type { EpcisEventJson } from './epcisHash.js';
import { gs1DateEnd, type PackIdentifier, writeDigitalLink } from './gs1.js';
import { parseGln, parseSscc } from './gs1CheckDigit.js';
import { EpcisEventError } from './supplyErrors.js';

/** The JSON-LD context every medchain EPCIS document carries. */
export const EPCIS_CONTEXT = ['https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld'] as const;

/** An EPCIS 2.0 event as built here (a subset of the standard's fields). */
export interface EpcisEvent extends EpcisEventJson {
  type: 'ObjectEvent' | 'AggregationEvent';
  eventTime: string;
  eventTimeZoneOffset: string;
  action: 'ADD' | 'OBSERVE' | 'DELETE';
  bizStep: string;
  disposition: string;
}

/** Where and when: the time, and the GLN (and extension) of the read point. */
export interface EventContext {
  time: Date;
  /** GLN of the location where it happened (readPoint and bizLocation). */
  location: string;
}

/** The canonical Digital Link of a serialised unit (the EPC of an SGTIN): /01/{gtin}/21/{serial}. */
export function unitEpc(p: Pick<PackIdentifier, 'gtin' | 'serial'>): string {
  return writeDigitalLink({ gtin: p.gtin, serial: p.serial });
}

/** The Digital Link of a case or pallet: /00/{sscc}. */
export function ssccEpc(sscc: string): string {
  return `https://id.gs1.org/00/${parseSscc(sscc)}`;
}

const glnUri = (kind: '414' | '417', gln: string) => `https://id.gs1.org/${kind}/${parseGln(gln)}`;

function base(ctx: EventContext): Pick<EpcisEvent, 'eventTime' | 'eventTimeZoneOffset'> & {
  readPoint: { id: string };
  bizLocation: { id: string };
} {
  if (Number.isNaN(ctx.time.getTime())) throw new EpcisEventError('the event time is not a valid date');
  const place = { id: glnUri('414', ctx.location) };
  return {
    eventTime: ctx.time.toISOString(),
    eventTimeZoneOffset: '+00:00',
    readPoint: place,
    bizLocation: { ...place },
  };
}

function epcs(list: readonly string[], what: string): string[] {
  if (list.length === 0) throw new EpcisEventError(`${what} needs at least one identifier`);
  if (new Set(list).size !== list.length) throw new EpcisEventError(`${what} lists an identifier twice`);
  return [...list];
}

/** YYMMDD to the xsd:date CBV master data uses (itemExpirationDate), century around `near`. */
function isoDate(yymmdd: string, near: Date): string {
  return new Date(gs1DateEnd(yymmdd, near) - 1).toISOString().slice(0, 10);
}

/**
 * Commissioning (ObjectEvent ADD, bizStep commissioning, disposition active) of units of one GTIN,
 * lot and expiry, with the lot master data (cbvmda:lotNumber, cbvmda:itemExpirationDate) as ILMD.
 */
export function commissioningEvent(units: readonly PackIdentifier[], ctx: EventContext): EpcisEvent {
  const [first] = units;
  if (!first) throw new EpcisEventError('commissioning needs at least one unit');
  for (const u of units) {
    if (u.gtin !== first.gtin || u.lot !== first.lot || u.expiry !== first.expiry) {
      throw new EpcisEventError('one commissioning event covers units of one GTIN, lot and expiry');
    }
  }
  return {
    type: 'ObjectEvent',
    ...base(ctx),
    epcList: epcs(units.map(unitEpc), 'commissioning'),
    action: 'ADD',
    bizStep: 'commissioning',
    disposition: 'active',
    ilmd: { 'cbvmda:lotNumber': first.lot, 'cbvmda:itemExpirationDate': isoDate(first.expiry, ctx.time) },
  };
}

/** Packing units (or cases) into a case or pallet SSCC (AggregationEvent ADD), or unpacking (DELETE). */
export function aggregationEvent(
  parentSscc: string,
  children: readonly string[],
  ctx: EventContext,
  action: 'ADD' | 'DELETE' = 'ADD',
): EpcisEvent {
  return {
    type: 'AggregationEvent',
    ...base(ctx),
    parentID: ssccEpc(parentSscc),
    childEPCs: epcs(children, 'aggregation'),
    action,
    bizStep: action === 'ADD' ? 'packing' : 'unpacking',
    disposition: 'in_progress',
  };
}

/** A change of custody between two parties (GLNs), as DSCSA transaction information names them. */
export interface Transfer {
  from: string;
  to: string;
  /** The despatch advice (or invoice) number both sides refer to; goes into bizTransactionList. */
  despatchAdvice?: string;
}

function parties(t: Transfer) {
  const from = glnUri('417', t.from);
  const to = glnUri('417', t.to);
  return {
    ...(t.despatchAdvice === undefined
      ? {}
      : {
          bizTransactionList: [
            {
              type: 'desadv',
              bizTransaction: `urn:epcglobal:cbv:bt:${parseGln(t.from)}:${t.despatchAdvice}`,
            },
          ],
        }),
    sourceList: [
      { type: 'owning_party', source: from },
      { type: 'possessing_party', source: from },
    ],
    destinationList: [
      { type: 'owning_party', destination: to },
      { type: 'possessing_party', destination: to },
    ],
  };
}

/** Shipping (ObjectEvent OBSERVE, bizStep shipping, disposition in_transit) of units or SSCCs. */
export function shippingEvent(items: readonly string[], transfer: Transfer, ctx: EventContext): EpcisEvent {
  return {
    type: 'ObjectEvent',
    ...base(ctx),
    epcList: epcs(items, 'shipping'),
    action: 'OBSERVE',
    bizStep: 'shipping',
    disposition: 'in_transit',
    ...parties(transfer),
  };
}

/** Receiving (ObjectEvent OBSERVE, bizStep receiving, disposition in_progress) at the destination. */
export function receivingEvent(items: readonly string[], transfer: Transfer, ctx: EventContext): EpcisEvent {
  return {
    type: 'ObjectEvent',
    ...base(ctx),
    epcList: epcs(items, 'receiving'),
    action: 'OBSERVE',
    bizStep: 'receiving',
    disposition: 'in_progress',
    ...parties(transfer),
  };
}

/** Dispensing to a patient (ObjectEvent OBSERVE, bizStep dispensing, disposition dispensed). */
export function dispensingEvent(units: readonly string[], ctx: EventContext): EpcisEvent {
  return {
    type: 'ObjectEvent',
    ...base(ctx),
    epcList: epcs(units, 'dispensing'),
    action: 'OBSERVE',
    bizStep: 'dispensing',
    disposition: 'dispensed',
  };
}

/**
 * Receiving a saleable return (ObjectEvent OBSERVE, bizStep receiving) from the party that returns
 * it: disposition sellable_not_accessible once the unit verified (back in saleable stock), else
 * non_sellable_other (set aside). CBV 2.0 has no "returned and verified" step; the returning
 * party's own event is bizStep returning, disposition returned.
 */
export function returnReceivingEvent(
  units: readonly string[],
  transfer: Transfer,
  ctx: EventContext,
  saleable: boolean,
): EpcisEvent {
  return {
    type: 'ObjectEvent',
    ...base(ctx),
    epcList: epcs(units, 'receiving a return'),
    action: 'OBSERVE',
    bizStep: 'receiving',
    disposition: saleable ? 'sellable_not_accessible' : 'non_sellable_other',
    ...parties(transfer),
  };
}

/** Quarantine of suspect product (ObjectEvent OBSERVE, bizStep holding, disposition non_sellable_other). */
export function holdingEvent(units: readonly string[], ctx: EventContext): EpcisEvent {
  return {
    type: 'ObjectEvent',
    ...base(ctx),
    epcList: epcs(units, 'quarantine'),
    action: 'OBSERVE',
    bizStep: 'holding',
    disposition: 'non_sellable_other',
  };
}

/**
 * The end of an investigation (ObjectEvent OBSERVE, bizStep inspecting): cleared, the units are
 * saleable again (sellable_accessible); illegitimate, they stay out of commerce
 * (non_sellable_other: CBV 2.0 has no disposition for illegitimate product).
 */
export function inspectingEvent(units: readonly string[], ctx: EventContext, cleared: boolean): EpcisEvent {
  return {
    type: 'ObjectEvent',
    ...base(ctx),
    epcList: epcs(units, 'inspection'),
    action: 'OBSERVE',
    bizStep: 'inspecting',
    disposition: cleared ? 'sellable_accessible' : 'non_sellable_other',
  };
}

/** Decommissioning (ObjectEvent DELETE, bizStep decommissioning, disposition inactive). */
export function decommissioningEvent(units: readonly string[], ctx: EventContext): EpcisEvent {
  return {
    type: 'ObjectEvent',
    ...base(ctx),
    epcList: epcs(units, 'decommissioning'),
    action: 'DELETE',
    bizStep: 'decommissioning',
    disposition: 'inactive',
  };
}

/** Destruction (ObjectEvent DELETE, bizStep destroying, disposition destroyed). */
export function destructionEvent(units: readonly string[], ctx: EventContext): EpcisEvent {
  return {
    type: 'ObjectEvent',
    ...base(ctx),
    epcList: epcs(units, 'destruction'),
    action: 'DELETE',
    bizStep: 'destroying',
    disposition: 'destroyed',
  };
}

/** An EPCIS 2.0 document around events (EPCIS 2.0 §9.1: EPCISDocument in JSON-LD). */
export function epcisDocument(events: readonly EpcisEvent[], created: Date) {
  return {
    '@context': [...EPCIS_CONTEXT],
    type: 'EPCISDocument',
    schemaVersion: '2.0',
    creationDate: created.toISOString(),
    epcisBody: { eventList: [...events] },
  };
}
