/**
 * The portal's one way of writing dates: "1 Dec 2026" for a day and "1 Dec 2026, 10:04" for a
 * moment, in the browser's time zone, on every screen (tables, lists, chart axes, the access list),
 * whatever the browser's locale would do with dates. Pure (tested in node).
 */

const DAY: Intl.DateTimeFormatOptions = { day: 'numeric', month: 'short', year: 'numeric' };
const TIME: Intl.DateTimeFormatOptions = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };

/** "1 Dec 2026"; "—" when there is no date (null, 0 or not a number). */
export function formatDay(t: number | null, timeZone?: string): string {
  if (t === null || t === 0 || !Number.isFinite(t)) return '—';
  return new Intl.DateTimeFormat('en-GB', { ...DAY, ...(timeZone ? { timeZone } : {}) }).format(t);
}

/** "1 Dec 2026, 10:04". */
export function formatMoment(t: number, timeZone?: string): string {
  if (!Number.isFinite(t) || t === 0) return '—';
  const zone = timeZone ? { timeZone } : {};
  const time = new Intl.DateTimeFormat('en-GB', { ...TIME, ...zone }).format(t);
  return `${formatDay(t, timeZone)}, ${time}`;
}

/** "1 Dec 2026" of a FHIR date ("2026-12-01", "1980-05", "1980"), as written, with no time zone shift. */
export function formatFhirDate(d: string | undefined): string {
  if (!d) return '—';
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(d);
  if (!m) return d;
  const [, y, mo, da] = m;
  if (!mo) return y as string;
  const month = new Intl.DateTimeFormat('en-GB', { month: 'short', timeZone: 'UTC' }).format(
    Date.UTC(Number(y), Number(mo) - 1, 1),
  );
  return da ? `${Number(da)} ${month} ${y}` : `${month} ${y}`;
}
