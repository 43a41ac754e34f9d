/**
 * The one place that builds transparency-log entries for accesses: every permit and deny the
 * gatekeeper decides, every record served or received, every refused attempt. Entries name no
 * category and hold no free text (a break-glass reason only as its hash): the log is evidence for
 * the patient and auditors, not a second copy of the data.
 */
import { createHash, createHmac } from 'node:crypto';
import type { Address, Hex } from 'viem';
import type { LogAction, LogPurpose, LogTarget } from '../log/entry.js';
import type { LogInput } from '../log/transparencyLog.js';
import type { VersionRow } from '../store/recordStore.js';

/** The log target of a stored version. */
export function targetOf(row: VersionRow): LogTarget {
  return {
    resourceType: row.resourceType,
    id: row.id,
    version: row.version,
    ciphertextHash: row.deleted ? null : `0x${row.ciphertextHash}`,
  };
}

/** A target naming only a resource type (a search, a refusal for a type). */
export const typeTarget = (resourceType: string): LogTarget => ({
  resourceType,
  id: '',
  version: 0,
  ciphertextHash: null,
});

/** One log entry. */
export function entry(
  actor: string,
  action: LogAction,
  target: LogTarget | null,
  patient: Address | null,
  purpose: LogPurpose,
  outcome: 'permit' | 'deny',
  reason: string,
  queryHash: Hex | null = null,
): LogInput {
  return { actor, patient, action, target, purpose, outcome, reason, queryHash };
}

/**
 * What the log keeps of a search: HMAC-SHA256 under a key of this member over the query with its
 * parameters sorted. Keyed, because a plain hash of `Patient?name=…` lets anyone who reads the log
 * test guessed names, even for searches that matched nobody; equal queries still hash equal.
 */
export function queryHash(key: Uint8Array, type: string, query: Record<string, string | string[]>): Hex {
  const pairs = Object.entries(query)
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k}=${x}`))
    .sort();
  return `0x${createHmac('sha256', key)
    .update(`query\0${type}?${pairs.join('&')}`)
    .digest('hex')}`;
}

/** What the log keeps of a break-glass reason: its SHA-256 (entries hold no free text). */
export const reasonHash = (reason: string): Hex =>
  `0x${createHash('sha256').update(reason, 'utf8').digest('hex')}`;
