/** Staff of this member: sign-in, and reading a patient's records across members. */
import type { Bundle, Patient, Resource } from '@medplum/fhirtypes';
import { getAddress, isAddress } from 'viem';
import { MAY_HOLD_RECORDS_EXTENSION } from '../../../src/fhir/patientMatch.js';
import { MEMBER_SOURCE_PREFIX, NOTE_SYSTEM } from '../../../src/fhir/remoteCodes.js';
import { PATIENT_ADDRESS_SYSTEM } from '../../../src/fhir/resourceTypes.js';
import { ApiError, call, outcomeText } from './api.js';
import { type HeldRecord, type PatientSummary, patientSummary } from './records.js';
import { parseRefusal, type Refusal } from './refusals.js';

export interface StaffSession {
  token: string;
  role: string;
  username: string;
}

export const CLINICAL_TYPES = [
  'Observation',
  'Condition',
  'MedicationRequest',
  'AllergyIntolerance',
  'Immunization',
] as const;

export async function staffSignIn(username: string, password: string): Promise<StaffSession> {
  const r = await call<{ access_token: string; scope: string }>(window.location.origin, '/auth/login', {
    method: 'POST',
    body: { username, password },
    who: 'Sign-in',
  });
  return { token: r.access_token, role: r.scope, username };
}

export interface PatientChoice {
  id: string;
  name: string;
  birthDate: string;
  address: string | undefined;
}

