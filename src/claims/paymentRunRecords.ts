/**
 * The record of each payment run an insurer made (`GET /claims/payment-runs`): one JSON file per
 * run under `<node dir>/remittances/runs/`, written atomically after the run, next to the 835 files
 * it wrote. Files, not a table: a run's record belongs with its remittance files, and an operator
 * can archive both together. No patient data: claim ids are the random on-chain ids.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Address, Hex } from 'viem';
import { writeFileAtomic } from '../util/atomicFile.js';

/** One claim a run paid. */
export interface PaidClaim {
  claimId: Hex;
  provider: Address;
  /** Cents paid (the approved amount on chain). */
  paidCents: number;
}

/** One 835 a run wrote. */
export interface RemittanceFileRecord {
  /** Relative to the node's directory, e.g. `remittances/<runId>-<payee>.835`. */
  file: string;
  payee: Address;
  controlNumber: number;
  traceNumber: string;
  claims: number;
  paidCents: number;
}

/** What a payment run did. */
export interface PaymentRunRecord {
  runId: string;
  /** ms since the epoch. */
  startedAt: number;
  finishedAt: number;
  /** The pseudonymous id of the user who ran it (as the transparency log names them). */
  by: string;
  claims: PaidClaim[];
  paidCents: number;
  files: RemittanceFileRecord[];
  /** Outbox keys of the `Claims.markPaid` transactions. */
  txKeys: string[];
  /** Approved claims not paid by this run, with why (refused on chain, not mined yet, unreadable). */
  skipped: { claimId: Hex; reason: string }[];
  /** Set when there was nothing to pay. */
  message?: string;
}

const runsDir = (remittances: string) => path.join(remittances, 'runs');

/** Save `run` under `remittances` (crash-safe). */
export function saveRun(remittances: string, run: PaymentRunRecord): void {
  writeFileAtomic(
    path.join(runsDir(remittances), `${run.runId}.json`),
    `${JSON.stringify(run, null, 2)}\n`,
    0o600,
  );
}

/** Every run recorded under `remittances`, newest first. */
export function listRuns(remittances: string): PaymentRunRecord[] {
  let names: string[];
  try {
    names = readdirSync(runsDir(remittances)).filter((n) => n.endsWith('.json') && !n.startsWith('.'));
  } catch {
    return [];
  }
  return names
    .map((n) => JSON.parse(readFileSync(path.join(runsDir(remittances), n), 'utf8')) as PaymentRunRecord)
    .sort((a, b) => b.startedAt - a.startedAt || b.runId.localeCompare(a.runId));
}
