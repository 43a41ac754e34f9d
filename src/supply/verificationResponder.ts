/**
 * The GTIN responder's side of drug unit verification (`POST /federation/supply/verify`, member
 * signed: only trading partners ask). The answer is the rule table of verify.ts over what this
 * member's unit store holds (product identifier, batch, proof) and what the chain says now
 * (custodian, status, lot recall: `UnitChainState`, direct calls or the event-kept cache of
 * unitChainState.ts). Every request is logged before it is answered, and noted per unit so a pack
 * seen at two places is caught; the note is written in the log entry's commit (group commit: one
 * fsync for all the requests answered at once, not one more each).
 */
import type { Address } from 'viem';
import type { BlockMark } from '../chain/blockBoard.js';
import type { DrugLedgerContract } from '../chain/contracts.js';
import { parseSupplyVerifyRequest } from '../federation/wire.js';
import type { TransparencyLog } from '../log/transparencyLog.js';
import type { UnitStore } from '../store/unitStore.js';
import { ledgerStatus } from './chainCustody.js';
import { supplyEntry } from './supplyLog.js';
import { directUnitState, type UnitChainState } from './unitChainState.js';
import { lotCommitment } from './unitCommitment.js';
import { verificationHash, verificationReason } from './verificationLog.js';
import { type UnitRecord, type VerificationAnswer, verify } from './verify.js';

const CLONE_WINDOW_MS = 30 * 86_400_000;

export interface ResponderDeps {
  units: UnitStore;
  log: TransparencyLog;
  ledger: DrugLedgerContract;
  supplyKey: Uint8Array;
  /** Where the chain state comes from (default: two contract calls per answer). */
  chain?: UnitChainState;
  now?: () => Date;
}

/** What this member and the chain know of a unit it commissioned, or undefined. */
async function unitRecord(
  deps: ResponderDeps,
  gtin: string,
  serial: string,
  now: Date,
  since: BlockMark | undefined,
): Promise<UnitRecord | undefined> {
  const u = deps.units.unit(gtin, serial);
  if (!u) return undefined;
  const { custodian, status, lotRecalled } = await (deps.chain ?? directUnitState(deps.ledger)).read(
    { id: u.commitment, batch: u.batch, proof: u.proof },
    lotCommitment(deps.supplyKey, gtin, u.lot),
    since,
  );
  const s = ledgerStatus(status);
  return {
    gtin,
    serial,
    lot: u.lot,
    expiry: u.expiry,
    // A unit in the store but unknown to the chain (status None) never happens for a commissioned
    // batch; treat it as suspect rather than genuine.
    status: s === 'none' ? 'suspect' : s,
    lotRecalled,
    custodian,
    recentScans: deps.units.recentScans(gtin, serial, now.getTime() - CLONE_WINDOW_MS),
  };
}

/**
 * Answer a trading partner's verification request (the caller's signature or MAC already checked),
 * with the chain state as of a block no older than the latest at `since` (when the request arrived;
 * default: now).
 */
export async function answerVerification(
  deps: ResponderDeps,
  caller: Address,
  body: unknown,
  since?: BlockMark,
): Promise<VerificationAnswer> {
  const q = parseSupplyVerifyRequest(body);
  const now = deps.now?.() ?? new Date();
  const unit = await unitRecord(deps, q.gtin, q.serial, now, since);
  const answer = verify(unit, { ...q, requester: caller }, now, {
    responderGLN: deps.units.setting('gln') ?? '0000000000000',
    cloneWindowMs: CLONE_WINDOW_MS,
  });
  try {
    await deps.log.commitQueued(
      [
        supplyEntry(
          `member:${caller}`,
          'supply-verify',
          'permit',
          verificationReason(answer),
          verificationHash(q.gtin, q.serial),
        ),
      ],
      () => {
        if (unit) deps.units.recordScan(q.gtin, q.serial, caller, now.getTime());
      },
    );
  } catch (err) {
    // The note went with the failed commit: memory must not keep it either.
    deps.units.forgetScans(q.gtin, q.serial);
    throw err;
  }
  return answer;
}
