/**
 * A patient's FHIR records arranged for reading: vital signs as series to chart, laboratory
 * results with their reference ranges and flags, medications, conditions, allergies and
 * immunizations, newest first. Pure functions (tested in node).
 */
import type {
  AllergyIntolerance,
  CodeableConcept,
  Condition,
  Immunization,
  MedicationDispense,
  MedicationRequest,
  Observation,
  Patient,
  Resource,
} from '@medplum/fhirtypes';
import { dispenseVerificationOf } from '../../../src/supply/dispenseVerification.js';
import { displayUnit } from './units.js';

/** A record and the member that holds it. */
export interface HeldRecord {
  resource: Resource;
  member: string;
}

export interface VitalPoint {
  time: number;
  value: number;
  member: string;
}

/** One measured quantity of a vital sign (blood pressure has two: systolic and diastolic). */
export interface VitalLine {
  code: string;
  name: string;
  points: VitalPoint[];
}

/** One vital sign to chart: one line, or several drawn together (blood pressure). */
export interface VitalSeries {
  key: string;
  name: string;
  /** The unit for display (`mmHg`, not UCUM's `mm[Hg]`). */
  unit: string;
  lines: VitalLine[];
}

export interface LabRow {
  key: string;
  time: number;
  name: string;
  value: string;
  unit: string;
  range: string;
  flag: 'high' | 'low' | 'normal' | 'unknown';
  member: string;
}

export interface ListItem {
  key: string;
  time: number | null;
  text: string;
  detail: string;
  member: string;
  sensitive: boolean;
  /** A badge beside the text: a dispensed pack's supply-chain verification. */
  badge?: { text: string; tone: 'ok' | 'failed' };
}

export interface Timeline {
  vitals: VitalSeries[];
  labs: LabRow[];
  medications: ListItem[];
  conditions: ListItem[];
  allergies: ListItem[];
  immunizations: ListItem[];
  total: number;
}

export function conceptText(c: CodeableConcept | undefined): string {
  return c?.text ?? c?.coding?.find((x) => x.display)?.display ?? c?.coding?.[0]?.code ?? 'unnamed';
}

const time = (s: string | undefined): number | null => {
  const t = s ? Date.parse(s) : Number.NaN;
  return Number.isNaN(t) ? null : t;
};

const categoryOf = (o: Observation) =>
  o.category?.flatMap((c) => c.coding?.map((x) => x.code) ?? []).find((x) => x !== undefined);

const isSensitive = (r: Resource) => (r.meta?.security?.length ?? 0) > 0;

function labFlag(o: Observation): LabRow['flag'] {
  const code = o.interpretation?.[0]?.coding?.[0]?.code;
  const v = o.valueQuantity?.value;
  const range = o.referenceRange?.[0];
  if (code === 'H' || code === 'HH') return 'high';
  if (code === 'L' || code === 'LL') return 'low';
  if (code === 'N') return 'normal';
  if (v === undefined || !range) return 'unknown';
  if (range.high?.value !== undefined && v > range.high.value) return 'high';
  if (range.low?.value !== undefined && v < range.low.value) return 'low';
  return 'normal';
}

function rangeText(o: Observation): string {
  const r = o.referenceRange?.[0];
  if (!r) return '';
  if (r.text) return r.text;
  const lo = r.low?.value;
  const hi = r.high?.value;
  if (lo !== undefined && hi !== undefined) return `${lo}–${hi}`;
  if (hi !== undefined) return `≤ ${hi}`;
  if (lo !== undefined) return `≥ ${lo}`;
  return '';
}

const LOINC_SYSTOLIC = '8480-6';
const LOINC_DIASTOLIC = '8462-4';
/** LOINC panels of blood pressure (systolic and diastolic as components). */
const BP_PANELS = new Set(['85354-9', '55284-4', '35094-2']);

/**
 * Vital signs in the order clinicians read them (blood pressure, pulse, breathing, temperature,
 * oxygen, then body measures), by LOINC code; others follow, by name.
 */
const VITAL_ORDER: readonly string[] = [
  'blood-pressure',
  '8867-4', // heart rate
  '9279-1', // respiratory rate
  '8310-5', // body temperature
  '59408-5', // oxygen saturation (pulse oximetry)
  '2708-6', // oxygen saturation (arterial)
  '29463-7', // body weight
  '8302-2', // body height
  '39156-5', // body mass index
];

