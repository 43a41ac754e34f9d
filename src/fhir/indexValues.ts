/**
 * What a resource contributes to the search index, as plaintext values: the caller blinds the
 * token values (src/crypto/blindIndex.ts) before anything is stored. Dates become ranges, except
 * blind ones (a birth date), which become a token per precision; names become normalized parts.
 */
import { evalFhirPath } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { type DateRange, MAX_MS, MIN_MS, parseFhirDate } from './dates.js';
import { dateTokens } from './dateTokens.js';
import { humanNameParts } from './nameParts.js';
import { PATIENT_ADDRESS_SYSTEM, type ResourceType, SEARCH_PARAMS } from './resourceTypes.js';

export interface IndexValues {
  /** (param, value) pairs for equality search; values in FHIR token form ("system|code", "code", "|code"). */
  tokens: { param: string; value: string }[];
  dates: { param: string; range: DateRange }[];
  /** "Patient/<id>" this resource belongs to, or undefined. */
  patient: string | undefined;
}

interface Codingish {
  system?: string;
  code?: string;
  value?: string;
  coding?: Codingish[];
}

/** Token forms of one coding or identifier: "system|code" and "code" (or "|code" without a system). */
export function tokenForms(system: string | undefined, code: string | undefined): string[] {
  if (!code) return [];
  const c = system === PATIENT_ADDRESS_SYSTEM ? code.toLowerCase() : code;
  return system ? [`${system}|${c}`, c] : [`|${c}`, c];
}

/**
 * The index forms a token search value matches (FHIR R4 search.html#token): `system|code` that
 * pair, `|code` a code without a system, and a bare `code` the code in any system. A bare value
 * that is a chain address is also looked up in the lower case the address system is indexed in.
 */
export function queryTokenForms(value: string): string[] {
  const bar = value.indexOf('|');
  if (bar < 0) {
    const lower = value.toLowerCase();
    return /^0x[0-9a-f]{40}$/.test(lower) && lower !== value ? [value, lower] : [value];
  }
  const system = value.slice(0, bar);
  const code = value.slice(bar + 1);
  return system === '' ? [`|${code}`] : tokenForms(system, code).slice(0, 1);
}

function tokensOf(v: unknown, system?: string): string[] {
  if (typeof v === 'string') return system ? tokenForms(system, v) : [v];
  if (typeof v !== 'object' || v === null) return [];
  const c = v as Codingish;
  if (Array.isArray(c.coding)) return c.coding.flatMap((x) => tokenForms(x.system, x.code));
  if (c.value !== undefined) return tokenForms(c.system, c.value);
  return tokenForms(c.system, c.code);
}

function rangeOf(v: unknown): DateRange | undefined {
  if (typeof v === 'string') return parseFhirDate(v);
  if (typeof v === 'object' && v !== null) {
    const p = v as { start?: string; end?: string };
    if (p.start === undefined && p.end === undefined) return undefined;
    const lo = p.start ? parseFhirDate(p.start)?.lo : MIN_MS;
    const hi = p.end ? parseFhirDate(p.end)?.hi : MAX_MS;
    if (lo === undefined || hi === undefined) return undefined;
    return { lo, hi };
  }
  return undefined;
}

/** The reference string of the patient a resource points at through `path`, when it is a Patient. */
export function patientReference(resource: Resource, path: string): string | undefined {
  for (const v of evalFhirPath(path, resource)) {
    const ref = (v as { reference?: string })?.reference;
    if (typeof ref === 'string' && /^Patient\/[A-Za-z0-9\-.]{1,64}$/.test(ref)) return ref;
  }
  return undefined;
}

/** The index values of a resource: tokens (blinded by the caller), date ranges, and its patient. */
export function indexValues(type: ResourceType, resource: Resource & { id: string }): IndexValues {
  const out: IndexValues = { tokens: [], dates: [], patient: undefined };
  for (const [param, def] of Object.entries(SEARCH_PARAMS[type])) {
    if (def.kind === 'reference') {
      const ref = patientReference(resource, def.path);
      if (ref) {
        out.tokens.push({ param, value: ref });
        if (param === 'patient') out.patient = ref;
      }
      continue;
    }
    for (const v of evalFhirPath(def.path, resource)) {
      if (def.kind === 'token') for (const t of tokensOf(v, def.system)) out.tokens.push({ param, value: t });
      else if (def.kind === 'string') for (const t of humanNameParts(v)) out.tokens.push({ param, value: t });
      else if (def.blind) {
        for (const t of typeof v === 'string' ? dateTokens(v) : []) out.tokens.push({ param, value: t });
      } else {
        const r = rangeOf(v);
        if (r) out.dates.push({ param, range: r });
      }
    }
  }
  if (type === 'Patient') out.patient = `Patient/${resource.id}`;
  return out;
}
