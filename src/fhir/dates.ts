/**
 * FHIR date, dateTime and instant values as half-open millisecond ranges [lo, hi), honouring
 * precision: "2024" covers the whole year, "2024-03-05T10:00:00Z" one second.
 */
const RE =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?)?)?$/;

export interface DateRange {
  lo: number;
  hi: number;
}

export const MIN_MS = -8_640_000_000_000_000;
export const MAX_MS = 8_640_000_000_000_000;

/** Parse a FHIR date/dateTime/instant; undefined when it is not one (or names an impossible date). */
export function parseFhirDate(value: string): DateRange | undefined {
  const m = RE.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  if (h !== undefined && tz === undefined) return undefined; // a time needs a zone in FHIR dateTime
  const year = Number(y);
  const month = mo === undefined ? 1 : Number(mo);
  const day = d === undefined ? 1 : Number(d);
  if (month < 1 || month > 12) return undefined;
  const dim = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > dim) return undefined;
  const hour = h === undefined ? 0 : Number(h);
  const minute = mi === undefined ? 0 : Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = frac === undefined ? 0 : Math.floor(Number(frac) * 1000);
  let offsetMin = 0;
  if (tz && tz !== 'Z') {
    const sign = tz[0] === '-' ? -1 : 1;
    offsetMin = sign * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(4, 6)));
  }
  const lo = Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMin * 60_000;
  let hi: number;
  if (mo === undefined) hi = Date.UTC(year + 1, 0, 1);
  else if (d === undefined) hi = Date.UTC(year, month, 1);
  else if (h === undefined) hi = Date.UTC(year, month - 1, day + 1);
  else if (s === undefined) hi = lo + 60_000;
  else if (frac === undefined) hi = lo + 1000;
  else hi = lo + 1;
  return { lo, hi };
}

export type DatePrefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';

/** SQL-free predicate: does a stored range [start, end) match `prefix` `value` (FHIR R4 §3.1.1.4.1)? */
export function dateMatches(
  stored: DateRange,
  prefix: 'eq' | 'gt' | 'lt' | 'ge' | 'le',
  q: DateRange,
): boolean {
  switch (prefix) {
    case 'eq':
      return stored.lo >= q.lo && stored.hi <= q.hi;
    case 'ge':
      return stored.hi > q.lo;
    case 'gt':
      return stored.hi > q.hi;
    case 'le':
      return stored.lo < q.hi;
    case 'lt':
      return stored.lo < q.lo;
  }
}
