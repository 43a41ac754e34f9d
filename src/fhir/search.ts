/**
 * FHIR search requests: parsed with @medplum/core's parseSearchRequest, then checked against what
 * this node supports. Anything unsupported is refused with a clear OperationOutcome rather than
 * silently ignored; `_include`, `_revinclude`, `_has` and chained parameters are refused on
 * purpose (they can leak across authorization boundaries).
 */
import { parseSearchRequest } from '@medplum/core';
import { badRequest, notSupported } from '../errors.js';
import { blindClauses } from './blindSearch.js';
import { type DateRange, parseFhirDate } from './dates.js';
import { type ResourceType, SEARCH_PARAMS } from './resourceTypes.js';

export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 100;
export const MAX_OFFSET = 10_000;
const MAX_VALUES = 50;

export type DateOp = 'eq' | 'gt' | 'lt' | 'ge' | 'le';

export type Clause =
  | { kind: 'token'; param: string; values: string[] }
  | { kind: 'reference'; param: string; values: string[] }
  /** Values already in index form (name parts, date tokens; src/fhir/blindSearch.ts), any of them. */
  | { kind: 'exact'; param: string; values: string[] }
  | { kind: 'date'; param: string; op: DateOp; range: DateRange }
  | { kind: 'id'; values: string[] }
  | { kind: 'lastUpdated'; op: DateOp; range: DateRange };

export interface SearchQuery {
  resourceType: ResourceType;
  clauses: Clause[];
  count: number;
  offset: number;
  /** True when the requested _count was above MAX_COUNT and was lowered to it. */
  countCapped: boolean;
}

/** Search parameters every type supports (FHIR R4 search.html#all), with their kinds. */
export const COMMON_SEARCH_PARAMS = { _id: 'token', _lastUpdated: 'date' } as const;
const COMMON = [...Object.keys(COMMON_SEARCH_PARAMS), '_count', '_offset', '_format'];
const DATE_OPS: readonly string[] = ['eq', 'gt', 'lt', 'ge', 'le'];

function supportedList(type: ResourceType): string {
  return [...Object.keys(SEARCH_PARAMS[type]), ...COMMON].join(', ');
}

function intParam(raw: string | undefined, name: string, min: number): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw badRequest(`${name} must be a whole number, got "${raw.slice(0, 40)}"`);
  const n = Number(raw);
  if (n < min) throw badRequest(`${name} must be at least ${min}`);
  return n;
}

function splitValues(param: string, value: string): string[] {
  const values = value.split(',').map((v) => v.trim());
  if (values.some((v) => v.length === 0)) throw badRequest(`${param} has an empty value`);
  if (values.length > MAX_VALUES) throw badRequest(`${param} has more than ${MAX_VALUES} values`);
  return values;
}

function dateClause(param: string, op: string, value: string): { op: DateOp; range: DateRange } {
  if (!DATE_OPS.includes(op)) {
    throw notSupported(`${param}: the "${op}" prefix is not supported; use eq, ge, le, gt or lt`);
  }
  const range = parseFhirDate(value);
  if (!range)
    throw badRequest(
      `${param}: "${value.slice(0, 40)}" is not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD or a dateTime with zone)`,
    );
  return { op: op as DateOp, range };
}

/**
 * Parse `query` (name -> values, as Fastify gives it) for `type`. Throws FhirError 400 on anything
 * unsupported or malformed.
 */
export function parseSearch(
  type: ResourceType,
  query: Record<string, string | string[] | undefined>,
): SearchQuery {
  const raw: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    raw[k] = Array.isArray(v) ? v : [v];
  }
  for (const k of Object.keys(raw)) {
    if (k === '_include' || k === '_revinclude' || k.startsWith('_has')) {
      throw notSupported(`${k} is not supported: it can disclose resources across authorization boundaries`);
    }
    const base = k.split(':')[0] as string;
    if (k.includes('.')) throw notSupported(`chained search (${k.slice(0, 60)}) is not supported`);
    if (!(base in SEARCH_PARAMS[type]) && !COMMON.includes(base)) {
      throw notSupported(
        `unknown or unsupported search parameter "${k.slice(0, 60)}" for ${type}; supported: ${supportedList(type)}`,
      );
    }
    if (k.includes(':')) throw notSupported(`search modifiers are not supported (${k.slice(0, 60)})`);
    if (['_count', '_offset', '_format'].includes(k) && (raw[k]?.length ?? 0) > 1)
      throw badRequest(`${k} given more than once`);
  }
  if (
    raw._format &&
    !['json', 'application/fhir+json', 'application/json'].includes(raw._format[0] as string)
  ) {
    throw notSupported('only JSON is supported (_format=json)');
  }
  const requested = intParam(raw._count?.[0], '_count', 0) ?? DEFAULT_COUNT;
  const offset = intParam(raw._offset?.[0], '_offset', 0) ?? 0;
  if (offset > MAX_OFFSET)
    throw badRequest(`_offset must be at most ${MAX_OFFSET}; narrow the search instead`);

  const params = new URLSearchParams();
  for (const [k, vs] of Object.entries(raw)) {
    if (k === '_count' || k === '_offset' || k === '_format') continue;
    for (const v of vs) params.append(k, v);
  }
  let parsed: ReturnType<typeof parseSearchRequest>;
  try {
    parsed = parseSearchRequest(`${type}?${params.toString()}`);
  } catch (err) {
    throw badRequest(`the search could not be parsed: ${String((err as Error).message).slice(0, 120)}`);
  }
  const clauses: Clause[] = [];
  for (const f of parsed.filters ?? []) {
    if (f.code === '_id') {
      if (f.operator !== 'eq') throw notSupported('_id supports exact match only');
      clauses.push({ kind: 'id', values: splitValues('_id', f.value) });
    } else if (f.code === '_lastUpdated') {
      clauses.push({ kind: 'lastUpdated', ...dateClause('_lastUpdated', f.operator, f.value) });
    } else {
      const def = SEARCH_PARAMS[type][f.code];
      if (!def) throw notSupported(`unsupported search parameter "${f.code}" for ${type}`);
      if (def.blind || def.kind === 'string') {
        clauses.push(...blindClauses(f.code, def.kind, f.operator, f.value));
      } else if (def.kind === 'date') {
        clauses.push({ kind: 'date', param: f.code, ...dateClause(f.code, f.operator, f.value) });
      } else {
        if (f.operator !== 'eq') throw notSupported(`${f.code} supports exact match only`);
        clauses.push({ kind: def.kind, param: f.code, values: splitValues(f.code, f.value) });
      }
    }
  }
  return {
    resourceType: type,
    clauses,
    count: Math.min(requested, MAX_COUNT),
    offset,
    countCapped: requested > MAX_COUNT,
  };
}
