/**
 * Illegitimate-product notices and their 24-hour alarm (DSCSA §582(b)(4)(B): a trading partner
 * that determines a product illegitimate notifies FDA and every trading partner it may have
 * handed it to within 24 hours; docs/supply-chain.md "Incidents").
 *
 * - `notifyIllegitimate`: the determining member sends a member-signed notice
 *   (`POST /federation/supply/notice`, wire.ts `SupplyNotice`) to every member in the units'
 *   custody history (custodyHistory.ts), and stores one for itself, its deadline 24 hours after
 *   the determination.
 * - `acceptNotice`: a receiver stores a notice only from the GTIN's responder or a regulator, and
 *   only when the chain shows every unit of it that this member holds as Illegitimate; its own
 *   deadline is 24 hours after it received it (the time it could first act on it).
 * - `openAlerts` / `acknowledgeAlert`: `GET /supply/alerts`, `POST /supply/alerts/{id}/ack`.
 *
 * Every time comes from the injected clock `now`, so a test moves past a deadline without sleeping.
 */
import { randomUUID } from 'node:crypto';
import { type Address, getAddress } from 'viem';
import type { LocalAccount } from 'viem/accounts';
import type { Actor } from '../access/gatekeeper.js';
import type { ChainConnection } from '../chain/clients.js';
import type { ConsortiumView } from '../chain/consortium.js';
import type { DrugLedgerContract } from '../chain/contracts.js';
import { maskToRoles } from '../chain/scopes.js';
import { badRequest, ConflictError, forbidden, notFound } from '../errors.js';
import { callable, postSigned } from '../federation/memberClient.js';
import { parseSupplyNotice, type SupplyNotice, supplyNoticeBody } from '../federation/wire.js';
import type { TransparencyLog } from '../log/transparencyLog.js';
import type { IncidentStore, StoredNotice } from '../store/incidentStore.js';
import type { StoredUnit, UnitStore } from '../store/unitStore.js';
import { chainStateOf } from './chainCustody.js';
import { handlersOf } from './custodyHistory.js';
import { supplyEntry, supplyLogger } from './supplyLog.js';
import { verificationHash } from './verificationLog.js';

/** The path a member receives notices on. */
export const SUPPLY_NOTICE_PATH = '/federation/supply/notice';

/** DSCSA's notification window. */
export const NOTICE_DEADLINE_MS = 24 * 3_600_000;

/** Staff who see and acknowledge alerts: the supply staff and administrators. */
const ALERT_ROLES: readonly string[] = ['pharmacist', 'admin'];

/** How one trading partner was told. */
export interface NoticeDelivery {
  member: Address;
  name: string;
  delivered: boolean;
  /** Why not, when it was not. */
  error?: string;
}

export interface NoticeSenderDeps {
  conn: ChainConnection;
  ledger: DrugLedgerContract;
  /** The block DrugLedger was deployed in (where custody history starts). */
  fromBlock: bigint;
  consortium: ConsortiumView;
  signer: LocalAccount;
  incidents: IncidentStore;
  log: TransparencyLog;
  now: () => Date;
}

/** Notify every trading partner who handled `units` (now Illegitimate on chain), and this member. */
export async function notifyIllegitimate(
  deps: NoticeSenderDeps,
  units: readonly StoredUnit[],
  q: { gtin: string; lot: string; reason: string },
): Promise<{ noticeId: string; deadline: string; notified: NoticeDelivery[] }> {
  const self = getAddress(deps.signer.address);
  const at = deps.now();
  const notice: SupplyNotice = {
    noticeId: randomUUID(),
    kind: 'illegitimate',
    gtin: q.gtin,
    lot: q.lot,
    serials: units.map((u) => u.serial),
    reason: q.reason,
    determinedAt: at.toISOString(),
  };
  const deadlineMs = at.getTime() + NOTICE_DEADLINE_MS;
  // The determining member's own alarm: it must notify FDA (Form FDA 3911) within the same 24 hours.
  deps.incidents.putNotice({
    id: notice.noticeId,
    sender: self,
    kind: 'illegitimate',
    gtin: q.gtin,
    lot: q.lot,
    serials: notice.serials,
    reason: q.reason,
    determinedMs: at.getTime(),
    receivedMs: at.getTime(),
    deadlineMs,
  });
  const handlers = (await handlersOf(deps.conn, deps.ledger, deps.fromBlock, units)).filter(
    (a) => a !== self,
  );
  const payload = supplyNoticeBody(notice);
  const notified = await Promise.all(
    handlers.map(async (address): Promise<NoticeDelivery> => {
      const m = await deps.consortium.member(address);
      if (!m.active || !callable(m))
        return {
          member: address,
          name: m.name,
          delivered: false,
          error: 'not an active member with an endpoint',
        };
      const reply = await postSigned(deps.signer, m, SUPPLY_NOTICE_PATH, payload);
      return reply.kind === 'ok'
        ? { member: address, name: m.name, delivered: true }
        : { member: address, name: m.name, delivered: false, error: reply.message };
    }),
  );
  const qh = verificationHash(q.gtin, `lot:${q.lot}`);
  const all = notified.every((n) => n.delivered);
  await deps.log.append(
    supplyEntry(`member:${self}`, 'supply-notice', all ? 'permit' : 'deny', all ? 'sent' : 'partly-sent', qh),
  );
  return { noticeId: notice.noticeId, deadline: new Date(deadlineMs).toISOString(), notified };
}