export async function localPatients(s: StaffSession): Promise<PatientChoice[]> {
  const b = await call<Bundle<Patient>>(window.location.origin, '/fhir/Patient?_count=100', {
    token: s.token,
  });
  return (b.entry ?? [])
    .map((e) => e.resource)
    .filter((p): p is Patient => p?.resourceType === 'Patient')
    .map((p) => ({
      id: p.id ?? '',
      name: [p.name?.[0]?.given?.join(' '), p.name?.[0]?.family].filter(Boolean).join(' ') || 'unnamed',
      birthDate: p.birthDate ?? '',
      address: p.identifier?.find((i) => i.system === PATIENT_ADDRESS_SYSTEM)?.value,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** A patient found across members by name and birth date: their chain address and who may hold records. */
export interface FoundPatient {
  address: string;
  /** Names of the members that may hold records of them. */
  holders: string[];
}

/** What to search for: as the clinician types it (the node normalizes and tokenizes it). */
export interface PatientQuery {
  family: string;
  given: string;
  /** YYYY-MM-DD. */
  birthDate: string;
  gender?: string;
}

/** The $match answer read into found patients and notes (members that did not answer). Pure. */
export function readMatches(b: Bundle): { found: FoundPatient[]; notes: string[] } {
  const found: FoundPatient[] = [];
  const notes: string[] = [];
  for (const e of b.entry ?? []) {
    if (e.search?.mode === 'outcome') {
      const t = outcomeText(e.resource);
      if (t) notes.push(t);
      continue;
    }
    const p = e.resource as Patient | undefined;
    const address = p?.identifier?.find((i) => i.system === PATIENT_ADDRESS_SYSTEM)?.value;
    if (p?.resourceType !== 'Patient' || !address) continue;
    const holders = (p.extension ?? [])
      .filter((x) => x.url === MAY_HOLD_RECORDS_EXTENSION)
      .map((x) => x.valueReference?.display ?? x.valueReference?.identifier?.value ?? '')
      .filter((x) => x.length > 0)
      .sort();
    found.push({ address: isAddress(address) ? getAddress(address) : address, holders });
  }
  return { found, notes };
}

/** Find a patient at every member by name and birth date (`Patient/$match`: only addresses come back). */
export async function findPatients(
  s: StaffSession,
  q: PatientQuery,
): Promise<{ found: FoundPatient[]; notes: string[] }> {
  const b = await call<Bundle>(window.location.origin, '/fhir/Patient/$match', {
    method: 'POST',
    token: s.token,
    body: {
      resourceType: 'Parameters',
      parameter: [
        {
          name: 'resource',
          resource: {
            resourceType: 'Patient',
            name: [{ family: q.family, given: [q.given] }],
            birthDate: q.birthDate,
            ...(q.gender ? { gender: q.gender } : {}),
          },
        },
      ],
    },
    who: 'Patient search',
  });
  return readMatches(b);
}

/** Who the patient is, from this member's own Patient record of them (undefined when it has none). */
export async function patientDetails(s: StaffSession, address: string): Promise<PatientSummary | undefined> {
  const b = await call<Bundle<Patient>>(
    window.location.origin,
    `/fhir/Patient?identifier=${encodeURIComponent(`${PATIENT_ADDRESS_SYSTEM}|${address.toLowerCase()}`)}`,
    { token: s.token },
  );
  const held = (b.entry ?? [])
    .filter((e) => e.search?.mode !== 'outcome' && e.resource?.resourceType === 'Patient')
    .map((e) => ({ resource: e.resource as Patient, member: '' }));
  return patientSummary(held);
}

export interface ReadResult {
  records: HeldRecord[];
  /** What other members withheld, per member and resource type (from the coded outcomes). */
  refusals: Refusal[];
  /** Other warnings, one line each ("Central Lab did not answer; its records are not included"). */
  notes: string[];
  /** Resource types whose results may be incomplete (a member offline, a replica, more pages). */
  incomplete: string[];
}

const memberOfSource = (r: Resource, names: ReadonlyMap<string, string>, here: string) => {
  const src = r.meta?.source;
  if (!src?.startsWith(MEMBER_SOURCE_PREFIX)) return here;
  const a = src.slice(MEMBER_SOURCE_PREFIX.length).toLowerCase();
  return names.get(a) ?? a;
};

/** The `urn:medchain:note` code of an outcome entry (`unreachable`, `replica`, `error`, `count-capped`). */
function noteCode(resource: unknown): string | undefined {
  const issues = (resource as { issue?: { details?: { coding?: { system?: string; code?: string }[] } }[] })
    .issue;
  return issues?.[0]?.details?.coding?.find((c) => c.system === NOTE_SYSTEM)?.code;
}

/** One type's searchset, sorted into records, refusals and other warnings. Pure. */
export function readSearchset(
  type: string,
  b: Bundle,
  names: ReadonlyMap<string, string>,
  here: string,
): ReadResult {
  const out: ReadResult = { records: [], refusals: [], notes: [], incomplete: [] };
  for (const e of b.entry ?? []) {
    if (!e.resource) continue;
    if (e.search?.mode !== 'outcome') {
      out.records.push({ resource: e.resource, member: memberOfSource(e.resource, names, here) });
      continue;
    }
    const refusal = parseRefusal(e.resource, type, names);
    if (refusal) {
      out.refusals.push(refusal);
      continue;
    }
    const t = outcomeText(e.resource);
    // The node's note that it lowered _count is about the request, not about missing records.
    if (t && noteCode(e.resource) !== 'count-capped') {
      out.notes.push(t);
      out.incomplete.push(type);
    }
  }
  // More than one page: the portal reads the first only, so say the section may be incomplete.
  if (b.link?.some((l) => l.relation === 'next') || (b.total ?? 0) > out.records.length)
    out.incomplete.push(type);
  out.incomplete = [...new Set(out.incomplete)];
  return out;
}

/** Several reads merged: refusals once per (member, type), notes once each, sorted. */
export function mergeReads(reads: readonly ReadResult[]): ReadResult {
  const refusals = new Map<string, Refusal>();
  for (const r of reads.flatMap((x) => x.refusals))
    refusals.set(`${r.address || r.member}/${r.resourceType}`, r);
  return {
    records: reads.flatMap((x) => x.records),
    refusals: [...refusals.values()].sort(
      (a, b) => a.member.localeCompare(b.member) || a.resourceType.localeCompare(b.resourceType),
    ),
    notes: [...new Set(reads.flatMap((x) => x.notes))].sort(),
    incomplete: [...new Set(reads.flatMap((x) => x.incomplete))].sort(),
  };
}

/** A patient's clinical records from this member and, on consent or break-glass, the others. */
export async function readPatient(
  s: StaffSession,
  address: string,
  names: ReadonlyMap<string, string>,
  here: string,
  breakGlassReason?: string,
): Promise<ReadResult> {
  const headers: Record<string, string> = breakGlassReason
    ? { 'x-break-glass-reason': breakGlassReason }
    : {};
  const reads = await Promise.all(
    CLINICAL_TYPES.map(async (type): Promise<ReadResult> => {
      try {
        const b = await call<Bundle>(
          window.location.origin,
          `/fhir/${type}?patient=${encodeURIComponent(address)}&_count=100`,
          { token: s.token, headers },
        );
        return readSearchset(type, b, names, here);
      } catch (err) {
        // This member's own refusal (e.g. the role may not read the type): nothing of it is shown.
        if (err instanceof ApiError && err.kind === 'denied')
          return { records: [], refusals: [], notes: [err.message], incomplete: [type] };
        throw err;
      }
    }),
  );
  return mergeReads(reads);
}
