/**
 * A date kept only as blind equality tokens (a Patient's birth date): one per precision it has, so
 * `birthdate=1980`, `birthdate=1980-04` and `birthdate=1980-04-01` each find it by one token and
 * no plaintext date is stored. FHIR `eq` semantics hold (the stored date lies within the asked
 * one); range prefixes (ge, le, ...) cannot be answered from equality tokens and are refused.
 */
import { parseFhirDate } from './dates.js';

const DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/;

/** The token values of a FHIR date: "1980-04-01" -> ["1980", "1980-04", "1980-04-01"]; [] when not a date. */
export function dateTokens(value: string): string[] {
  const m = DATE.exec(value);
  if (!m || !parseFhirDate(value)) return [];
  const [, y, mo, d] = m;
  return [y as string, ...(mo ? [`${y}-${mo}`] : []), ...(d ? [`${y}-${mo}-${d}`] : [])];
}

/** The one token a search value asks for (the value itself at its precision), or undefined when it is not a date. */
export function dateQueryToken(value: string): string | undefined {
  return dateTokens(value).at(-1);
}
