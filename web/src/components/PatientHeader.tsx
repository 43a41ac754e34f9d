/** Who the chart is about: name, birth date (and age), sex and address in short, from Patient records. */
import { formatFhirDate } from '../lib/dates.js';
import type { PatientSummary } from '../lib/records.js';
import { short } from './common.js';

/** Whole years from a FHIR birth date to `now`. */
export function ageOn(birthDate: string, now = new Date()): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(birthDate);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const before = now.getMonth() + 1 < mo || (now.getMonth() + 1 === mo && now.getDate() < d);
  return now.getFullYear() - y - (before ? 1 : 0);
}

export function PatientHeader({
  patient,
  address,
  missing,
}: {
  patient: PatientSummary | undefined;
  /** The patient's chain address. */
  address: string;
  /** What to say when no Patient record with a name was found. */
  missing: string;
}) {
  const age = patient?.birthDate ? ageOn(patient.birthDate) : undefined;
  return (
    <section className="card wide patient-header" aria-label="Patient" data-testid="patient-header">
      <h2>{patient?.name ?? missing}</h2>
      <p className="facts-line">
        {patient?.birthDate ? (
          <span>
            Born {formatFhirDate(patient.birthDate)}
            {age !== undefined ? ` (${age})` : ''}
          </span>
        ) : null}
        {patient?.gender ? <span>{patient.gender}</span> : null}
        {patient?.address ? <span>{patient.address}</span> : null}
        <span className="muted">
          chain address <code title={address}>{short(address)}</code>
        </span>
      </p>
    </section>
  );
}
