/**
 * The asking side of drug unit verification: a pharmacist at their own member node scans a pack;
 * the node finds the GTIN's responder in DrugLedger (its Registry endpoint is the verification
 * service) and asks it with a member request (a lookup: MAC-authenticated, src/access/memberMac.ts,
 * when the node has its MAC keys). Logged here too (the responder logs its own),
 * before the answer is shown, whether it was answered, refused or not reached.
 */
import { randomUUID } from 'node:crypto';
import { type Address, zeroAddress } from 'viem';
import type { LocalAccount } from 'viem/accounts';
import type { Actor } from '../access/gatekeeper.js';
import type { MemberMacKeys } from '../access/memberMacKeys.js';
import type { ConsortiumView } from '../chain/consortium.js';
import type { DrugLedgerContract } from '../chain/contracts.js';
import { forbidden, type MedchainError, notFound, UnavailableError } from '../errors.js';
import { callable, postLookup } from '../federation/memberClient.js';
import { parseSupplyVerifyAnswer, supplyVerifyRequestBody } from '../federation/wire.js';
import type { TransparencyLog } from '../log/transparencyLog.js';
import type { ProductIdentifier } from './gs1.js';
import { supplyLogger } from './supplyLog.js';
import { verificationHash, verificationReason } from './verificationLog.js';
import type { VerificationAnswer } from './verify.js';

/** The path a responder answers verification requests on. */
export const SUPPLY_VERIFY_PATH = '/federation/supply/verify';

/** User roles that may verify a drug pack. */
const VERIFIERS: readonly string[] = ['pharmacist'];

export interface RequesterDeps {
  log: TransparencyLog;
  ledger: DrugLedgerContract;
  consortium: ConsortiumView;
  signer: LocalAccount;
  /** Pairwise MAC keys: a verification is a lookup, sent with a MAC when these are given. */
  macs?: MemberMacKeys;
}

/** A verification answer and who gave it. */
export interface VerificationResult {
  responder: { address: Address; name: string };
  answer: VerificationAnswer;
}

/** A responder's answer, or why there is none (with the log reason and the error to show). */
export type ResponderReply =
  | { kind: 'answer'; result: VerificationResult }
  | { kind: 'refused'; reason: string; error: MedchainError };

/**
 * Ask the GTIN's responder about a pack with a member request (MAC or signature): the one way a member asks,
 * for a pharmacist's verification and for a receipt's check of a unit not in its shipment. Neither
 * checks a role nor logs here: each caller logs its own request.
 */
export async function askResponder(
  deps: RequesterDeps,
  id: ProductIdentifier & { serial: string },
): Promise<ResponderReply> {
  const responder = (await deps.ledger.read.responderFor([BigInt(id.gtin)])) as Address;
  if (responder === zeroAddress)
    return {
      kind: 'refused',
      reason: 'no-responder',
      error: notFound(
        `no member answers for GTIN ${id.gtin} (its company prefix is not claimed in DrugLedger): the pack cannot be verified; do not dispense it`,
      ),
    };
  const m = await deps.consortium.member(responder);
  if (!m.active || !callable(m))
    return {
      kind: 'refused',
      reason: 'responder-not-active',
      error: new UnavailableError(
        'responder-unavailable',
        `the responder for GTIN ${id.gtin} (${m.name || responder}) is not an active member with an endpoint`,
      ),
    };
  const payload = supplyVerifyRequestBody({
    gtin: id.gtin,
    serial: id.serial,
    ...(id.lot === undefined ? {} : { lot: id.lot }),
    ...(id.expiry === undefined ? {} : { expiry: id.expiry }),
    corrUUID: randomUUID(),
  });
  const reply = await postLookup(deps, m, SUPPLY_VERIFY_PATH, payload);
  if (reply.kind !== 'ok')
    return {
      kind: 'refused',
      reason: reply.kind === 'refused' ? 'responder-refused' : 'responder-unreachable',
      error: new UnavailableError(
        'responder-unavailable',
        `${m.name} (the responder for GTIN ${id.gtin}) ${reply.kind === 'refused' ? `refused: ${reply.message}` : 'did not answer'}; try again, and do not dispense the pack until it is verified`,
      ),
    };
  const answer = parseSupplyVerifyAnswer(reply.body);
  return { kind: 'answer', result: { responder: { address: responder, name: m.name }, answer } };
}

/** Verify a scanned pack (GTIN + serial at least) for `actor` at the GTIN's responder. */
export async function verifyAtResponder(
  deps: RequesterDeps,
  actor: Actor,
  id: ProductIdentifier & { serial: string },
): Promise<VerificationResult> {
  const qh = verificationHash(id.gtin, id.serial);
  const log = supplyLogger(deps.log, actor.id, 'supply-verify', qh);
  if (!VERIFIERS.includes(actor.role)) {
    await log('deny', 'role');
    throw forbidden('verifying a drug pack is for pharmacists', 'role');
  }
  const reply = await askResponder(deps, id);
  if (reply.kind === 'refused') {
    await log('deny', reply.reason);
    throw reply.error;
  }
  await log('permit', verificationReason(reply.result.answer));
  return reply.result;
}
