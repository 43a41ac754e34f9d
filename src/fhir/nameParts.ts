/**
 * Name parts as the blind index keeps them: what a FHIR string search on a name matches
 * (case- and accent-insensitive, FHIR R4 §3.1.1.4.3 "string"), reduced to whole parts so each
 * can be an equality token (src/crypto/blindIndex.ts). "José-María O'Brien" gives
 * ["jose", "maria", "o", "brien", "obrien"].
 *
 * Departure from FHIR: a FHIR string search matches parts that START with the value; here a
 * value matches only a whole part. Prefix tokens would let anyone holding the store file read
 * each part's length and which names share a prefix, which makes the HMAC tokens far easier to
 * map back to names by frequency (docs/api.md, "Patient search").
 */

/** Letters NFKD leaves whole (no combining mark to strip), folded as the common transliteration does. */
const FOLD: Readonly<Record<string, string>> = {
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  ø: 'o',
  ł: 'l',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  ı: 'i',
};

/** Separators between words: white space, hyphens and dashes, and . , ; punctuation. */
const SEPARATORS = /[\s\p{Pd}.,;:/()"]+/u;
/** Apostrophes split a word into parts too; the word without them is also kept ("O'Brien": o, brien, obrien). */
const APOSTROPHES = /['’ʼ‘`´]+/u;

/** Longest part kept (longer input is cut): a name part is never this long, and it bounds the token input. */
export const MAX_PART_LENGTH = 64;

/** The normalized parts of one string: NFKD, diacritics stripped, lower case, split on separators. */
export function nameParts(value: string): string[] {
  const folded = value
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[ßæœøłđðþı]/g, (c) => FOLD[c] ?? c);
  const out: string[] = [];
  const keep = (p: string) => {
    const part = p.slice(0, MAX_PART_LENGTH);
    if (part.length > 0 && !out.includes(part)) out.push(part);
  };
  for (const word of folded.split(SEPARATORS)) {
    const parts = word.split(APOSTROPHES);
    for (const p of parts) keep(p);
    if (parts.filter((p) => p.length > 0).length > 1) keep(parts.join(''));
  }
  return out;
}

interface HumanNameish {
  text?: unknown;
  family?: unknown;
  given?: unknown;
}

/** Every part of a FHIR HumanName (text, family, given; not prefix or suffix), or of a plain string. */
export function humanNameParts(name: unknown): string[] {
  if (typeof name === 'string') return nameParts(name);
  if (typeof name !== 'object' || name === null) return [];
  const n = name as HumanNameish;
  const strings = [n.text, n.family, ...(Array.isArray(n.given) ? n.given : [])].filter(
    (s): s is string => typeof s === 'string',
  );
  return [...new Set(strings.flatMap(nameParts))];
}
