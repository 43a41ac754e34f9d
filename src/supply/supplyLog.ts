/**
 * The transparency-log entries of supply requests (verify, dispense, return, recall, notices,
 * incidents, custody): no target and no patient, since what was acted on is a pack or a lot, named
 * only by its hash in the query hash. Purpose `operations` unless the request names another.
 */
import type { Hex } from 'viem';
import { entry } from '../access/accessLog.js';
import type { LogAction, LogPurpose } from '../log/entry.js';
import type { LogInput, LogRecord, TransparencyLog } from '../log/transparencyLog.js';

/** One supply log entry. */
export function supplyEntry(
  actor: string,
  action: LogAction,
  outcome: 'permit' | 'deny',
  reason: string,
  queryHash: Hex | null,
  purpose: LogPurpose = 'operations',
): LogInput {
  return entry(actor, action, null, null, purpose, outcome, reason, queryHash);
}

/** Appends a supply request's decision, `(outcome, reason)`, to `log` as `actor` doing `action` on `queryHash`. */
export const supplyLogger =
  (log: TransparencyLog, actor: string, action: LogAction, queryHash: Hex, purpose?: LogPurpose) =>
  (outcome: 'permit' | 'deny', reason: string): Promise<LogRecord> =>
    log.append(supplyEntry(actor, action, outcome, reason, queryHash, purpose));
