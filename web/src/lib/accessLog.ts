/**
 * A patient's "who accessed my records": log entries from every member's log, turned into one row
 * per access in words ("Valley Clinic read 12 results held at Central Lab — for treatment"), each
 * marked verified only when every entry behind it was proven included in the head its member
 * anchored on chain. Pure (tested in node).
 *
 * One cross-member read leaves entries in several logs (src/access/gatekeeper.ts): the custodian
 * logs one `permit` per record it released (actor `member:<requester>`, reason `consent` or
 * `break-glass`) and one `deny` per resource type it withheld anything of (`no-consent`,
 * `withheld`, ...); a replica logs `replica-consent` permits; the requester logs a `received` (or
 * `received-from-replica`) permit per record and a `remote-no-consent` deny per type refused, next
 * to its own users' reads of its own records. All of them, by the same organization, for the same
 * purpose, close together in time, are one access: records are counted once each.
 */
import type { Address } from 'viem';
import type { CheckedDisclosure } from '../../../src/log/disclosures.js';
import type { LogEntry } from '../../../src/log/entry.js';

export type ProofStatus = 'verified' | 'failed' | 'pending';

/** One log entry as the browser checked it, with the member whose log holds it. */
export interface CheckedItem {
  /** Undefined when the entry could not be decoded (then `status` is failed). */
  entry?: LogEntry;
  /** The member whose log holds the entry. */
  holder: string;
  /** Its index in that log. */
  index: number;
  status: ProofStatus;
  problem?: string;
}

/** What happened, in one row. */
export interface AccessRow {
  key: string;
  /** When the access began (its first entry). */
  time: number;
  /** Who: "You", "Valley Clinic", "someone not signed in at City Hospital". */
  who: string;
  /** The rest of the sentence: "read 12 results held at Central Lab". */
  what: string;
  /** What was refused, when anything was: "City Hospital shared nothing (no consent)". */
  refused?: string;
  /** shared: records were read; partly: some read, some refused; refused: nothing shared; other. */
  kind: 'shared' | 'partly' | 'refused' | 'other';
  /** "for treatment", or "" when the entries name no purpose. */
  purpose: string;
  breakGlass: boolean;
  /** The members whose logs hold the entries of this row. */
  logs: string[];
  /** How many log entries stand behind this row. */
  entries: number;
  status: ProofStatus;
  problem?: string;
}

/** The entries from a member's disclosures answer: checked (anchored) and pending (not yet anchored). */
export function checkedItems(
  checked: readonly CheckedDisclosure[],
  pending: readonly LogEntry[],
  holder: string,
): CheckedItem[] {
  return [
    ...checked.map((c) => ({
      ...(c.entry ? { entry: c.entry } : {}),
      holder,
      index: c.index,
      status: (c.ok && c.entry ? 'verified' : 'failed') as ProofStatus,
      ...(c.problem ? { problem: c.problem } : {}),
    })),
    ...pending.map((e) => ({ entry: e, holder, index: e.index, status: 'pending' as const })),
  ];
}

// ------------------------------------------------------------------ words

const TYPE_WORDS: Record<string, [string, string]> = {
  Patient: ['copy of your personal details', 'copies of your personal details'],
  Encounter: ['visit', 'visits'],
  Observation: ['result', 'results'],
  Condition: ['condition', 'conditions'],
  AllergyIntolerance: ['allergy', 'allergies'],
  MedicationRequest: ['prescription', 'prescriptions'],
  MedicationDispense: ['dispensed medicine', 'dispensed medicines'],
  Immunization: ['immunization', 'immunizations'],
  Procedure: ['procedure', 'procedures'],
  DiagnosticReport: ['report', 'reports'],
  DocumentReference: ['document', 'documents'],
};

/** "1 result", "12 results" (a resource type in words). */
export function countWords(n: number, resourceType: string): string {
  const w = TYPE_WORDS[resourceType] ?? ['record', 'records'];
  return `${n} ${n === 1 ? w[0] : w[1]}`;
}