/** The chart a vital sign's measurement belongs to: blood pressure's parts share one. */
const chartOf = (code: string) =>
  code === LOINC_SYSTOLIC || code === LOINC_DIASTOLIC ? 'blood-pressure' : code;

const lineOrder = (code: string) => (code === LOINC_SYSTOLIC ? 0 : code === LOINC_DIASTOLIC ? 1 : 2);

/** The measurements of one vital-sign Observation: its value, or its components (a BP panel). */
function vitalValues(o: Observation): { code: string; name: string; value: number; unit: string }[] {
  const code = o.code.coding?.[0]?.code ?? conceptText(o.code);
  const q = o.valueQuantity;
  if (q?.value !== undefined)
    return [{ code, name: conceptText(o.code), value: q.value, unit: q.code ?? q.unit ?? '' }];
  if (!BP_PANELS.has(code)) return [];
  return (o.component ?? []).flatMap((c) => {
    const v = c.valueQuantity;
    const cc = c.code.coding?.[0]?.code;
    if (v?.value === undefined || (cc !== LOINC_SYSTOLIC && cc !== LOINC_DIASTOLIC)) return [];
    return [{ code: cc, name: conceptText(c.code), value: v.value, unit: v.code ?? v.unit ?? '' }];
  });
}

/** Short line names inside the blood pressure chart. */
const lineName = (code: string, name: string) =>
  code === LOINC_SYSTOLIC ? 'Systolic' : code === LOINC_DIASTOLIC ? 'Diastolic' : name;

function orderVitals(series: VitalSeries[]): VitalSeries[] {
  const rank = (k: string) => {
    const i = VITAL_ORDER.indexOf(k);
    return i < 0 ? VITAL_ORDER.length : i;
  };
  return series.sort((a, b) => rank(a.key) - rank(b.key) || a.name.localeCompare(b.name));
}

/** A vital sign's lines side by side: one row per time and member, a value (or null) per line. */
export function alignedRows(
  series: VitalSeries,
): { time: number; member: string; values: (number | null)[] }[] {
  const rows = new Map<string, { time: number; member: string; values: (number | null)[] }>();
  series.lines.forEach((line, i) => {
    for (const p of line.points) {
      const k = `${p.time}/${p.member}`;
      const row = rows.get(k) ?? { time: p.time, member: p.member, values: series.lines.map(() => null) };
      row.values[i] = p.value;
      rows.set(k, row);
    }
  });
  return [...rows.values()].sort((a, b) => a.time - b.time || a.member.localeCompare(b.member));
}

/** Who a patient is, for a header: from their Patient resource(s). */
export interface PatientSummary {
  name: string;
  birthDate: string | undefined;
  gender: string | undefined;
  /** Short form: "12 Elm Street, Springfield". */
  address: string | undefined;
}

/** A person's name as written ("Amara Okafor"): its text, or given and family names. */
export function personName(p: Patient): string | undefined {
  const n = p.name?.find((x) => x.use === 'official') ?? p.name?.[0];
  if (!n) return undefined;
  return n.text ?? ([...(n.given ?? []), n.family].filter(Boolean).join(' ') || undefined);
}

/**
 * The patient's name, birth date, gender and address from the Patient resources among `records`
 * (each member holds its own copy; the one with the most details, ties to the first, is used).
 */
export function patientSummary(records: readonly HeldRecord[]): PatientSummary | undefined {
  const patients = records
    .map((r) => r.resource)
    .filter((r): r is Patient => r.resourceType === 'Patient' && personName(r as Patient) !== undefined);
  const score = (p: Patient) => (p.birthDate ? 1 : 0) + (p.address?.length ? 1 : 0) + (p.gender ? 1 : 0);
  const best = patients.reduce<Patient | undefined>((a, p) => (a && score(a) >= score(p) ? a : p), undefined);
  if (!best) return undefined;
  const a = best.address?.find((x) => x.use === 'home') ?? best.address?.[0];
  const address = a ? [a.line?.[0], a.city].filter(Boolean).join(', ') || a.text : undefined;
  return {
    name: personName(best) as string,
    birthDate: best.birthDate,
    gender: best.gender,
    address: address || undefined,
  };
}

const newestFirst = <T extends { time: number | null }>(xs: T[]) =>
  xs.sort((a, b) => (b.time ?? 0) - (a.time ?? 0));

