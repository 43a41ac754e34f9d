/**
 * The portal's one way of writing dates: "1 Dec 2026" for a day and "1 Dec 2026, 10:04" for a
 * moment, in the browser's time zone, on every screen (tables, lists, chart axes, the access list),
 * whatever the browser's locale or ICU version would write. Pure (tested in node).
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Year, month (1-12), day, hour and minute of `t` in `timeZone` (default: the browser's). */
function partsOf(t: number, timeZone?: string) {
  const f = new Intl.DateTimeFormat('en-US', {
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    hourCycle: 'h23',
    ...(timeZone ? { timeZone } : {}),
  });
  const p = Object.fromEntries(f.formatToParts(t).map((x) => [x.type, x.value]));
  return {
    year: Number(p.year),
    month: Number(p.month),
    day: Number(p.day),
    hour: Number(p.hour) % 24,
    minute: Number(p.minute),
  };
}

const two = (n: number) => String(n).padStart(2, '0');

/** "1 Dec 2026"; "—" when there is no date (null, 0 or not a number). */
export function formatDay(t: number | null, timeZone?: string): string {
  if (t === null || t === 0 || !Number.isFinite(t)) return '—';
  const p = partsOf(t, timeZone);
  return `${p.day} ${MONTHS[p.month - 1]} ${p.year}`;
}

/** "1 Dec 2026, 10:04". */
export function formatMoment(t: number, timeZone?: string): string {
  if (!Number.isFinite(t) || t === 0) return '—';
  const p = partsOf(t, timeZone);
  return `${p.day} ${MONTHS[p.month - 1]} ${p.year}, ${two(p.hour)}:${two(p.minute)}`;
}

/** "1 Dec 2026" of a FHIR date ("2026-12-01", "1980-05", "1980"), as written, with no time zone shift. */
export function formatFhirDate(d: string | undefined): string {
  if (!d) return '—';
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(d);
  if (!m) return d;
  const [, y, mo, da] = m;
  const month = mo ? MONTHS[Number(mo) - 1] : undefined;
  if (!month) return y as string;
  return da ? `${Number(da)} ${month} ${y}` : `${month} ${y}`;
}