const PURPOSES: Record<string, string> = {
  treatment: 'for treatment',
  payment: 'for billing and payment',
  operations: 'to run the organization',
  research: 'for research',
  emergency: 'in an emergency, without consent',
  none: '',
};

/** Why a member did not share, in a patient's words. */
const REFUSED: Record<string, string> = {
  'no-consent': 'no consent',
  'remote-no-consent': 'no consent',
  withheld: 'not covered by your consent',
  'purpose-member': 'not allowed for that purpose',
  'purpose-role': 'not allowed for that purpose',
  'break-glass-member': 'emergency access refused',
  'break-glass-role': 'emergency access refused',
  'break-glass-limit': 'too many emergency accesses',
  'not-a-member': 'not a member of the network',
  role: 'not allowed for that person’s role',
  'no-chain': 'the network could not be checked',
  'discovery-purpose': 'not allowed for that purpose',
  'rate-limited': 'too many searches',
  'consortium-key': 'the network’s keys did not agree',
};
const refusedWords = (reason: string) => REFUSED[reason] ?? 'refused';

/** What other actions were, as the rest of a sentence ("added 3 records", "signed in"). */
const OTHER_ACTIONS: Record<string, (n: number, type: string | undefined) => string> = {
  create: (n, t) => `added ${countWords(n, t ?? '')}`,
  update: (n, t) => `changed ${countWords(n, t ?? '')}`,
  delete: (n, t) => `erased ${countWords(n, t ?? '')}`,
  login: () => 'signed in',
  'login-failed': () => 'failed to sign in',
  'audit-read': () => 'looked at your access log',
  verify: () => 'checked the log',
  // Patient discovery: only "may hold records" was answered, never a record.
  discover: () => 'asked whether you have records here (a search by name and birth date; no records shared)',
};

