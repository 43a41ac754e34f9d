/**
 * Suspect product investigations (DSCSA §582(b)(4)(A)–(B), docs/supply-chain.md "Incidents"):
 *
 * - `quarantine` (`POST /supply/quarantine {gtin, serial | lot, reason}`): a trading partner that
 *   holds the unit(s) (DrugLedger custodian) or their manufacturer marks them Suspect; every
 *   verification then answers Suspect and dispensing is refused (by the node and the contract);
 * - `clear` (`POST /supply/clear`): the manufacturer (GTIN owner) or a regulator ends the
 *   investigation, the units Active again;
 * - `determineIllegitimate` (`POST /supply/illegitimate`): the manufacturer or a regulator finds
 *   them illegitimate; every trading partner in their custody history gets a member-signed notice
 *   (notices.ts) with a 24-hour deadline, and so does the determining member itself.
 *
 * Each change goes to DrugLedger `setStatus` through the outbox with its EPCIS event's hash (the
 * event is stored here), then is recorded and logged. Who may do what is the contract's rule
 * (DrugLedger.sol `setStatus`); the node checks the same first, so a member that never held the
 * unit is refused with a clear answer before any transaction is sent.
 */
import { randomUUID } from 'node:crypto';
import { type Address, getAddress, type Hex } from 'viem';
import type { Actor } from '../access/gatekeeper.js';
import type { ConsortiumView } from '../chain/consortium.js';
import type { DrugLedgerContract } from '../chain/contracts.js';
import type { Outbox } from '../chain/outbox.js';
import { maskToRoles } from '../chain/scopes.js';
import { badRequest, ConflictError, forbidden, UnavailableError } from '../errors.js';
import { MAX_NOTICE_SERIALS } from '../federation/wire.js';
import type { LogAction } from '../log/entry.js';
import type { TransparencyLog } from '../log/transparencyLog.js';
import type { IncidentStore } from '../store/incidentStore.js';
import type { StoredUnit, UnitStore } from '../store/unitStore.js';
import { chainStateOf } from './chainCustody.js';
import { type EpcisEvent, holdingEvent, inspectingEvent, unitEpc } from './epcisEvents.js';
import { epcisEventHash, eventHashDigest } from './epcisHash.js';
import { type IncidentRequest, parseIncidentRequest, setStatusOnChain, unitsNamed } from './incidentUnits.js';
import type { NoticeDelivery } from './notices.js';
import { supplyLogger } from './supplyLog.js';
import { verificationHash } from './verificationLog.js';
import type { UnitStatus } from './verify.js';

/** Staff who may quarantine a pack they hold: pharmacists (the supply staff role) and administrators. */
const QUARANTINERS: readonly string[] = ['pharmacist', 'admin'];
/** Ending an investigation is the determining member's administrators' decision (like a recall). */
const DETERMINERS: readonly string[] = ['admin'];

export interface InvestigationDeps {
  outbox: Outbox;
  ledger: DrugLedgerContract;
  consortium: ConsortiumView;
  log: TransparencyLog;
  units: UnitStore;
  incidents: IncidentStore;
  /** This member's chain address. */
  self: Address;
  now: () => Date;
  /** Notify every handler of illegitimate units (notices.ts `notifyIllegitimate`). */
  notify: (
    units: readonly StoredUnit[],
    q: { gtin: string; lot: string; reason: string },
  ) => Promise<{
    noticeId: string;
    deadline: string;
    notified: NoticeDelivery[];
  }>;
}

/** The result of a quarantine, clear or illegitimate determination. */
export interface InvestigationResult {
  id: string;
  gtin: string;
  lot: string;
  serials: string[];
  status: UnitStatus;
  txHash: string | null;
  /** Units named but left as they were (already in that status, dispensed, destroyed...). */
  skipped: { serial: string; status: string }[];
}

const queryHashOf = (q: IncidentRequest) =>
  verificationHash(q.gtin, q.serial !== undefined ? q.serial : `lot:${q.lot}`);

type Step = {
  kind: 'quarantine' | 'clear' | 'illegitimate';
  action: LogAction;
  roles: readonly string[];
  /** Whether the GTIN owner or a regulator must do it (else the custodian may too). */
  ownerOnly: boolean;
  from: readonly (UnitStatus | 'none')[];
  to: UnitStatus;
  event: (epcs: string[], at: Date, gln: string) => EpcisEvent;
  verb: string;
};

const STEPS: Record<Step['kind'], Step> = {
  quarantine: {
    kind: 'quarantine',
    action: 'supply-quarantine',
    roles: QUARANTINERS,
    ownerOnly: false,
    from: ['active', 'recalled'],
    to: 'suspect',
    event: (e, time, location) => holdingEvent(e, { time, location }),
    verb: 'quarantine',
  },
  clear: {
    kind: 'clear',
    action: 'supply-investigation',
    roles: DETERMINERS,
    ownerOnly: true,
    from: ['suspect'],
    to: 'active',
    event: (e, time, location) => inspectingEvent(e, { time, location }, true),
    verb: 'clear',
  },
  illegitimate: {
    kind: 'illegitimate',
    action: 'supply-investigation',
    roles: DETERMINERS,
    ownerOnly: true,
    from: ['active', 'suspect', 'recalled'],
    to: 'illegitimate',
    event: (e, time, location) => inspectingEvent(e, { time, location }, false),
    verb: 'declare illegitimate',
  },
};