export interface NoticeReceiverDeps {
  ledger: DrugLedgerContract;
  consortium: ConsortiumView;
  units: UnitStore;
  incidents: IncidentStore;
  log: TransparencyLog;
  now: () => Date;
}

/** Store a trading partner's notice (the caller's member signature already checked). */
export async function acceptNotice(
  deps: NoticeReceiverDeps,
  caller: Address,
  body: unknown,
): Promise<{ noticeId: string; stored: boolean; deadline: string }> {
  const n = parseSupplyNotice(body);
  const sender = getAddress(caller);
  const qh = verificationHash(n.gtin, `lot:${n.lot}`);
  const log = supplyLogger(deps.log, `member:${sender}`, 'supply-notice', qh);
  const responder = getAddress(await deps.ledger.read.responderFor([BigInt(n.gtin)]));
  const regulator = maskToRoles((await deps.consortium.member(sender)).roles).includes('REGULATOR');
  if (responder !== sender && !regulator) {
    await log('deny', 'not-owner');
    throw forbidden(
      `only the manufacturer of GTIN ${n.gtin} (its DrugLedger responder) or a regulator determines its units illegitimate`,
      'not-owner',
    );
  }
  // What this member holds of the notice must read Illegitimate on chain: a notice cannot claim
  // what the chain does not show.
  for (const serial of n.serials) {
    const u = deps.units.unit(n.gtin, serial);
    if (!u) continue;
    const s = await chainStateOf(deps.ledger, u);
    if (s.status !== 'illegitimate') {
      await log('deny', 'not-on-chain');
      throw new ConflictError(
        `serial ${serial} is ${s.status} on chain, not illegitimate: the notice is not stored`,
        {},
      );
    }
  }
  const existing = deps.incidents.notice(n.noticeId);
  if (existing && existing.sender !== sender) {
    await log('deny', 'duplicate-id');
    throw new ConflictError('another member sent a notice with this id', {});
  }
  if (existing)
    return { noticeId: n.noticeId, stored: false, deadline: new Date(existing.deadlineMs).toISOString() };
  const at = deps.now().getTime();
  const deadlineMs = at + NOTICE_DEADLINE_MS;
  deps.incidents.putNotice({
    id: n.noticeId,
    sender,
    kind: n.kind,
    gtin: n.gtin,
    lot: n.lot,
    serials: n.serials,
    reason: n.reason,
    determinedMs: Date.parse(n.determinedAt),
    receivedMs: at,
    deadlineMs,
  });
  await log('permit', 'received');
  return { noticeId: n.noticeId, stored: true, deadline: new Date(deadlineMs).toISOString() };
}

/** One open alert as `GET /supply/alerts` lists it. */
export interface SupplyAlert {
  id: string;
  kind: 'illegitimate';
  gtin: string;
  lot: string;
  serials: string[];
  from: Address;
  reason: string;
  determinedAt: string;
  receivedAt: string;
  deadline: string;
  /** Milliseconds until the deadline, 0 once it passed. */
  timeLeftMs: number;
  /** The deadline passed and nobody acknowledged the notice: the alarm. */
  overdue: boolean;
}

const alertOf = (n: StoredNotice, now: number): SupplyAlert => ({
  id: n.id,
  kind: n.kind,
  gtin: n.gtin,
  lot: n.lot,
  serials: n.serials,
  from: getAddress(n.sender),
  reason: n.reason,
  determinedAt: new Date(n.determinedMs).toISOString(),
  receivedAt: new Date(n.receivedMs).toISOString(),
  deadline: new Date(n.deadlineMs).toISOString(),
  timeLeftMs: Math.max(0, n.deadlineMs - now),
  overdue: now >= n.deadlineMs,
});

export interface AlertDeps {
  incidents: IncidentStore;
  log: TransparencyLog;
  now: () => Date;
}

function checkRole(actor: Actor): void {
  if (!ALERT_ROLES.includes(actor.role))
    throw forbidden('supply alerts are for pharmacists and administrators', 'role');
}

/** The open (unacknowledged) notices, soonest deadline first. */
export function openAlerts(deps: AlertDeps, actor: Actor): { alerts: SupplyAlert[]; overdue: number } {
  checkRole(actor);
  const now = deps.now().getTime();
  const alerts = deps.incidents.openNotices().map((n) => alertOf(n, now));
  return { alerts, overdue: alerts.filter((a) => a.overdue).length };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Acknowledge (close) an open notice. */
export async function acknowledgeAlert(
  deps: AlertDeps,
  actor: Actor,
  id: string,
): Promise<{ id: string; acknowledged: true; acknowledgedAt: string; by: string }> {
  checkRole(actor);
  if (!UUID.test(id)) throw badRequest('the alert id is a UUID (from GET /supply/alerts)');
  const n = deps.incidents.notice(id);
  if (!n) throw notFound(`no alert ${id} at this member`);
  const at = deps.now();
  if (!deps.incidents.ackNotice(id, actor.id, at.getTime()))
    throw new ConflictError(`alert ${id} was acknowledged already`, {});
  await deps.log.append(
    supplyEntry(
      actor.id,
      'supply-notice',
      'permit',
      'acknowledged',
      verificationHash(n.gtin, `lot:${n.lot}`),
    ),
  );
  return { id, acknowledged: true, acknowledgedAt: at.toISOString(), by: actor.id };
}
