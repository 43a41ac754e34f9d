/**
 * FHIR R4 `Patient/$match` (http://hl7.org/fhir/R4/patient-operation-match.html) as patient
 * discovery across members: the input Parameters' `resource` is a Patient with the demographics
 * to look for; the answer is a searchset whose entries (search.mode `match`, match-grade
 * `possible`) are Patients carrying only the chain-address identifier and, as extensions, the
 * members that may hold records of them. No name, birth date or record of another member is in it:
 * the clinician reads records next, by chain address, under the patient's consent.
 *
 * Departures from the operation's definition, on purpose: a match is never `certain` (members only
 * say they may hold records), so `onlyCertainMatches=true` answers no entries; scores are not given
 * (members do not grade their matches, so a number would be invented).
 */
import type { Bundle, BundleEntry, Patient } from '@medplum/fhirtypes';
import { badRequest } from '../errors.js';
import { type Demographics, fullBirthDate, nameParts } from './demographics.js';
import { MEMBER_SYSTEM, NOTE_SYSTEM } from './remoteCodes.js';
import { PATIENT_ADDRESS_SYSTEM } from './resourceTypes.js';

/** Extension on a matched Patient naming one member that may hold records of them (valueReference). */
export const MAY_HOLD_RECORDS_EXTENSION = 'urn:medchain:extension:may-hold-records';
/** FHIR's match-grade extension on Bundle.entry.search. */
export const MATCH_GRADE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/match-grade';
/** Name parts of each kind taken from a query (bounds the tokens of one request). */
export const MAX_QUERY_NAME_PARTS = 4;
/** Most patients one $match answers. */
export const MAX_MATCH_COUNT = 10;

export interface MatchInput {
  demographics: Demographics;
  count: number;
  onlyCertainMatches: boolean;
}

interface Param {
  name?: unknown;
  resource?: unknown;
  valueInteger?: unknown;
  valueBoolean?: unknown;
}

const WHAT =
  'POST a Parameters resource with a "resource" parameter holding a Patient (name with family and given, full birthDate; gender optional)';

/** Parse the $match input; 400 naming what is missing. */
export function parseMatchInput(body: unknown): MatchInput {
  const b = body as { resourceType?: unknown; parameter?: unknown } | undefined;
  if (!b || typeof b !== 'object' || b.resourceType !== 'Parameters' || !Array.isArray(b.parameter))
    throw badRequest(WHAT);
  const params = b.parameter as Param[];
  const one = (name: string) => {
    const ps = params.filter((p) => p && typeof p === 'object' && p.name === name);
    if (ps.length > 1) throw badRequest(`the "${name}" parameter is given more than once`);
    return ps[0];
  };
  for (const p of params)
    if (
      !p ||
      typeof p !== 'object' ||
      !['resource', 'count', 'onlyCertainMatches'].includes(p.name as string)
    )
      throw badRequest(`unknown $match parameter "${String((p as Param)?.name).slice(0, 40)}"`);
  const patient = one('resource')?.resource as Patient | undefined;
  if (!patient || typeof patient !== 'object' || patient.resourceType !== 'Patient') throw badRequest(WHAT);
  const names = Array.isArray(patient.name) ? patient.name : [];
  const family = [
    ...new Set(names.flatMap((n) => (typeof n?.family === 'string' ? nameParts(n.family) : []))),
  ].slice(0, MAX_QUERY_NAME_PARTS);
  const given = [
    ...new Set(
      names.flatMap((n) =>
        Array.isArray(n?.given) ? n.given.flatMap((g) => (typeof g === 'string' ? nameParts(g) : [])) : [],
      ),
    ),
  ].slice(0, MAX_QUERY_NAME_PARTS);
  if (family.length === 0 || given.length === 0)
    throw badRequest('the Patient needs a name with a family name and a given name');
  const birthDate = fullBirthDate(patient.birthDate);
  if (!birthDate) throw badRequest('the Patient needs a full birthDate (YYYY-MM-DD)');
  const g = patient.gender;
  if (g !== undefined && !['male', 'female', 'other', 'unknown'].includes(g))
    throw badRequest('gender must be male, female, other or unknown');
  const countParam = one('count')?.valueInteger;
  if (countParam !== undefined && (!Number.isInteger(countParam) || (countParam as number) < 1))
    throw badRequest('count must be a positive integer');
  const certain = one('onlyCertainMatches')?.valueBoolean;
  if (certain !== undefined && typeof certain !== 'boolean')
    throw badRequest('onlyCertainMatches must be a boolean');
  return {
    demographics: {
      family,
      given,
      birthDate,
      gender: g === 'male' || g === 'female' || g === 'other' ? g : undefined,
    },
    count: Math.min((countParam as number | undefined) ?? MAX_MATCH_COUNT, MAX_MATCH_COUNT),
    onlyCertainMatches: certain === true,
  };
}

/** The $match answer for the patients found and what other members did. */
export function matchBundle(
  found: readonly { address: string; holders: readonly { address: string; name: string }[] }[],
  outcomes: readonly { member: string; address: string; status: string; message?: string }[],
  input: Pick<MatchInput, 'count' | 'onlyCertainMatches'>,
): Bundle {
  const shown = input.onlyCertainMatches ? [] : found.slice(0, input.count);
  const entry: BundleEntry[] = shown.map((p) => ({
    fullUrl: `urn:medchain:patient:${p.address.toLowerCase()}`,
    resource: {
      resourceType: 'Patient',
      identifier: [{ system: PATIENT_ADDRESS_SYSTEM, value: p.address.toLowerCase() }],
      extension: p.holders.map((h) => ({
        url: MAY_HOLD_RECORDS_EXTENSION,
        valueReference: {
          identifier: { system: MEMBER_SYSTEM, value: h.address },
          display: h.name || h.address,
        },
      })),
    },
    search: {
      mode: 'match',
      extension: [{ url: MATCH_GRADE_EXTENSION, valueCode: 'possible' }],
    },
  }));
  for (const o of outcomes) {
    if (o.status === 'ok' || !o.message) continue;
    entry.push({
      resource: {
        resourceType: 'OperationOutcome',
        issue: [
          {
            severity: 'warning',
            code: 'transient',
            details: {
              text: o.message,
              coding: [
                { system: MEMBER_SYSTEM, code: o.address, display: o.member },
                { system: NOTE_SYSTEM, code: o.status },
              ],
            },
          },
        ],
      },
      search: { mode: 'outcome' },
    });
  }
  return { resourceType: 'Bundle', type: 'searchset', total: shown.length, entry };
}