/** "a", "a and b", "a, b and c". */
export function listWords(xs: readonly string[]): string {
  if (xs.length <= 1) return xs[0] ?? '';
  return `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

// ------------------------------------------------------------------ who

type Party =
  | { kind: 'patient' }
  | { kind: 'member'; name: string }
  | { kind: 'staff'; name: string }
  | { kind: 'unknown'; at: string }
  | { kind: 'operator'; at: string };

function partyOf(e: LogEntry, patient: Address, names: ReadonlyMap<string, string>, holder: string): Party {
  const a = e.actor;
  if (a.toLowerCase() === `patient:${patient.toLowerCase()}`) return { kind: 'patient' };
  if (a.startsWith('member:')) {
    const addr = a.slice('member:'.length).toLowerCase();
    return { kind: 'member', name: names.get(addr) ?? `a member (${addr.slice(0, 10)}…)` };
  }
  if (a === 'anonymous' || a.startsWith('anon:')) return { kind: 'unknown', at: holder };
  if (a.startsWith('operator:')) return { kind: 'operator', at: holder };
  // A user of the member whose log this is (a pseudonymous id): that organization acted.
  return { kind: 'staff', name: holder };
}

function whoOf(p: Party): string {
  switch (p.kind) {
    case 'patient':
      return 'You';
    case 'member':
    case 'staff':
      return p.name;
    case 'unknown':
      return `Someone not signed in at ${p.at}`;
    case 'operator':
      return `${p.at} (data import)`;
  }
}

/** The organization (or the patient) behind an entry: what groups entries into one access. */
const partyKey = (p: Party) =>
  p.kind === 'patient'
    ? 'patient'
    : p.kind === 'member' || p.kind === 'staff'
      ? `org:${p.name}`
      : `${p.kind}@${p.at}`;

// ------------------------------------------------------------------ grouping

const READS = new Set(['read', 'vread', 'search', 'history', 'export', 'break-glass']);

interface Group {
  key: string;
  party: Party;
  category: string;
  items: CheckedItem[];
  first: number;
  last: number;
}

const WORST: ProofStatus[] = ['failed', 'pending', 'verified'];

/**
 * One row per access: the entries of one organization (or the patient) for one purpose, across
 * every member's log, each within `windowMs` of the one before and with no consent change between
 * them (a read before a revoke and one after it are two accesses); other actions (records added,
 * sign-ins) one row per kind. Newest first.
 */
export function accessRows(
  items: readonly CheckedItem[],
  patient: Address,
  names: ReadonlyMap<string, string>,
  windowMs = 20_000,
): AccessRow[] {
  const rows: AccessRow[] = [];
  const open = new Map<string, Group>();
  const groups: Group[] = [];
  const decoded = items.filter((i): i is CheckedItem & { entry: LogEntry } => i.entry !== undefined);
  for (const i of items)
    if (!i.entry)
      rows.push({
        key: `${i.holder}:${i.index}`,
        time: 0,
        who: 'An entry',
        what: `in the log of ${i.holder} could not be read`,
        kind: 'other',
        purpose: '',
        breakGlass: false,
        logs: [i.holder],
        entries: 1,
        status: 'failed',
        ...(i.problem ? { problem: i.problem } : {}),
      });
  const consentChanges = decoded
    .filter((i) => i.entry.action === 'consent-grant' || i.entry.action === 'consent-revoke')
    .map((i) => i.entry.time);
  const changedBetween = (from: number, to: number) => consentChanges.some((t) => t > from && t <= to);
  for (const i of [...decoded].sort((a, b) => a.entry.time - b.entry.time)) {
    const e = i.entry;
    const party = partyOf(e, patient, names, i.holder);
    const read = READS.has(e.action);
    const breakGlass = e.action === 'break-glass' || e.purpose === 'emergency';
    const category = read ? 'read' : e.action;
    // Reads group across logs by who and purpose; other actions stay per log and outcome.
    const k = read
      ? `${partyKey(party)}|read|${e.purpose}|${breakGlass}`
      : `${partyKey(party)}|${e.action}|${e.outcome}|${e.reason}`;
    const g = open.get(k);
    if (g && e.time - g.last <= windowMs && !(read && changedBetween(g.last, e.time))) {
      g.items.push(i);
      g.last = e.time;
      continue;
    }
    const fresh: Group = {
      key: `${i.holder}:${e.index}`,
      party,
      category,
      items: [i],
      first: e.time,
      last: e.time,
    };
    open.set(k, fresh);
    groups.push(fresh);
  }
  for (const g of groups) rows.push(g.category === 'read' ? readRow(g) : otherRow(g));
  return rows.sort((a, b) => b.time - a.time);
}

function common(g: Group): Omit<AccessRow, 'what' | 'kind' | 'refused'> {
  const e0 = g.items[0]?.entry as LogEntry;
  const status = WORST.find((s) => g.items.some((i) => i.status === s)) ?? 'verified';
  const problem = g.items.find((i) => i.problem)?.problem;
  return {
    key: g.key,
    time: g.first,
    who: whoOf(g.party),
    purpose: PURPOSES[e0.purpose] ?? e0.purpose,
    breakGlass: g.items.some((i) => i.entry?.action === 'break-glass' || i.entry?.purpose === 'emergency'),
    logs: [...new Set(g.items.map((i) => i.holder))].sort(),
    entries: g.items.length,
    status,
    ...(problem ? { problem } : {}),
  };
}

/** Records read in one access, each counted once, by where they were held. */
function readRow(g: Group): AccessRow {
  const self = g.party.kind === 'member' || g.party.kind === 'staff' ? g.party.name : undefined;
  // record (type/id/version) -> where it was held (undefined: another member, not named here)
  const records = new Map<string, { type: string; held: string | undefined }>();
  const refusals = new Map<string, { type: string; holder: string | undefined; reason: string }>();
  /** Members the patient fetched their record keys from (GET /patients/<address>/keys). */
  const keysFrom = new Set<string>();
  /** Replicas that served records of a custodian that was offline. */
  const replicas = new Set<string>();
  for (const i of g.items) {
    const e = i.entry as LogEntry;
    const t = e.target;
    const fromAnother = e.reason === 'received' || e.reason === 'received-from-replica';
    if (e.outcome === 'permit') {
      if (e.reason === 'record-keys') keysFrom.add(i.holder);
      if (e.reason === 'replica-consent') replicas.add(i.holder);
      if (!t || t.id === '') continue; // a search that found nothing: no record read
      const k = `${t.resourceType}/${t.id}/${t.version}`;
      // The entry in the log of the member that holds the record (the custodian answering, or the
      // reader's own member) names where it was held; a replica's or the requester's note of what
      // it received does not. Each record is counted once, whichever logs hold it.
      const held = e.reason === 'replica-consent' || fromAnother ? undefined : i.holder;
      const known = records.get(k);
      if (!known || (known.held === undefined && held !== undefined))
        records.set(k, { type: t.resourceType, held });
    } else {
      const type = t?.resourceType || 'records';
      // The requester's note of a refusal names no member; the refusing member's own entry does.
      const holder = e.reason === 'remote-no-consent' ? undefined : i.holder;
      refusals.set(`${type}/${holder ?? '?'}/${e.reason}`, { type, holder, reason: e.reason });
    }
  }
  for (const [k, r] of refusals)
    if (
      r.holder === undefined &&
      [...refusals.values()].some((o) => o.holder !== undefined && o.type === r.type)
    )
      refusals.delete(k);

  const byHolder = new Map<string, Map<string, number>>();
  for (const r of records.values()) {
    const h = r.held ?? 'another member';
    const types = byHolder.get(h) ?? new Map<string, number>();
    types.set(r.type, (types.get(r.type) ?? 0) + 1);
    byHolder.set(h, types);
  }
  const total = records.size;
  const patientSelf = g.party.kind === 'patient';
  const holders = [...byHolder.keys()].sort((a, b) =>
    a === self
      ? 1
      : b === self
        ? -1
        : a === 'another member'
          ? 1
          : b === 'another member'
            ? -1
            : a.localeCompare(b),
  );
  const parts = holders.map((h) => {
    const types = [...(byHolder.get(h) as Map<string, number>).entries()].sort((a, b) => b[1] - a[1]);
    const counts = listWords(types.map(([t, n]) => countWords(n, t)));
    const copy =
      h === 'another member' && replicas.size > 0
        ? `, served from its copy at ${listWords([...replicas].sort())}`
        : '';
    return `${counts} ${patientSelf ? 'from' : 'held at'} ${h === self ? `${h} itself` : h}${copy}`;
  });
  if (keysFrom.size > 0) parts.push(`your record keys from ${listWords([...keysFrom].sort())}`);
  const verb = patientSelf ? 'looked at' : 'read';
  const c = common(g);
  // `withheld` is logged for every type asked whenever consent covers only part of it, whatever is
  // stored: it says nothing beyond the consent was shared, not that something was held back.
  const refused = refusalWords(
    [...refusals.values()].filter((r) => r.reason !== 'withheld'),
    byHolder,
  );
  if (total === 0 && keysFrom.size === 0) {
    if (refusals.size === 0) return { ...c, what: 'looked for your records; none were found', kind: 'other' };
    return {
      ...c,
      what: 'asked for your records; nothing was shared',
      // Nobody shared anything: the reasons say it all (the logs column names the members).
      refused: listWords([...new Set([...refusals.values()].map((r) => refusedWords(r.reason)))]),
      kind: 'refused',
    };
  }
  return {
    ...c,
    what: `${verb} ${parts.join('; ')}`,
    ...(refused ? { refused } : {}),
    kind: refused ? 'partly' : 'shared',
  };
}

/**
 * The members asked that shared nothing, and why: "City Hospital and Main Street Pharmacy shared
 * nothing (no consent)". A member that shared some records is not listed for what else it did not
 * share: its refusals are logged per type asked, whatever it holds, and name nothing it has.
 */
function refusalWords(
  refusals: readonly { type: string; holder: string | undefined; reason: string }[],
  shared: ReadonlyMap<string, ReadonlyMap<string, number>>,
): string {
  const reasonsOf = new Map<string, Set<string>>();
  for (const r of refusals) {
    const h = r.holder ?? 'another member';
    if (shared.has(h)) continue;
    const set = reasonsOf.get(h) ?? new Set<string>();
    set.add(refusedWords(r.reason));
    reasonsOf.set(h, set);
  }
  const byWhy = new Map<string, string[]>();
  for (const [h, reasons] of reasonsOf) {
    const why = listWords([...reasons].sort());
    byWhy.set(why, [...(byWhy.get(why) ?? []), h]);
  }
  const order = (a: string, b: string) =>
    a === 'another member' ? 1 : b === 'another member' ? -1 : a.localeCompare(b);
  return [...byWhy.entries()]
    .map(([why, hs]) => {
      const names = hs.sort(order);
      const text = listWords(names);
      return `${text.charAt(0).toUpperCase()}${text.slice(1)} shared nothing (${why})`;
    })
    .join('; ');
}

/** Why a relayed consent change was refused (src/federation/consentRelay.ts reasons). */
const CONSENT_REFUSED: Record<string, string> = {
  'consent-invalid-signer': 'it was not signed with your key',
  'already-relayed': 'it had already been recorded',
  'consent-stale-admission': 'it named an earlier membership of that organization',
};

function consentRow(g: Group, e0: LogEntry, c: ReturnType<typeof common>): AccessRow {
  const verb = e0.action === 'consent-grant' ? 'give' : 'withdraw';
  const at = listWords(c.logs);
  if (e0.outcome === 'permit')
    return {
      ...c,
      what: `${verb === 'give' ? 'gave' : 'withdrew'} consent, relayed to the chain by ${at}`,
      kind: 'other',
    };
  // The entry names the patient the change was for, not who sent it: it may not have been them.
  const times = g.items.length > 1 ? ` (${g.items.length} times)` : '';
  return {
    ...c,
    who: 'Someone',
    what: `tried to ${verb} consent in your name at ${at}${times}; it was refused: ${CONSENT_REFUSED[e0.reason] ?? 'not valid'}`,
    kind: 'refused',
  };
}

function otherRow(g: Group): AccessRow {
  const e0 = g.items[0]?.entry as LogEntry;
  const c = common(g);
  if (e0.action === 'consent-grant' || e0.action === 'consent-revoke') return consentRow(g, e0, c);
  const ids = new Set(g.items.map((i) => `${i.entry?.target?.resourceType}/${i.entry?.target?.id}`));
  const words = OTHER_ACTIONS[e0.action];
  const types = [...new Set(g.items.map((i) => i.entry?.target?.resourceType).filter(Boolean))];
  const what = words ? words(ids.size, types.length === 1 ? types[0] : undefined) : e0.action;
  const at = g.party.kind === 'patient' || g.party.kind === 'member' ? ` at ${listWords(c.logs)}` : '';
  return {
    ...c,
    what: `${what}${at}${e0.outcome === 'deny' ? `, and was refused (${refusedWords(e0.reason)})` : ''}`,
    kind: e0.outcome === 'deny' ? 'refused' : 'other',
  };
}

/** The rows of page `page` (0 = newest), `size` rows each, and how many pages there are. */
export function pageOf<T>(
  rows: readonly T[],
  page: number,
  size = 20,
): { rows: T[]; page: number; pages: number } {
  const pages = Math.max(1, Math.ceil(rows.length / size));
  const p = Math.min(Math.max(0, page), pages - 1);
  return { rows: rows.slice(p * size, (p + 1) * size), page: p, pages };
}
