/**
 * Search clauses of parameters kept only as blind tokens (ParamDef.blind: a Patient's name parts
 * and birth date): the asked value is brought to index form here, and the store matches it by
 * token equality. What equality tokens cannot answer is refused with a sentence saying why.
 */
import { badRequest, notSupported } from '../errors.js';
import { dateQueryToken } from './dateTokens.js';
import { nameParts } from './nameParts.js';
import type { ParamKind } from './resourceTypes.js';
import type { Clause } from './search.js';

const MAX_VALUES = 50;

function values(param: string, value: string): string[] {
  const vs = value.split(',').map((v) => v.trim());
  if (vs.some((v) => v.length === 0)) throw badRequest(`${param} has an empty value`);
  if (vs.length > MAX_VALUES) throw badRequest(`${param} has more than ${MAX_VALUES} values`);
  return vs;
}

/**
 * Name parts: one value with several parts ("Anna Maria") needs all of them (one clause each);
 * several values (commas) mean any of them, and then each must be a single part.
 */
function nameClauses(param: string, value: string): Clause[] {
  const asked = values(param, value).map((v) => {
    const parts = nameParts(v);
    if (parts.length === 0)
      throw badRequest(`${param}: "${v.slice(0, 40)}" has no letters or digits to match`);
    return parts;
  });
  if (asked.length === 1) return (asked[0] as string[]).map((p) => ({ kind: 'exact', param, values: [p] }));
  if (asked.some((parts) => parts.length > 1))
    throw badRequest(
      `${param}: with several values (commas) each must be one name part; give several parts of one name as separate ${param}= parameters`,
    );
  return [{ kind: 'exact', param, values: asked.map((parts) => parts[0] as string) }];
}

function dateClause(param: string, operator: string, value: string): Clause {
  if (operator !== 'eq')
    throw badRequest(
      `${param}: the "${operator}" prefix is not supported: the date is kept as blind equality tokens (no plaintext date is stored), so only a year, month or day (${param}=1980, 1980-04, 1980-04-01) can be matched`,
    );
  const tokens = values(param, value).map((v) => {
    const t = dateQueryToken(v);
    if (!t)
      throw badRequest(
        `${param}: "${v.slice(0, 40)}" is not a date at year, month or day precision (YYYY, YYYY-MM, YYYY-MM-DD)`,
      );
    return t;
  });
  return { kind: 'exact', param, values: tokens };
}

/** The clauses of one filter on a blind parameter of kind `kind` (string or date). */
export function blindClauses(param: string, kind: ParamKind, operator: string, value: string): Clause[] {
  if (kind === 'date') return [dateClause(param, operator, value)];
  if (kind !== 'string') throw new Error(`a blind ${kind} parameter (${param}) has no search form`);
  if (operator !== 'eq') throw notSupported(`${param} supports whole name parts only`);
  return nameClauses(param, value);
}
