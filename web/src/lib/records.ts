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
  MedicationRequest,
  Observation,
  Resource,
} from '@medplum/fhirtypes';

/** A record and the member that holds it. */
export interface HeldRecord {
  resource: Resource;
  member: string;
}

export interface VitalSeries {
  code: string;
  name: string;
  unit: string;
  points: { time: number; value: number; member: string }[];
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
        const cat = categoryOf(o);
        const code = o.code.coding?.[0]?.code ?? conceptText(o.code);
        if (cat === 'vital-signs' && q?.value !== undefined && t !== null) {
          const s = vitals.get(code) ?? { code, name: conceptText(o.code), unit: q.unit ?? '', points: [] };
          s.points.push({ time: t, value: q.value, member });
          vitals.set(code, s);
        } else {
          labs.push({
            key,
            time: t ?? 0,
            name: conceptText(o.code),
            value:
              q?.value !== undefined
                ? String(q.value)
                : (o.valueString ?? conceptText(o.valueCodeableConcept)),
            unit: q?.unit ?? '',
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
  for (const s of vitals.values()) s.points.sort((a, b) => a.time - b.time);
  return {
    vitals: [...vitals.values()].sort((a, b) => a.name.localeCompare(b.name)),
    labs: labs.sort((a, b) => b.time - a.time || a.name.localeCompare(b.name)),
    medications: newestFirst(medications),
    conditions: newestFirst(conditions),
    allergies: newestFirst(allergies),
    immunizations: newestFirst(immunizations),
    total: records.length,
  };
}
