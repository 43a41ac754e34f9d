/**
 * A patient's "who accessed my records": log entries from every member, in words, each marked
 * verified only when the browser proved it included in the head that member anchored on chain.
 * Pure (tested in node).
 */
import type { Address } from 'viem';
import type { CheckedDisclosure } from '../../../src/log/disclosures.js';
import type { LogEntry } from '../../../src/log/entry.js';

export interface AccessRow {
  key: string;
  time: number;
  holder: string;
  who: string;
  what: string;
  outcome: 'permit' | 'deny';
  reason: string;
  purpose: string;
  breakGlass: boolean;
  status: 'verified' | 'failed' | 'pending';
  problem?: string;
  /** How many entries this row stands for (consecutive entries of one access, e.g. one search). */
  count: number;
}

const ACTIONS: Record<string, string> = {
  create: 'added a record',
  read: 'read a record',
  vread: 'read an earlier version of a record',
  search: 'searched your records',
  update: 'changed a record',
  delete: 'erased a record',
  history: 'read the history of a record',
  export: 'downloaded your records',
  'consent-grant': 'recorded a consent you gave',
  'consent-revoke': 'recorded a consent you withdrew',
  'break-glass': 'EMERGENCY ACCESS (break-glass)',
  login: 'signed in',
  'login-failed': 'failed to sign in',
  'audit-read': 'looked at your access log',
  verify: 'checked the log',
};

const REASONS: Record<string, string> = {
  ok: '',
  consent: 'on your consent',
  'no-consent': 'refused: no consent',
  'remote-no-consent': 'refused by the holder: no consent',
  received: 'received from the holder',
  'received-from-replica': 'received from a replica',
  'break-glass': 'emergency override, reason kept',
};

export function whoText(
  actor: string,
  patient: Address,
  names: ReadonlyMap<string, string>,
  holder: string,
): string {
  if (actor === `patient:${patient}`) return 'You';
  if (actor.startsWith('member:')) {
    const a = actor.slice('member:'.length).toLowerCase();
    return names.get(a) ?? `member ${a.slice(0, 10)}…`;
  }
  if (actor === 'anonymous') return `someone not signed in at ${holder}`;
  if (actor.startsWith('operator:')) return `${holder} (data import)`;
  if (actor.startsWith('anon:')) return `an unknown user at ${holder}`;
  return `a user at ${holder} (${actor.slice(0, 8)})`;
}

export function describeEntry(
  e: LogEntry,
  patient: Address,
  names: ReadonlyMap<string, string>,
  status: AccessRow['status'],
  problem?: string,
): AccessRow {
  const holder = names.get(e.member.toLowerCase()) ?? e.member;
  const target = e.target?.resourceType ? ` (${e.target.resourceType})` : '';
  return {
    key: `${e.member}:${e.index}`,
    time: e.time,
    holder,
    who: whoText(e.actor, patient, names, holder),
    what: `${ACTIONS[e.action] ?? e.action}${target}`,
    outcome: e.outcome,
    reason: REASONS[e.reason] ?? e.reason,
    purpose: e.purpose,
    breakGlass: e.action === 'break-glass' || e.purpose === 'emergency',
    status,
    ...(problem ? { problem } : {}),
    count: 1,
  };
}

/** Rows of checked (anchored) and pending (not yet anchored) entries, newest first. */
export function accessRows(
  checked: readonly CheckedDisclosure[],
  pending: readonly LogEntry[],
  patient: Address,
  names: ReadonlyMap<string, string>,
  member: string,
): AccessRow[] {
  const rows: AccessRow[] = [];
  for (const c of checked) {
    if (c.entry) rows.push(describeEntry(c.entry, patient, names, c.ok ? 'verified' : 'failed', c.problem));
    else
      rows.push({
        key: `${member}:${c.index}`,
        time: 0,
        holder: member,
        who: '?',
        what: `entry ${c.index}`,
        outcome: 'deny',
        reason: '',
        purpose: '',
        breakGlass: false,
        status: 'failed',
        ...(c.problem ? { problem: c.problem } : {}),
        count: 1,
      });
  }
  for (const e of pending) rows.push(describeEntry(e, patient, names, 'pending'));
  return rows.sort((a, b) => b.time - a.time);
}

const WORST: AccessRow['status'][] = ['failed', 'pending', 'verified'];

/**
 * Merge runs of rows that are one access (same member log, who, what, outcome, reason and purpose,
 * within `windowMs` of each other), such as the entries of one search: one row with a count. A
 * merged row is verified only if all its entries are; a failed entry makes it failed.
 */
export function groupRows(rows: readonly AccessRow[], windowMs = 2000): AccessRow[] {
  const out: AccessRow[] = [];
  const same = (a: AccessRow, b: AccessRow) =>
    a.holder === b.holder &&
    a.who === b.who &&
    a.what === b.what &&
    a.outcome === b.outcome &&
    a.reason === b.reason &&
    a.purpose === b.purpose &&
    Math.abs(a.time - b.time) <= windowMs;
  for (const r of rows) {
    const last = out[out.length - 1];
    if (last && same(last, r)) {
      const status = WORST.find((s) => s === last.status || s === r.status) ?? last.status;
      out[out.length - 1] = {
        ...last,
        count: last.count + r.count,
        status,
        ...(last.problem || r.problem ? { problem: last.problem ?? r.problem } : {}),
      };
    } else out.push(r);
  }
  return out;
}
