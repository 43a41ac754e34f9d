/**
 * Patient demographics normalized for matching across members (patient discovery, in the spirit of
 * IHE XCPD): name parts folded to lower case without diacritics or punctuation, a full birth date,
 * an administrative gender. Then the match keys, each joining the birth date with two more
 * demographics (MPI blocking keys): a patient matches a query when any key agrees, so at least
 * three of {family, given, birth date, gender} agree and the birth date is always one of them.
 *
 *   fgd  family part + given part + birth date
 *   fds  family part + birth date + gender
 *   gds  given part + birth date + gender
 *
 * The keys here are plaintext; src/crypto/discoveryToken.ts turns them into HMAC tokens under the
 * consortium key before anything is stored or sent. Pure, browser-safe, no key.
 */
import type { HumanName, Patient } from '@medplum/fhirtypes';

/** What discovery matches on, normalized. */
export interface Demographics {
  family: string[];
  given: string[];
  /** YYYY-MM-DD (partial dates give no keys). */
  birthDate: string | undefined;
  gender: 'male' | 'female' | 'other' | undefined;
}

/** Most name parts of each kind taken from one patient (bounds the number of keys). */
export const MAX_NAME_PARTS = 6;

const FOLD: Record<string, string> = { ß: 'ss', æ: 'ae', ø: 'o', œ: 'oe', ł: 'l', đ: 'd', þ: 'th', ı: 'i' };

/**
 * The normalized parts of one name string: Unicode NFKD, combining marks dropped, lower case, a few
 * letters without a decomposition folded (ß, æ, ø, œ, ł, đ, þ, ı), split on anything that is not a
 * letter or digit ("García-López" -> ["garcia", "lopez"]).
 */
export function nameParts(raw: string): string[] {
  const folded = raw
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[ßæøœłđþı]/g, (c) => FOLD[c] ?? c);
  return folded.split(/[^\p{L}\p{N}]+/u).filter((p) => p.length > 0);
}

const unique = (xs: readonly string[]) => [...new Set(xs)].slice(0, MAX_NAME_PARTS);

/** A FHIR birth date as YYYY-MM-DD, or undefined when it is partial or malformed. */
export function fullBirthDate(raw: string | undefined): string | undefined {
  if (typeof raw !== 'string' || !/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/.test(raw)) return undefined;
  return raw;
}

const genderOf = (g: unknown): Demographics['gender'] =>
  g === 'male' || g === 'female' || g === 'other' ? g : undefined;

/** Every name of a Patient (all uses: a maiden or usual name finds the patient too), normalized. */
export function demographicsOf(p: Pick<Patient, 'name' | 'birthDate' | 'gender'>): Demographics {
  const names: HumanName[] = Array.isArray(p.name) ? p.name : [];
  return {
    family: unique(names.flatMap((n) => (typeof n.family === 'string' ? nameParts(n.family) : []))),
    given: unique(
      names.flatMap((n) => (Array.isArray(n.given) ? n.given : []).flatMap((g) => nameParts(String(g)))),
    ),
    birthDate: fullBirthDate(p.birthDate),
    gender: genderOf(p.gender),
  };
}

/** The plaintext match keys of some demographics (see the module comment), distinct. */
export function matchKeys(d: Demographics): string[] {
  if (!d.birthDate) return [];
  const keys: string[] = [];
  for (const f of d.family) for (const g of d.given) keys.push(`fgd\0${f}\0${g}\0${d.birthDate}`);
  if (d.gender) {
    for (const f of d.family) keys.push(`fds\0${f}\0${d.birthDate}\0${d.gender}`);
    for (const g of d.given) keys.push(`gds\0${g}\0${d.birthDate}\0${d.gender}`);
  }
  return [...new Set(keys)];
}
