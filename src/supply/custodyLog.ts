/**
 * How custody requests (commission, ship, shipment notices, receive) are logged: every request,
 * permitted or refused, lands in the transparency log like any access, after the decision and
 * before the answer. No patient is involved; the query hash names what was acted on (a lot, a
 * shipment), hashed, never a serial in the clear.
 */
import { createHash } from 'node:crypto';
import type { Hex } from 'viem';
import { httpFailure } from '../fhir/outcomes.js';
import type { LogAction } from '../log/entry.js';
import { LogUnavailableError, type TransparencyLog } from '../log/transparencyLog.js';
import { supplyEntry } from './supplyLog.js';

/** SHA-256 of what a custody request acted on (kind and parts, newline separated). */
export const custodyHash = (kind: string, ...parts: string[]): Hex =>
  `0x${createHash('sha256')
    .update(`medchain supply ${kind}\n${parts.join('\n')}`)
    .digest('hex')}`;

/** The log reason of a failure: its own `logReason` when it has one, else its HTTP reason code. */
const logReasonOf = (err: unknown): string =>
  (err as { logReason?: unknown })?.logReason && typeof (err as { logReason: unknown }).logReason === 'string'
    ? (err as { logReason: string }).logReason
    : httpFailure(err).reason;

/** What a custody step tells its logger once it knows it: the query hash and the success reason. */
export interface CustodyLogging {
  /** Set as soon as the request names what it acts on. */
  queryHash: Hex | null;
}

/**
 * Run one custody request for `actor` and log it: `permit` with `reason` when it succeeds, `deny`
 * with the failure's reason code when it throws (then rethrown).
 */
export async function loggedCustody<T>(
  log: TransparencyLog,
  actor: string,
  action: LogAction,
  run: (l: CustodyLogging) => Promise<{ result: T; reason: string }>,
): Promise<T> {
  const l: CustodyLogging = { queryHash: null };
  let done: { result: T; reason: string };
  try {
    done = await run(l);
  } catch (err) {
    if (!(err instanceof LogUnavailableError))
      await log.append(supplyEntry(actor, action, 'deny', logReasonOf(err), l.queryHash));
    throw err;
  }
  await log.append(supplyEntry(actor, action, 'permit', done.reason, l.queryHash));
  return done.result;
}