export function arrangeRecords(records: readonly HeldRecord[]): Timeline {
  const vitals = new Map<string, VitalSeries>();
  const labs: LabRow[] = [];
  const medications: ListItem[] = [];
  const conditions: ListItem[] = [];
  const allergies: ListItem[] = [];
  const immunizations: ListItem[] = [];
  for (const { resource: r, member } of records) {
    const key = `${member}/${r.resourceType}/${r.id ?? ''}/${r.meta?.versionId ?? ''}`;
    const item = (when: string | undefined, text: string, detail: string | undefined): ListItem => ({
      key,
      time: time(when),
      text,
      detail: detail ?? '',
      member,
      sensitive: isSensitive(r),
    });
    switch (r.resourceType) {
      case 'Observation': {
        const o = r as Observation;
        const t = time(o.effectiveDateTime ?? o.issued);
        const q = o.valueQuantity;
        const measured = categoryOf(o) === 'vital-signs' && t !== null ? vitalValues(o) : [];
        if (measured.length > 0 && t !== null) {
          for (const v of measured) {
            const chart = chartOf(v.code);
            const s = vitals.get(chart) ?? {
              key: chart,
              name: chart === 'blood-pressure' ? 'Blood pressure' : v.name,
              unit: displayUnit(v.unit),
              lines: [],
            };
            let line = s.lines.find((l) => l.code === v.code);
            if (!line) {
              line = { code: v.code, name: lineName(v.code, v.name), points: [] };
              s.lines.push(line);
              s.lines.sort((a, b) => lineOrder(a.code) - lineOrder(b.code));
            }
            line.points.push({ time: t, value: v.value, member });
            vitals.set(chart, s);
          }
        } else {
          labs.push({
            key,
            time: t ?? 0,
            name: conceptText(o.code),
            value:
              q?.value !== undefined
                ? String(q.value)
                : (o.valueString ?? conceptText(o.valueCodeableConcept)),
            unit: displayUnit(q?.code ?? q?.unit),
            range: rangeText(o),
            flag: labFlag(o),
            member,
          });
        }
        break;
      }
      case 'MedicationRequest': {
        const m = r as MedicationRequest;
        medications.push(item(m.authoredOn, conceptText(m.medicationCodeableConcept), m.status));
        break;
      }
      case 'MedicationDispense': {
        // A pack dispensed to the patient: whether the supply chain verified it authentic, and who did.
        const d = r as MedicationDispense;
        const v = dispenseVerificationOf(d);
        const pack = d.contained?.find((c) => `#${c.id}` === d.medicationReference?.reference) as
          | { code?: CodeableConcept }
          | undefined;
        const text = conceptText(d.medicationCodeableConcept ?? pack?.code);
        const detail = v
          ? v.verified
            ? `dispensed · verified authentic by ${v.responder} on ${v.verifiedAt.slice(0, 10)}`
            : `dispensed · not verified by ${v.responder}`
          : 'dispensed';
        const badge = v
          ? v.verified
            ? { text: 'verified authentic', tone: 'ok' as const }
            : { text: 'not verified', tone: 'failed' as const }
          : undefined;
        medications.push({ ...item(d.whenHandedOver, text, detail), ...(badge ? { badge } : {}) });
        break;
      }
      case 'Condition': {
        const c = r as Condition;
        conditions.push(
          item(c.onsetDateTime ?? c.recordedDate, conceptText(c.code), c.clinicalStatus?.coding?.[0]?.code),
        );
        break;
      }
      case 'AllergyIntolerance': {
        const a = r as AllergyIntolerance;
        allergies.push(item(a.recordedDate, conceptText(a.code), a.clinicalStatus?.coding?.[0]?.code));
        break;
      }
      case 'Immunization': {
        const i = r as Immunization;
        immunizations.push(item(i.occurrenceDateTime, conceptText(i.vaccineCode), i.status));
        break;
      }
      default:
        break;
    }
  }
  for (const s of vitals.values()) for (const l of s.lines) l.points.sort((a, b) => a.time - b.time);
  return {
    vitals: orderVitals([...vitals.values()]),
    labs: labs.sort((a, b) => b.time - a.time || a.name.localeCompare(b.name)),
    medications: newestFirst(medications),
    conditions: newestFirst(conditions),
    allergies: newestFirst(allergies),
    immunizations: newestFirst(immunizations),
    total: records.length,
  };
}
