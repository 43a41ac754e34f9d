/** Staff of this member: sign-in, and reading a patient's records across members. */
import type { Bundle, Patient, Resource } from '@medplum/fhirtypes';
import { PATIENT_ADDRESS_SYSTEM } from '../../../src/fhir/resourceTypes.js';
import { ApiError, call, outcomeText } from './api.js';
import type { HeldRecord } from './records.js';

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

export interface ReadResult {
  records: HeldRecord[];
  /** Refusals and failures, one line each ("Central Lab: the patient has not consented ..."). */
  refusals: string[];
}

const memberOfSource = (r: Resource, names: ReadonlyMap<string, string>, here: string) => {
  const src = r.meta?.source;
  if (!src?.startsWith('urn:medchain:member:')) return here;
  const a = src.slice('urn:medchain:member:'.length).toLowerCase();
  return names.get(a) ?? a;
};

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
  const refusals = new Set<string>();
  const records: HeldRecord[] = [];
  await Promise.all(
    CLINICAL_TYPES.map(async (type) => {
      try {
        const b = await call<Bundle>(
          window.location.origin,
          `/fhir/${type}?patient=${encodeURIComponent(address)}&_count=100`,
          { token: s.token, headers },
        );
        for (const e of b.entry ?? []) {
          if (!e.resource) continue;
          if (e.search?.mode === 'outcome') {
            const t = outcomeText(e.resource);
            if (t && !t.startsWith('_count')) refusals.add(t);
          } else records.push({ resource: e.resource, member: memberOfSource(e.resource, names, here) });
        }
      } catch (err) {
        if (err instanceof ApiError && err.kind === 'denied') refusals.add(err.message);
        else throw err;
      }
    }),
  );
  return { records, refusals: [...refusals].sort() };
}