async function run(
  deps: InvestigationDeps,
  step: Step,
  actor: Actor,
  body: unknown,
): Promise<{ result: InvestigationResult; units: StoredUnit[]; q: IncidentRequest }> {
  const q = parseIncidentRequest(body);
  const qh = queryHashOf(q);
  const reasonCode =
    step.kind === 'quarantine' ? 'quarantined' : step.kind === 'clear' ? 'cleared' : 'illegitimate';
  const log = supplyLogger(deps.log, actor.id, step.action, qh);
  if (!step.roles.includes(actor.role)) {
    await log('deny', 'role');
    throw forbidden(
      `only ${step.roles.join(' or ')} staff may ${step.verb} drug units at this member`,
      'role',
    );
  }
  let named: StoredUnit[];
  try {
    named = unitsNamed(deps.units, q, step.verb);
  } catch (err) {
    await log('deny', 'not-held');
    throw err;
  }
  const owner = getAddress(await deps.ledger.read.responderFor([BigInt(q.gtin)])) === deps.self;
  const regulator = maskToRoles((await deps.consortium.member(deps.self)).roles).includes('REGULATOR');
  const states = await Promise.all(named.map((u) => chainStateOf(deps.ledger, u)));
  const mine = named.filter(
    (_, i) => owner || regulator || (!step.ownerOnly && states[i]?.custodian === deps.self),
  );
  if (mine.length === 0) {
    await log('deny', step.ownerOnly ? 'not-owner' : 'not-custodian');
    throw forbidden(
      step.ownerOnly
        ? `only the manufacturer of GTIN ${q.gtin} (its DrugLedger responder) or a regulator may ${step.verb} its units`
        : `this member does not hold the unit(s) now (DrugLedger names another custodian) and is not their manufacturer: only the holder may ${step.verb} them`,
      step.ownerOnly ? 'not-owner' : 'not-custodian',
    );
  }
  const skipped: { serial: string; status: string }[] = named
    .filter((u) => !mine.includes(u))
    .map((u) => ({ serial: u.serial, status: 'held-by-another-member' }));
  const units = mine.filter((u) => {
    const s = states[named.indexOf(u)]?.status ?? 'none';
    if (step.from.includes(s)) return true;
    skipped.push({ serial: u.serial, status: s });
    return false;
  });
  if (units.length === 0) {
    await log('deny', 'no-change');
    throw new ConflictError(
      `nothing to ${step.verb}: ${skipped.map((s) => `${s.serial} is ${s.status}`).join(', ')} (${step.verb} applies to ${step.from.join(' or ')} units)`,
      { skipped },
    );
  }
  if (step.kind === 'illegitimate' && units.length > MAX_NOTICE_SERIALS) {
    await log('deny', 'too-many');
    throw badRequest(
      `one determination names at most ${MAX_NOTICE_SERIALS} units (one notice); this names ${units.length}: determine them by serial or in parts`,
    );
  }
  const id = randomUUID();
  const at = deps.now();
  const gln = deps.units.setting('gln');
  const event = gln ? step.event(units.map(unitEpc), at, gln) : undefined;
  const eventHash: Hex = event ? eventHashDigest(epcisEventHash(event)) : `0x${'00'.repeat(32)}`;
  let txHash: string | null;
  try {
    txHash = await setStatusOnChain(
      deps.outbox,
      deps.ledger.address,
      `${step.kind}:${id}`,
      units,
      step.to,
      eventHash,
      `${step.kind} drug units`,
    );
  } catch (err) {
    await log('deny', err instanceof ConflictError ? 'refused' : 'pending');
    if (err instanceof ConflictError) throw forbidden(`not done: ${err.message}`, 'refused');
    throw err;
  }
  if (event) deps.units.putEvent(epcisEventHash(event), event);
  const lot = (units[0] as StoredUnit).lot;
  deps.incidents.putIncident({
    id,
    kind: step.kind,
    gtin: q.gtin,
    lot,
    serials: units.map((u) => u.serial),
    reason: q.reason,
    outcome: step.to,
    actor: actor.id,
    txHash,
    atMs: at.getTime(),
  });
  await log('permit', reasonCode);
  return {
    result: { id, gtin: q.gtin, lot, serials: units.map((u) => u.serial), status: step.to, txHash, skipped },
    units,
    q,
  };
}

/** Quarantine units this member holds (or manufactured): DrugLedger Suspect. */
export async function quarantine(
  deps: InvestigationDeps,
  actor: Actor,
  body: unknown,
): Promise<InvestigationResult> {
  return (await run(deps, STEPS.quarantine, actor, body)).result;
}

/** End an investigation as cleared: Suspect units back to Active (manufacturer or regulator). */
export async function clearInvestigation(
  deps: InvestigationDeps,
  actor: Actor,
  body: unknown,
): Promise<InvestigationResult> {
  return (await run(deps, STEPS.clear, actor, body)).result;
}

/**
 * Determine units illegitimate (manufacturer or regulator), then notify every trading partner who
 * handled them. The status is on chain before anyone is told, so each receiver can check it.
 */
export async function determineIllegitimate(
  deps: InvestigationDeps,
  actor: Actor,
  body: unknown,
): Promise<InvestigationResult & { notice: { id: string; deadline: string }; notified: NoticeDelivery[] }> {
  const { result, units, q } = await run(deps, STEPS.illegitimate, actor, body);
  try {
    const n = await deps.notify(units, { gtin: q.gtin, lot: result.lot, reason: q.reason });
    return { ...result, notice: { id: n.noticeId, deadline: n.deadline }, notified: n.notified };
  } catch (err) {
    // The determination stands (it is on chain); say that the notices must be sent again.
    throw new UnavailableError(
      'supply-notice-failed',
      `the units are illegitimate on chain, but notifying their trading partners failed (${err instanceof Error ? err.message : 'unknown error'}); notify them within 24 hours`,
      { cause: err },
    );
  }
}
